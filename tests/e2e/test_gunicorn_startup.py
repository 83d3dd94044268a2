"""What gunicorn says when it starts (gunicorn.conf.py): the address it listens at, and
"IAM is serving on ..." only once the server answers, once."""

from __future__ import annotations

import os
import re
import secrets
import signal
import tempfile
import time

import httpx
import pytest

from tests.e2e.server import GUNICORN, LoggedProcess, free_port

pytestmark = pytest.mark.e2e


def start(port: int, workers: int) -> LoggedProcess:
    tmp = tempfile.TemporaryDirectory(prefix="iam-startup-")
    env = {**os.environ, "IAM_VAR_DIR": tmp.name, "SECRET_KEY": secrets.token_urlsafe(40),
           "IAM_ISSUER": f"http://127.0.0.1:{port}", "DATABASE_URL": f"sqlite:///{tmp.name}/iam.sqlite3",
           "DJANGO_SETTINGS_MODULE": "iam.settings"}
    return LoggedProcess([GUNICORN, "iam.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
                          "--graceful-timeout", "2"], env, on_stop=tmp.cleanup)


def test_server_says_it_serves_only_once_it_answers_and_names_its_address():
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start(port, workers=2)
    try:
        server.wait_for("IAM is serving on")
        # At that moment, without a retry, the server answers.
        assert httpx.get(url + "/healthz", timeout=5).status_code == 200
        # A worker started later (after a crash) does not announce the server again.
        pid = int(re.findall(r"Booting worker with pid: (\d+)", "".join(server.lines))[0])
        os.kill(pid, signal.SIGKILL)
        server.wait_for("Booting worker")
        time.sleep(2)
        assert httpx.get(url + "/healthz", timeout=5).status_code == 200
    finally:
        _code, log = server.stop()
    assert f"Listening at: {url} (" in log  # not empty: with reuse_port the workers bind
    assert log.count("IAM is serving on") == 1 and f"IAM is serving on {url}/\n" in log
    startup = log[:log.index("IAM is serving on")]
    assert startup.count("Booting worker") == 2  # said after both workers had started
