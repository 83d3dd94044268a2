"""/metrics: Prometheus text format, counters from fixed label sets, database gauges, and
only for allowed scrapers (address list, bearer token)."""

import dataclasses

import pytest
from prometheus_client.parser import text_string_to_metric_families

from iam import conf, metrics
from tests.factories import DEFAULT_PASSWORD, make_client, make_user
from tests.iam.oauth import basic

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_database_gauges():
    # The gauges are kept for a few seconds per process; each test has its own database.
    metrics.DATABASE_GAUGES.forget()
    yield
    metrics.DATABASE_GAUGES.forget()


@pytest.fixture
def metrics_config(monkeypatch):
    """Run with the /metrics access settings built from these environment variables."""

    def use(**env):
        loaded = conf.load({"SECRET_KEY": "k" * 50, **env})
        monkeypatch.setattr(metrics, "config", dataclasses.replace(
            metrics.config, metrics_token=loaded.metrics_token, metrics_allow=loaded.metrics_allow,
            trusted_proxy_cidrs=loaded.trusted_proxy_cidrs))

    return use


def scrape(client) -> dict[tuple[str, tuple], float]:
    r = client.get("/metrics")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/plain") and r["Cache-Control"] == "no-store"
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(r.content.decode())
        for sample in family.samples
    }


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def delta(before, after, name, **labels):
    return value(after, name, **labels) - value(before, name, **labels)


def cc(client, app, secret):
    return client.post("/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(app.client_id, secret))


def test_token_responses_are_counted_by_grant_type_and_error(client, signing_key):
    app, secret = make_client("svc", grant_types=["client_credentials"], scopes=["api"])
    before = scrape(client)
    for _ in range(3):
        assert cc(client, app, secret).status_code == 200
    assert cc(client, app, "wrong").status_code == 401
    after = scrape(client)
    assert delta(before, after, "iam_tokens_issued_total", grant_type="client_credentials") == 3
    assert delta(before, after, "iam_token_errors_total", error="invalid_client") == 1


def test_labels_come_from_fixed_sets_not_from_the_request(client, signing_key):
    app, secret = make_client("svc", grant_types=["client_credentials"], scopes=["api"])
    r = client.post("/token/", {"grant_type": "urn:evil:new-series"}, HTTP_AUTHORIZATION=basic(app.client_id, secret))
    assert r.status_code == 400
    client.get("/no/such/page/evil-series")
    text = client.get("/metrics").content.decode()
    assert "evil" not in text
    assert 'iam_http_requests_total{endpoint="unmatched",status="404"}' in text


def test_requests_are_counted_and_timed_by_endpoint(client):
    before = scrape(client)
    assert client.get("/healthz").status_code == 200
    after = scrape(client)
    assert delta(before, after, "iam_http_requests_total", endpoint="healthz", status="200") == 1
    assert delta(before, after, "iam_http_request_duration_seconds_count", endpoint="healthz") == 1


def test_sign_ins_are_counted_by_result(client):
    make_user("mia")
    before = scrape(client)
    client.post("/login/", {"username": "mia", "password": "wrong password"})
    client.post("/login/", {"username": "mia", "password": DEFAULT_PASSWORD})
    after = scrape(client)
    for result in ("success", "failure"):
        assert delta(before, after, "iam_logins_total", result=result) == 1


def test_database_gauges_describe_keys_accounts_and_clients(client, signing_key):
    make_user("ann")
    bob = make_user("bob")
    bob.is_active = False
    bob.save(update_fields=["is_active"])
    make_client("svc", grant_types=["client_credentials"])
    samples = scrape(client)
    assert value(samples, "iam_signing_keys", alg="RS256", state="active") == 1
    assert value(samples, "iam_users", state="active") >= 1 and value(samples, "iam_users", state="inactive") == 1
    assert value(samples, "iam_clients", state="active") == 1
    assert any(name == "iam_info" for name, _ in samples)


def test_database_gauges_are_read_at_most_once_every_few_seconds(client, signing_key, monkeypatch,
                                                                django_assert_num_queries):
    now = [1000.0]
    monkeypatch.setattr(metrics, "_clock", lambda: now[0])
    first = scrape(client)
    make_user("carl")
    with django_assert_num_queries(0):  # a flood of scrapes costs no queries
        for _ in range(3):
            assert value(scrape(client), "iam_users", state="active") == value(first, "iam_users", state="active")
    now[0] += metrics.DATABASE_GAUGES_TTL
    assert value(scrape(client), "iam_users", state="active") == value(first, "iam_users", state="active") + 1


# Who may scrape. The test client's address is 127.0.0.1.

def test_metrics_are_served_to_loopback_only_by_default(client):
    assert conf.load({"SECRET_KEY": "k" * 50}).metrics_allow == conf.LOOPBACK
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::ffff:127.0.0.1").status_code == 200
    r = client.get("/metrics", REMOTE_ADDR="203.0.113.7")
    assert r.status_code == 403 and r.json()["error"] == "access_denied"
    assert b"iam_" not in r.content


def test_refused_scrape_runs_no_query(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert client.get("/metrics", REMOTE_ADDR="203.0.113.7").status_code == 403


def test_metrics_forwarded_by_an_untrusted_proxy_are_refused(client):
    # nginx on the same host connects from 127.0.0.1: the forwarded request is not local.
    for header in ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP"):
        assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", **{header: "127.0.0.1"}).status_code == 403


def test_metrics_forwarded_by_a_trusted_proxy_count_the_forwarded_address(client, metrics_config):
    metrics_config(IAM_TRUSTED_PROXY_CIDRS="127.0.0.1/32", IAM_METRICS_ALLOW="10.1.0.0/16")
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 403
    # Only the proxy's own entry (the last) counts, not what the client wrote before it.
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1",
                      HTTP_X_FORWARDED_FOR="10.1.2.3, 203.0.113.7").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403  # not in the list


def test_metrics_allow_list_takes_cidrs_and_addresses_separated_by_commas_or_spaces():
    cfg = conf.load({"SECRET_KEY": "k" * 50, "IAM_METRICS_ALLOW": "10.0.0.0/8, 192.0.2.1 2001:db8::/32"})
    assert [str(n) for n in cfg.metrics_allow] == ["10.0.0.0/8", "192.0.2.1/32", "2001:db8::/32"]
    with pytest.raises(ValueError):
        conf.load({"SECRET_KEY": "k" * 50, "IAM_METRICS_ALLOW": "not-an-address"})


def test_metrics_token_is_required_when_set_from_any_address(client, metrics_config):
    metrics_config(IAM_METRICS_TOKEN="s3cret-scrape-token")
    r = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert r.status_code == 401 and r["WWW-Authenticate"] == 'Bearer realm="iam"'
    r = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-tokeN")
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"
    assert client.get("/metrics", HTTP_AUTHORIZATION="Basic s3cret-scrape-token").status_code == 401
    r = client.get("/metrics", REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")
    assert r.status_code == 200 and b"iam_info" in r.content
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.7",
                      HTTP_AUTHORIZATION="bearer s3cret-scrape-token").status_code == 200


def test_metrics_token_and_allow_list_both_apply_when_both_are_set(client, metrics_config):
    metrics_config(IAM_METRICS_TOKEN="s3cret-scrape-token", IAM_METRICS_ALLOW="10.0.0.0/8")
    token = {"HTTP_AUTHORIZATION": "Bearer s3cret-scrape-token"}
    assert client.get("/metrics", REMOTE_ADDR="10.2.3.4", **token).status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.7", **token).status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.2.3.4").status_code == 401
