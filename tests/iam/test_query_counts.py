"""Database statements per request on the hot endpoints: a noise-free guard for the tuning in
docs/performance.md. Access tokens are not stored: issuing one writes nothing, checking one
is one revocation lookup (plus the user, for a user's token)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.iam.oauth import basic

pytestmark = pytest.mark.django_db


def statements(queries):
    return [q["sql"].split()[0].upper() for q in queries]


def issue(client, app, secret):
    return client.post("/token/", {"grant_type": "client_credentials", "scope": "api"},
                       HTTP_AUTHORIZATION=basic(app.client_id, secret))


def test_client_credentials_token_is_one_select_and_no_write(client, service):
    app, secret = service
    issue(client, app, secret)  # the key store loads the signing keys once per worker
    with CaptureQueriesContext(connection) as queries:
        r = issue(client, app, secret)
    assert r.status_code == 200, r.content
    # the client row; no token row, no transaction round trips
    assert statements(queries) == ["SELECT"]


def test_introspection_is_one_select(client, service, resource_server):
    app, secret = service
    token = issue(client, app, secret).json()["access_token"]
    rs, rs_secret = resource_server
    with CaptureQueriesContext(connection) as queries:
        r = client.post("/introspect/", {"token": token}, HTTP_AUTHORIZATION=basic(rs.client_id, rs_secret))
    assert r.status_code == 200 and r.json()["active"] is True
    # the resource server's client row and the token's revocation rows (deny-list, epochs),
    # in one statement
    assert statements(queries) == ["SELECT"]
    assert "iam_revocation" in queries.captured_queries[0]["sql"]
