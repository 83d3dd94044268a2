"""/metrics: Prometheus text format, counters from fixed label sets, database gauges."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import DEFAULT_PASSWORD, make_client, make_user
from tests.iam.oauth import basic

pytestmark = pytest.mark.django_db


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
