"""gunicorn.conf.py: per-worker SO_REUSEPORT listeners, and never a silently shared port."""

import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def test_server_refuses_a_port_another_server_listens_on_with_reuseport():
    # What an old IAM still running on the port looks like: without the check, SO_REUSEPORT
    # would let the new server start and take part of the old one's connections.
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        run = subprocess.run([GUNICORN, "iam.wsgi:application", "--bind", f"127.0.0.1:{port}"],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in run.stderr


def test_workers_listen_on_their_own_reuseport_sockets_and_no_control_socket_is_shared():
    from gunicorn.config import Config

    cfg = Config()
    for name, value in _settings().items():
        if name in cfg.settings:
            cfg.set(name, value)
    assert cfg.reuse_port is True and cfg.worker_class_str == "gthread"
    assert cfg.control_socket_disable is True


def _settings():
    namespace = {"__file__": str(ROOT / "gunicorn.conf.py")}
    exec(compile((ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace)
    return {k: v for k, v in namespace.items() if not k.startswith("_")}
