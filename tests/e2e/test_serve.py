"""`python -m iam.serve`, the documented server (granian): never a silently shared port, one
Prometheus directory per server, "IAM is serving on ..." once it answers, workers respawned."""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import tempfile
import time

import httpx
import pytest

from tests.e2e.server import PYTHON, ROOT, LoggedProcess, free_port

pytestmark = pytest.mark.e2e


def start(port: int, workers: int = 2) -> LoggedProcess:
    tmp = tempfile.TemporaryDirectory(prefix="iam-serve-")
    env = {**os.environ, "IAM_VAR_DIR": tmp.name, "SECRET_KEY": secrets.token_urlsafe(40),
           "IAM_ISSUER": f"http://127.0.0.1:{port}", "DATABASE_URL": f"sqlite:///{tmp.name}/iam.sqlite3",
           "DJANGO_SETTINGS_MODULE": "iam.settings"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    return LoggedProcess([PYTHON, "-m", "iam.serve", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)],
                         env, on_stop=tmp.cleanup)


def test_serve_refuses_a_port_another_server_listens_on_with_reuseport():
    # What an old IAM still running on the port looks like: granian's workers bind with
    # SO_REUSEPORT and would silently share the port with it.
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        run = subprocess.run([PYTHON, "-m", "iam.serve", "--bind", f"127.0.0.1:{port}"],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in run.stderr


def test_serve_says_it_serves_once_it_answers_respawns_workers_and_stops_cleanly():
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start(port)
    try:
        server.wait_for("IAM is serving on")
        assert httpx.get(url + "/healthz", timeout=5).status_code == 200  # at that moment, no retry
        pid = int(re.findall(r"Spawning worker-\d+ with PID: (\d+)", "".join(server.lines))[0])
        os.kill(pid, signal.SIGKILL)
        server.wait_for("Spawning worker")  # a crashed worker is replaced
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                assert httpx.get(url + "/healthz", timeout=2).status_code == 200
                break
            except httpx.HTTPError:
                time.sleep(0.2)
    finally:
        code, log = server.stop()
    assert code == 0, log
    assert f"Listening at: {url}" in log
    assert log.count("IAM is serving on") == 1 and f"IAM is serving on {url}/\n" in log


def test_serve_gives_each_server_its_own_metrics_directory_and_removes_it():
    port = free_port()
    server = start(port, workers=1)
    try:
        server.wait_for("IAM is serving on")
        pid = int(re.findall(r"Spawning worker-\d+ with PID: (\d+)", "".join(server.lines))[0])
        with open(f"/proc/{pid}/environ", "rb") as fh:
            env = dict(item.split(b"=", 1) for item in fh.read().split(b"\0") if b"=" in item)
        directory = env[b"PROMETHEUS_MULTIPROC_DIR"].decode()
        assert os.path.isdir(directory)
    finally:
        server.stop()
    assert not os.path.exists(directory)
