"""What the hot endpoints pay for middleware they do not use, measured in-process.

    .venv/bin/python bench/middleware_cost.py                 # 20 blocks x 300 requests per variant
    .venv/bin/python bench/middleware_cost.py --blocks 10 --requests 200

Same setup as bench/run.py (fresh PostgreSQL database through the real CLI), then one Python
process builds three Django WSGI handlers, the full MIDDLEWARE of iam.settings, the short
list of bench/settings_middleware.py ("api") and none, and calls each with raw WSGI environs
for /healthz, a client_credentials token (ES256 and RS256) and an introspection. Blocks of
requests alternate between the variants, so other load on the machine hits them alike; it
prints the median over blocks of the CPU time (``time.process_time``: this process only, the
figure other load disturbs least) and of the wall time per request. No network, no server:
the difference between the variants is the middleware alone. The wrk figures of the same
comparison are ``bench/run.py --middleware full|api|none``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import DEFAULT_DATABASE, ROOT, BenchDeployment, basic, iam_clients  # noqa: E402

VARIANTS = ("full", "api", "none")


def record_status(statuses: list, status: str, headers, exc_info=None) -> None:
    statuses.append(status)


def parent(opts) -> int:
    dep = BenchDeployment(opts.database_url)
    try:
        clients = iam_clients(dep)
        env = {**dep.env, "BENCH_CLIENTS": json.dumps(clients),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        cmd = [sys.executable, __file__, "--child", "--blocks", str(opts.blocks), "--requests", str(opts.requests),
               *(["--each"] if opts.each else []), *[f"--endpoint={e}" for e in opts.endpoint or []]]
        return subprocess.run(cmd, cwd=dep.tree, env=env).returncode
    finally:
        dep.close()


def child(opts) -> int:
    import django

    django.setup()
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.test.utils import override_settings

    from bench.settings_middleware import API_MIDDLEWARE

    lists = {"full": list(settings.MIDDLEWARE), "api": API_MIDDLEWARE, "none": []}
    handlers = {}
    for name, middleware in lists.items():
        with override_settings(MIDDLEWARE=middleware):
            handlers[name] = WSGIHandler()  # the chain is built here, from the settings of the moment

    host = settings.ALLOWED_HOSTS[0] if settings.ALLOWED_HOSTS and settings.ALLOWED_HOSTS[0] != "*" else "127.0.0.1"
    clients = json.loads(os.environ["BENCH_CLIENTS"])
    auth = {k: "Basic " + basic(c["client_id"], c["client_secret"]) for k, c in clients.items()}

    def environ(method: str, path: str, body: bytes = b"", authorization: str = "") -> dict:
        env = {
            "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": host,
            "SERVER_PORT": "80", "HTTP_HOST": host, "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
            "HTTP_ACCEPT": "application/json", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": True,
            "wsgi.run_once": False, "wsgi.version": (1, 0),
        }
        if body:
            env.update(CONTENT_TYPE="application/x-www-form-urlencoded", CONTENT_LENGTH=str(len(body)))
        if authorization:
            env["HTTP_AUTHORIZATION"] = authorization
        return env

    def call(handler, env) -> tuple[int, bytes]:
        status = []
        body = b"".join(handler(env, lambda s, h, exc_info=None: status.append(s)))
        return int(status[0].split()[0]), body

    token_body = b"grant_type=client_credentials&scope=api"
    status, body = call(handlers["full"], environ("POST", "/token/", token_body, auth["rs"]))
    assert status == 200, body
    access_token = json.loads(body)["access_token"]
    from urllib.parse import quote

    introspect_body = f"token={quote(access_token, safe='')}&token_type_hint=access_token".encode()
    endpoints = {
        "/healthz": ("GET", "/healthz", b"", "", b'"status"'),
        "token ES256": ("POST", "/token/", token_body, auth["es"], b'"access_token"'),
        "token RS256": ("POST", "/token/", token_body, auth["rs"], b'"access_token"'),
        "introspection": ("POST", "/introspect/", introspect_body, auth["server"], b'"active": true'),
    }
    variants = list(VARIANTS)
    if opts.each:
        # The full list less one middleware (or one group that only works together) at a time.
        session_group = ("SessionMiddleware", "AuthenticationMiddleware", "MessageMiddleware")
        groups = [(m.rsplit(".", 1)[1],) for m in lists["full"] if m not in API_MIDDLEWARE] + [session_group]
        for group in groups:
            if group == ("SessionMiddleware",):
                continue  # authentication and messages need it
            name = "-" + "-".join(g.removesuffix("Middleware") for g in group)
            with override_settings(MIDDLEWARE=[m for m in lists["full"] if m.rsplit(".", 1)[1] not in group]):
                handlers[name] = WSGIHandler()
            variants.append(name)
    # Every variant answers every endpoint the same (status and body) before we time anything.
    for name, handler in handlers.items():
        for endpoint, (method, path, body, authorization, expect) in endpoints.items():
            status, out = call(handler, environ(method, path, body, authorization))
            assert status == 200 and expect in out, (name, endpoint, status, out[:200])

    print(f"{opts.blocks} blocks x {opts.requests} requests per variant and endpoint, blocks alternating; "
          f"median per request in microseconds; CPU is this process's own", flush=True)
    results = {}
    for endpoint, (method, path, body, authorization, _expect) in endpoints.items():
        if opts.endpoint and endpoint not in opts.endpoint:
            continue
        cpu = {v: [] for v in variants}
        wall = {v: [] for v in variants}
        for block in range(opts.blocks):
            for variant in variants if block % 2 == 0 else variants[::-1]:
                handler = handlers[variant]
                envs = [environ(method, path, body, authorization) for _ in range(opts.requests)]
                statuses = []
                start_response = partial(record_status, statuses)
                c0, w0 = time.process_time(), time.perf_counter()
                for env in envs:
                    for _chunk in handler(env, start_response):
                        pass
                cpu[variant].append((time.process_time() - c0) / opts.requests * 1e6)
                wall[variant].append((time.perf_counter() - w0) / opts.requests * 1e6)
                assert all(st.startswith("200") for st in statuses), (variant, endpoint, set(statuses))
        med = {v: {"cpu_us": round(statistics.median(cpu[v]), 1), "wall_us": round(statistics.median(wall[v]), 1)}
               for v in variants}
        results[endpoint] = med
        print(f"\n{endpoint:<34} {'CPU us':>8} {'wall us':>8} {'CPU vs full':>12}")
        for v in variants:
            label = {"full": "full MIDDLEWARE", "api": "api (metrics + security)", "none": "none"}.get(v, v)
            print(f"  {label:<32} {med[v]['cpu_us']:8.0f} {med[v]['wall_us']:8.0f} "
                  f"{med[v]['cpu_us'] - med['full']['cpu_us']:+12.0f}", flush=True)
    print(json.dumps({"middleware": lists, "results_us": results}))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", type=int, default=20)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE))
    parser.add_argument("--each", action="store_true",
                        help="also the full list less one middleware at a time (what each one costs)")
    parser.add_argument("--endpoint", action="append", choices=["/healthz", "token ES256", "token RS256",
                                                                "introspection"], help="only these (repeat)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    return child(opts) if opts.child else parent(opts)


if __name__ == "__main__":
    sys.exit(main())
