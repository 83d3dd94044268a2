import pytest

pytestmark = pytest.mark.django_db


def test_discovery_served_at_both_well_known_paths(client, signing_key):
    a = client.get("/.well-known/openid-configuration")
    b = client.get("/.well-known/oauth-authorization-server")
    assert a.status_code == b.status_code == 200
    assert a.json() == b.json()
    assert a.json()["issuer"] == "http://127.0.0.1:8000"


def test_jwks_publishes_kid_alg_use_with_cache_headers(client, signing_key):
    r = client.get("/jwks/")
    assert r.status_code == 200
    (key,) = r.json()["keys"]
    assert key["kid"] == signing_key.kid and key["alg"] == "RS256" and key["use"] == "sig"
    assert "max-age" in r["Cache-Control"]
    assert "d" not in key and "p" not in key
