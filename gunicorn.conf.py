"""gunicorn settings for IAM. gunicorn reads ./gunicorn.conf.py by itself when started from
the repository root (`make run`, the end-to-end tests); command-line options win over it.

Measured on 2 cores (docs/performance.md): threaded workers with HTTP keep-alive serve the
token and introspection endpoints faster than sync workers, which close every connection
and sit idle while PostgreSQL answers. Each thread keeps its own database connection
(CONN_MAX_AGE), so PostgreSQL sees workers x threads connections per host.
"""

bind = "127.0.0.1:8000"
workers = 2  # about one per core; `--workers N` / `make run WORKERS=N` override
worker_class = "gthread"
threads = 4
keepalive = 5  # seconds; behind a proxy that pools connections, keep above its idle timeout
graceful_timeout = 10
