"""Start the real IAM (`python -m iam.serve`: granian, 2 workers) on a free loopback port against its own database.

The database is a fresh PostgreSQL database when DATABASE_URL is set (as in CI), otherwise a
fresh SQLite file. Setup goes through the real CLI (`manage.py migrate / bootstrap /
createuser / createclient`), exactly as an operator would.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _postgres_url_for(name: str) -> str | None:
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        return None
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, "", ""))


def _admin_sql(base_url: str, sql: str) -> None:
    import psycopg

    parts = urlsplit(base_url)
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql)


class Deployment:
    """One database + shared secret; any number of servers on it."""

    def __init__(self, issuer_port: int | None = None):
        self.tmp = tempfile.TemporaryDirectory(prefix="iam-e2e-")
        self.port = issuer_port or free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.db_name = f"iam_e2e_{os.getpid()}_{secrets.token_hex(3)}"
        pg = _postgres_url_for(self.db_name)
        if pg:
            _admin_sql(pg, f'CREATE DATABASE "{self.db_name}"')
            self.database_url = pg
        else:
            self.database_url = f"sqlite:///{self.tmp.name}/iam.sqlite3"
        self.is_postgres = bool(pg)
        self.env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "IAM_ISSUER": self.issuer,
            "SECRET_KEY": secrets.token_urlsafe(40),
            "IAM_VAR_DIR": self.tmp.name,
            "IAM_SCOPES": "read api",  # operator-defined scopes the e2e clients are registered with
            "DJANGO_SETTINGS_MODULE": "iam.settings",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        self.servers: list[subprocess.Popen] = []
        self.manage("migrate", "--noinput")
        self.manage("bootstrap")

    def manage(self, *args: str, stdin: str | None = None) -> str:
        result = subprocess.run(
            [PYTHON, "manage.py", *args], cwd=ROOT, env=self.env, input=stdin,
            capture_output=True, text=True, timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def manage_json(self, *args: str, stdin: str | None = None) -> dict:
        return json.loads(self.manage(*args, "--json", stdin=stdin))

    def create_user(self, username: str, password: str, *groups: str, email: str | None = None) -> dict:
        args = [username, "--email", email or f"{username}@example.org", "--password-stdin",
                "--given-name", "Ada", "--family-name", username.capitalize()]
        for g in groups:
            args += ["--group", g]
        return self.manage_json("createuser", *args, stdin=password + "\n")

    def create_client(self, name: str, *args: str) -> dict:
        return self.manage_json("createclient", name, *args)

    def start_server(self, port: int | None = None, workers: int = 2, extra_env: dict | None = None) -> str:
        port = port or self.port
        log = open(Path(self.tmp.name) / f"server-{port}.log", "w")
        proc = subprocess.Popen(
            [PYTHON, "-m", "iam.serve", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)],
            cwd=ROOT, env={**self.env, **(extra_env or {})}, stdout=log, stderr=subprocess.STDOUT,
        )
        self.servers.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {(Path(self.tmp.name) / f'server-{port}.log').read_text()}")
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    return url
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server did not come up")

    def close(self) -> None:
        for proc in self.servers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.servers:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self.is_postgres:
            try:
                _admin_sql(self.database_url, f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            except Exception:  # noqa: BLE001 - best effort cleanup
                pass
        self.tmp.cleanup()


class LoggedProcess:
    """A server process whose output lines a test can wait for (the start-up tests)."""

    def __init__(self, args: list[str], env: dict, on_stop=None):
        import queue
        import threading

        self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stderr=subprocess.STDOUT, stdout=subprocess.PIPE,
                                     text=True)
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        self._on_stop = on_stop
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self._queue.put(line)

    def wait_for(self, text: str, timeout: float = 30) -> str:
        import queue

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            self.lines.append(line)
            if text in line:
                return line
        raise AssertionError(f"no {text!r} in:\n{''.join(self.lines)}")

    def stop(self) -> tuple[int, str]:
        """SIGTERM; the exit status and everything the process said."""
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        time.sleep(0.2)  # let the reader drain
        while not self._queue.empty():
            self.lines.append(self._queue.get())
        if self._on_stop:
            self._on_stop()
        return code, "".join(self.lines)

