"""Drive Debian's oidc-agent (`oidc-agent`, `oidc-gen`, `oidc-token`) as a WLCG user would.

Everything lives in a temporary HOME: the agent's socket (OIDC_SOCK), the account
configurations (OIDC_CONFIG_DIR), the encryption password (OIDC_ENCRYPTION_PW, read by
`oidc-gen --pw-env`). `oidc-gen` prints the device user code only to a terminal (its stdout is
block-buffered on a pipe), so it runs on a pseudo-terminal; its stdin stays /dev/null so a
prompt nobody anticipated gets the default instead of hanging the test.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

BINARIES = ("oidc-agent", "oidc-gen", "oidc-token")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_USER_CODE = re.compile(r"enter the code:\s*(\S+)")


def missing_binaries() -> list[str]:
    return [b for b in BINARIES if shutil.which(b) is None]


class _PtyProcess:
    """A child on a pseudo-terminal whose output a thread keeps draining (the QR code alone
    is larger than the terminal's buffer)."""

    def __init__(self, argv: list[str], env: dict[str, str]):
        master, slave = os.openpty()
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                                     close_fds=True)
        os.close(slave)
        self._master = master
        self._chunks: list[bytes] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            ready, _, _ = select.select([self._master], [], [], 0.2)
            if not ready:
                if self.proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(self._master, 4096)
            except OSError:  # EIO: the child closed its terminal
                break
            if not data:
                break
            with self._lock:
                self._chunks.append(data)

    @property
    def text(self) -> str:
        with self._lock:
            raw = b"".join(self._chunks)
        return _ANSI.sub("", raw.decode(errors="replace")).replace("\r", "")

    def wait_for(self, pattern: re.Pattern, timeout: float) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if match := pattern.search(self.text):
                return match
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"no {pattern.pattern!r} from {self.proc.args[0]}:\n{self.text[-3000:]}")

    def finish(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"{self.proc.args[0]} did not finish:\n{self.text[-3000:]}") from None
        finally:
            self._reader.join(timeout=5)
            os.close(self._master)


class OidcAgent:
    """One oidc-agent in the foreground (`-d`) on its own socket, in a throw-away HOME."""

    def __init__(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="iam-oidc-agent-")
        home = Path(self._tmp.name)
        (home / "config").mkdir(mode=0o700)
        self.socket = str(home / "agent" / "oidc-agent.sock")
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "TMPDIR": str(home),
            "OIDC_CONFIG_DIR": str(home / "config"),
            "OIDC_SOCK": self.socket,
            "OIDC_ENCRYPTION_PW": "oidc-agent-test-passphrase",
            "LANG": "C.UTF-8",
        }
        # stdout only repeats the socket's shell exports (each forked child flushes its copy).
        self._log = open(home / "agent.log", "w")
        self.proc = subprocess.Popen(["oidc-agent", "-d", "--no-autoreauthenticate", "-a", self.socket],
                                     env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self._log)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.socket):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = self.log()
                self.close()
                raise RuntimeError(f"oidc-agent did not start: {log}")
            time.sleep(0.05)

    def generate_device(self, account: str, *, issuer: str, client: dict, scope: str,
                        approve: Callable[[str], None], timeout: float = 60) -> str:
        """`oidc-gen --flow=device` for a pre-registered client; ``approve(user_code)`` plays
        the person at the browser. Returns oidc-gen's output; the account is then loaded."""
        argv = ["oidc-gen", "--manual", "--flow=device", f"--iss={issuer}", f"--client-id={client['client_id']}",
                f"--scope={scope}", "--pw-env", "--no-url-call", "--confirm-default", "--prompt=cli",
                "--redirect-uri=http://localhost:4242", account]
        if client.get("client_secret"):
            argv.insert(-1, f"--client-secret={client['client_secret']}")
        gen = _PtyProcess(argv, self.env)
        try:
            approve(gen.wait_for(_USER_CODE, timeout=30).group(1))
        except BaseException:
            gen.proc.kill()
            gen.finish(timeout=5)
            raise
        rc = gen.finish(timeout=timeout)
        assert rc == 0, f"oidc-gen exited {rc}:\n{gen.text[-3000:]}"
        return gen.text

    def token(self, account: str, *scopes: str, force_new: bool = True) -> subprocess.CompletedProcess:
        """`oidc-token [-f] [-s SCOPE ...] ACCOUNT`: the access token on stdout when it worked."""
        argv = ["oidc-token"] + (["-f"] if force_new else [])
        for s in scopes:
            argv += ["-s", s]
        return subprocess.run(argv + [account], env=self.env, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=60)

    def log(self) -> str:
        self._log.flush()
        return (Path(self._tmp.name) / "agent.log").read_text(errors="replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        self._tmp.cleanup()
