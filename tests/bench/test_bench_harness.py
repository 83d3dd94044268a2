"""bench/run.py and its bench-only settings: the rules the side-by-side figures rely on."""

import importlib
from types import SimpleNamespace

import pytest
from django.test import override_settings

from bench import run
from tests.factories import make_client
from tests.iam.oauth import basic


def options(**kw):
    base = dict(server="gunicorn-gthread", workers=2, config=str(run.ROOT / "gunicorn.conf.py"), worker_class=None,
                threads=None, keep_alive=None, gunicorn_arg=None, server_arg=None, middleware="full")
    return SimpleNamespace(**{**base, **kw})


def test_peer_is_skipped_with_a_reason_when_node_is_missing(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert "node not found" in run.OidcProviderPeer.unavailable()


def test_gunicorn_sync_really_runs_sync_workers():
    # gunicorn.conf.py sets threads = 4, and gunicorn turns a sync worker with threads > 1 into gthread.
    args = run.gunicorn_args(options(server="gunicorn-sync"))
    assert args[args.index("--worker-class") + 1] == "sync"
    assert args[args.index("--threads") + 1] == "1"


def test_granian_gets_the_workers_and_threads_of_gunicorn_conf(tmp_path):
    dep = SimpleNamespace(port=8123, tmp=SimpleNamespace(name=str(tmp_path)))
    cmd, env, _line = run.server_command(options(server="granian", workers=3), dep)
    assert cmd[cmd.index("--interface") + 1] == "wsgi"
    assert cmd[cmd.index("--workers") + 1] == "3"
    assert cmd[cmd.index("--blocking-threads") + 1] == "4"
    assert env["PROMETHEUS_MULTIPROC_DIR"].startswith(str(tmp_path))  # gunicorn.conf.py's job otherwise


def test_reduced_middleware_is_a_bench_only_settings_module(tmp_path):
    dep = SimpleNamespace(port=8123, tmp=SimpleNamespace(name=str(tmp_path)))
    _cmd, env, _line = run.server_command(options(middleware="api"), dep)
    assert env["DJANGO_SETTINGS_MODULE"] == "bench.settings_middleware"
    assert env["BENCH_MIDDLEWARE"] == "api"
    _cmd, env, _line = run.server_command(options(), dep)
    assert "DJANGO_SETTINGS_MODULE" not in env  # the full list: iam.settings as shipped


def test_ratio_is_iam_over_oidc_provider():
    assert run.ratio(500.0, 2000.0) == 0.25
    assert run.ratio(500.0, None) is None


@pytest.mark.parametrize("variant, expected", [
    ("api", ["iam.metrics.MetricsMiddleware", "django.middleware.security.SecurityMiddleware"]),
    ("none", []),
])
def test_bench_middleware_settings_select_the_list(monkeypatch, variant, expected):
    monkeypatch.setenv("BENCH_MIDDLEWARE", variant)
    settings_module = importlib.reload(importlib.import_module("bench.settings_middleware"))
    assert settings_module.MIDDLEWARE == expected


@pytest.mark.django_db
def test_token_and_introspection_answer_the_same_with_api_middleware_only(client, signing_key):
    # The recommendation in docs/performance.md: these endpoints use none of the session,
    # CSRF, authentication or messages middleware.
    from bench.settings_middleware import API_MIDDLEWARE

    app, secret = make_client("svc", grant_types=["client_credentials"], scopes=["api"])
    rs, rs_secret = make_client("rs", grant_types=["client_credentials"], scopes=["api"], introspection=True)
    with override_settings(MIDDLEWARE=API_MIDDLEWARE):
        r = client.post("/token/", {"grant_type": "client_credentials", "scope": "api"},
                        HTTP_AUTHORIZATION=basic(app.client_id, secret))
        assert r.status_code == 200, r.content
        assert r["Cache-Control"] == "no-store" and r["X-Content-Type-Options"] == "nosniff"
        r = client.post("/introspect/", {"token": r.json()["access_token"]},
                        HTTP_AUTHORIZATION=basic(rs.client_id, rs_secret))
        assert r.status_code == 200 and r.json()["active"] is True
