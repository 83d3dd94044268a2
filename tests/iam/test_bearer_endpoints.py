"""Userinfo (OIDC Core §5.3, RFC 6750), introspection (RFC 7662) and revocation (RFC 7009)."""

import pytest

from tests.factories import DEFAULT_PASSWORD, make_client, make_user
from tests.iam.oauth import ISSUER, REDIRECT, basic, code_flow_tokens

pytestmark = pytest.mark.django_db


@pytest.fixture
def portal(signing_key):
    return make_client("portal", grant_types=["authorization_code", "refresh_token"], redirect_uris=[REDIRECT])


@pytest.fixture
def user():
    return make_user("alice", groups=["cms"])


@pytest.fixture
def tokens(client, portal, user):
    app, secret = portal
    return code_flow_tokens(client, app, secret, user, scope="openid profile email")


def bearer(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def service_token(client, app, secret):
    r = client.post("/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(app.client_id, secret))
    assert r.status_code == 200, r.content
    return r.json()["access_token"]


# -- userinfo -------------------------------------------------------------------------------

def test_userinfo_missing_token_is_401_challenge_without_error(client, signing_key):
    r = client.get("/userinfo/")
    assert r.status_code == 401
    assert r["WWW-Authenticate"] == 'Bearer realm="iam"'
    assert "error" not in r.json()


def test_userinfo_invalid_token_is_invalid_token(client, signing_key):
    r = client.get("/userinfo/", **bearer("not-a-token"))
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"
    assert r["WWW-Authenticate"].startswith('Bearer realm="iam", error="invalid_token"')


def test_userinfo_returns_claims_of_the_granted_scopes(client, tokens, user):
    for method in (client.get, client.post):
        r = method("/userinfo/", **bearer(tokens["access_token"]))
        assert r.status_code == 200 and r["Cache-Control"] == "no-store"
        info = r.json()
        assert info["sub"] == str(user.pk) and info["email"] == "alice@example.org"
        assert info["preferred_username"] == "alice" and info["groups"] == ["cms"]


def test_userinfo_accepts_form_body_token_but_not_query_string(client, tokens):
    assert client.post("/userinfo/", {"access_token": tokens["access_token"]}).status_code == 200
    r = client.get("/userinfo/?access_token=" + tokens["access_token"])
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_userinfo_without_openid_scope_is_insufficient_scope(client, signing_key, user):
    app, secret = make_client("cli", grant_types=["password"], scopes=["profile"])
    r = client.post("/token/", {"grant_type": "password", "username": "alice", "password": DEFAULT_PASSWORD,
                                "scope": "profile"}, HTTP_AUTHORIZATION=basic(app.client_id, secret))
    r = client.get("/userinfo/", **bearer(r.json()["access_token"]))
    assert r.status_code == 403 and r.json()["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in r["WWW-Authenticate"]


def test_userinfo_refuses_token_of_deactivated_user(client, tokens, user):
    user.is_active = False
    user.save()
    r = client.get("/userinfo/", **bearer(tokens["access_token"]))
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"


# -- introspection ----------------------------------------------------------------------------

def test_introspection_requires_client_authentication(client, tokens, portal):
    app, secret = portal
    anonymous = client.post("/introspect/", {"token": tokens["access_token"]})
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "invalid_client"
    wrong = client.post("/introspect/", {"token": tokens["access_token"]},
                        HTTP_AUTHORIZATION=basic(app.client_id, "wrong"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert wrong["WWW-Authenticate"].startswith("Basic ")


def test_introspection_of_own_access_token(client, tokens, portal, user):
    app, secret = portal
    r = client.post("/introspect/", {"token": tokens["access_token"]}, HTTP_AUTHORIZATION=basic(app.client_id, secret))
    assert r.status_code == 200 and r["Cache-Control"] == "no-store"
    body = r.json()
    assert body["active"] is True and body["client_id"] == app.client_id and body["sub"] == str(user.pk)
    assert body["iss"] == ISSUER and body["scope"] == "openid profile email" and body["token_type"] == "Bearer"
    assert body["username"] == "alice" and body["exp"] > body["iat"]


def test_introspection_of_refresh_token(client, tokens, portal):
    app, secret = portal
    r = client.post("/introspect/", {"token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
                    HTTP_AUTHORIZATION=basic(app.client_id, secret)).json()
    assert r["active"] is True and r["token_type"] == "refresh_token" and r["client_id"] == app.client_id


def test_introspection_of_unknown_token_is_inactive(client, portal, signing_key):
    app, secret = portal
    r = client.post("/introspect/", {"token": "garbage"}, HTTP_AUTHORIZATION=basic(app.client_id, secret))
    assert r.status_code == 200 and r.json() == {"active": False}


def test_introspection_without_token_is_invalid_request(client, portal, signing_key):
    app, secret = portal
    r = client.post("/introspect/", {}, HTTP_AUTHORIZATION=basic(app.client_id, secret))
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_client_introspects_only_its_own_tokens_unless_resource_server(client, tokens, signing_key):
    other, other_secret = make_client("other", grant_types=["client_credentials"])
    rs, rs_secret = make_client("rs", grant_types=["client_credentials"], introspection=True)
    seen_by_other = client.post("/introspect/", {"token": tokens["access_token"]},
                                HTTP_AUTHORIZATION=basic(other.client_id, other_secret)).json()
    assert seen_by_other == {"active": False}
    seen_by_rs = client.post("/introspect/", {"token": tokens["access_token"]},
                             HTTP_AUTHORIZATION=basic(rs.client_id, rs_secret)).json()
    assert seen_by_rs["active"] is True


def test_public_client_cannot_introspect(client, tokens, signing_key):
    spa, _ = make_client("spa", public=True, grant_types=["authorization_code"], redirect_uris=[REDIRECT])
    r = client.post("/introspect/", {"token": tokens["access_token"], "client_id": spa.client_id})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


# -- revocation -------------------------------------------------------------------------------

def test_revoked_access_token_is_inactive_and_refused(client, tokens, portal):
    app, secret = portal
    auth = basic(app.client_id, secret)
    r = client.post("/revoke/", {"token": tokens["access_token"], "token_type_hint": "access_token"},
                    HTTP_AUTHORIZATION=auth)
    assert r.status_code == 200
    assert client.post("/introspect/", {"token": tokens["access_token"]}, HTTP_AUTHORIZATION=auth).json() == {
        "active": False}
    assert client.get("/userinfo/", **bearer(tokens["access_token"])).status_code == 401


def test_revoked_refresh_token_cannot_be_used(client, tokens, portal):
    app, secret = portal
    auth = basic(app.client_id, secret)
    assert client.post("/revoke/", {"token": tokens["refresh_token"]}, HTTP_AUTHORIZATION=auth).status_code == 200
    r = client.post("/token/", {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                    HTTP_AUTHORIZATION=auth)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_revoking_an_unknown_token_is_ok(client, portal, signing_key):
    app, secret = portal
    r = client.post("/revoke/", {"token": "no-such-token"}, HTTP_AUTHORIZATION=basic(app.client_id, secret))
    assert r.status_code == 200  # RFC 7009 §2.2


def test_revocation_requires_client_authentication(client, tokens, portal):
    app, _ = portal
    r = client.post("/revoke/", {"token": tokens["access_token"]}, HTTP_AUTHORIZATION=basic(app.client_id, "wrong"))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert r["WWW-Authenticate"].startswith("Basic ")
    assert client.get("/userinfo/", **bearer(tokens["access_token"])).status_code == 200


def test_client_cannot_revoke_another_clients_token(client, tokens, signing_key):
    other, other_secret = make_client("other", grant_types=["client_credentials"])
    client.post("/revoke/", {"token": tokens["access_token"]}, HTTP_AUTHORIZATION=basic(other.client_id, other_secret))
    assert client.get("/userinfo/", **bearer(tokens["access_token"])).status_code == 200


def test_expired_access_token_is_invalid_token_and_inactive(client, tokens, portal, monkeypatch):
    import time

    app, secret = portal
    real = time.time
    monkeypatch.setattr("iam.access_tokens.time.time", lambda: real() + 3601)
    r = client.get("/userinfo/", **bearer(tokens["access_token"]))
    assert r.status_code == 401 and 'error="invalid_token"' in r["WWW-Authenticate"]
    intro = client.post("/introspect/", {"token": tokens["access_token"]},
                        HTTP_AUTHORIZATION=basic(app.client_id, secret))
    assert intro.json() == {"active": False}


def test_refresh_token_is_not_a_bearer_token(client, tokens):
    r = client.get("/userinfo/", **bearer(tokens["refresh_token"]))
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"
