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


def test_signing_alg_values_list_every_algorithm_with_an_active_key(client, signing_key):
    from tests.factories import make_signing_key

    def supported():
        return client.get("/.well-known/openid-configuration").json()["id_token_signing_alg_values_supported"]

    assert supported() == ["RS256"]
    make_signing_key("ES256")
    assert supported() == ["ES256", "RS256"]


def test_signing_alg_values_leave_out_an_algorithm_whose_keys_are_only_published(client, signing_key):
    from iam.models import SigningKey
    from tests.factories import make_signing_key

    make_signing_key("ES256", state=SigningKey.NEXT)  # verifies once promoted; signs nothing yet
    meta = client.get("/.well-known/openid-configuration").json()
    assert meta["id_token_signing_alg_values_supported"] == ["RS256"]
