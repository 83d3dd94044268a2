import shutil
import socket
import subprocess
import time

import pytest


@pytest.fixture(autouse=True)
def _cheap_argon2(monkeypatch):
    """Argon2id stays the hasher (tests check the algorithm), with test-sized cost parameters."""
    from django.contrib.auth.hashers import Argon2PasswordHasher

    monkeypatch.setattr(Argon2PasswordHasher, "time_cost", 1)
    monkeypatch.setattr(Argon2PasswordHasher, "memory_cost", 64)
    monkeypatch.setattr(Argon2PasswordHasher, "parallelism", 1)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A throw-away redis-server on a free loopback port (skipped where it is not installed)."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.skip("redis-server did not start")
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def redis_counters(redis_url, monkeypatch):
    """The throttle counting in Redis, as with REDIS_URL set; emptied before and after."""
    from accounts import throttle

    counters = throttle.RedisCounters(redis_url)
    counters.client.flushdb()
    monkeypatch.setattr(throttle, "_counters", counters)
    yield counters
    counters.client.flushdb()
