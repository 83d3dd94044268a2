"""gunicorn settings for IAM. gunicorn reads ./gunicorn.conf.py by itself when started from
the repository root (`make run`, the end-to-end tests); command-line options win over it.

Measured on 2 cores (docs/performance.md): threaded workers with HTTP keep-alive serve the
token and introspection endpoints faster than sync workers, which close every connection
and sit idle while PostgreSQL answers. Each thread keeps its own database connection
(CONN_MAX_AGE), so PostgreSQL sees workers x threads connections per host.
"""

import logging
import multiprocessing
import os
import shutil
import socket
import tempfile

bind = "127.0.0.1:8000"
workers = 2  # about one per core; `--workers N` / `make run WORKERS=N` override
worker_class = "gthread"
threads = 4
keepalive = 5  # seconds; behind a proxy that pools connections, keep above its idle timeout
graceful_timeout = 10
# gunicorn >= 25 opens a management socket (for `gunicornc`) at one per-user default path,
# which every server of that user shares: a second IAM on the host would take over the
# first one's. IAM does not need it; less to secure.
control_socket_disable = True

# Each worker listens on its own SO_REUSEPORT socket and the kernel spreads new connections
# over them. With one shared socket, the first worker to wake accepts a whole burst of
# keep-alive connections and keeps them: measured, one worker served every request at the
# limit of its GIL while the other idled (docs/performance.md, ~1,100 -> ~1,650 tokens/s).
# Trade-off: connections still queued in a worker's own backlog when it dies are reset.
reuse_port = True


def on_starting(server):
    """Refuse an address something already listens on.

    SO_REUSEPORT would otherwise let a second server started by the same user on the same
    port (an old IAM left running, say) silently take part of the traffic. A socket bound
    without SO_REUSEPORT fails with "address in use" whenever anything listens there.
    A binary upgrade (USR2: the new master starts beside the old one) is let through."""
    _metrics_directory()
    if server.master_pid:
        return
    for address in server.cfg.address:
        if not isinstance(address, tuple):
            continue  # a unix socket path: gunicorn checks it itself
        host, port = address[0], address[1]
        for family, kind, proto, _name, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
            probe = socket.socket(family, kind, proto)
            try:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is no listener
                probe.bind(sockaddr)
            except OSError as exc:
                raise SystemExit(f"IAM: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
            finally:
                probe.close()
    # With reuse_port the master binds nothing (each worker binds its own socket), so
    # gunicorn's "Listening at:" line would name no address: fill it in.
    logging.getLogger("gunicorn.error").addFilter(_ListeningAt(server))
    _READY_WORKERS[:] = [multiprocessing.Value("i", 0)]  # shared with the workers forked later


def _urls(cfg) -> str:
    scheme = "https" if cfg.is_ssl else "http"
    urls = []
    for address in cfg.address:
        if isinstance(address, tuple):
            host = f"[{address[0]}]" if ":" in address[0] else address[0]
            urls.append(f"{scheme}://{host}:{address[1]}")
        else:
            urls.append(f"unix:{address}")
    return ",".join(urls)


class _ListeningAt(logging.Filter):
    def __init__(self, server):
        super().__init__()
        self.server = server

    def filter(self, record):
        if str(record.msg).startswith("Listening at:") and record.args and not record.args[0]:
            record.args = (_urls(self.server.cfg), *record.args[1:])
        return True


# "IAM is serving on ..." only once the server answers: each worker has bound its socket when
# it loads the application, and accepts right after post_worker_init; the last of the first
# `workers` to get there says so (workers started later, after a crash or max_requests, do not).
_READY_WORKERS = []


def post_worker_init(worker):
    if not _READY_WORKERS:
        return
    ready = _READY_WORKERS[0]
    with ready.get_lock():
        ready.value += 1
        last = ready.value == worker.cfg.workers
    if last:
        worker.log.info("IAM is serving on %s/", _urls(worker.cfg).replace(",", "/ and "))


# Prometheus metrics (iam/metrics.py): each worker writes its counters into one directory per
# server, which /metrics sums, so a scrape of any worker reports the whole server. A fresh
# directory per start: counters start at zero with the server, as Prometheus expects.
_OWN_METRICS_DIR = []


def _metrics_directory():
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # an operator's own choice wins
        path = tempfile.mkdtemp(prefix="iam-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path  # inherited by the workers
        _OWN_METRICS_DIR.append(path)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # its counters stay; its live gauges go


def on_exit(server):
    if not server.reexec_pid:  # after a binary upgrade the new master still uses it
        for path in _OWN_METRICS_DIR:
            shutil.rmtree(path, ignore_errors=True)
