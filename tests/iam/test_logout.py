"""RP-initiated logout (end_session_endpoint): which id_token_hint values are accepted."""

import time

import pytest

from iam.claims import access_token_claims, id_token_claims
from iam.keys import b64url, key_store
from tests.factories import make_client, make_user
from tests.iam.oauth import REDIRECT, code_flow_tokens

pytestmark = pytest.mark.django_db

BYE = "http://127.0.0.1:9999/bye"


@pytest.fixture
def user():
    return make_user("alice")


@pytest.fixture
def portal(signing_key):
    return make_client("portal", grant_types=["authorization_code"], redirect_uris=[REDIRECT],
                       post_logout_redirect_uris=[BYE])


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def end_session(client, hint, **params):
    return client.get("/end_session/", {"id_token_hint": hint, "post_logout_redirect_uri": BYE, "state": "s1",
                                        **params})


def test_id_token_hint_logs_out_and_redirects_with_state(client, user, portal):
    app, secret = portal
    tokens = code_flow_tokens(client, app, secret, user)
    r = end_session(client, tokens["id_token"])
    assert r.status_code == 302 and r["Location"] == BYE + "?state=s1"
    assert not signed_in(client)


def test_access_token_is_not_accepted_as_id_token_hint(client, user, portal):
    app, secret = portal
    tokens = code_flow_tokens(client, app, secret, user)
    r = end_session(client, tokens["access_token"])
    assert r.status_code == 400 and "Location" not in r
    assert signed_in(client)  # a resource server holding the access token cannot log the user out


def test_jwt_typed_access_token_is_not_accepted_as_id_token_hint(client, user, portal):
    """A profile may sign access tokens with typ JWT (WLCG); their claims still tell them apart."""
    app, secret = portal
    code_flow_tokens(client, app, secret, user)
    now = int(time.time())
    claims = access_token_claims(client=app, user=user, scopes=["openid"], audience=[app.client_id], now=now, jti="j",
                                 lifetime=600)
    claims["azp"] = app.client_id
    r = end_session(client, key_store.sign(claims, typ="JWT"))
    assert r.status_code == 400 and signed_in(client)


def test_token_with_id_token_claims_but_access_token_type_is_not_accepted(client, user, portal):
    app, secret = portal
    code_flow_tokens(client, app, secret, user)
    claims = id_token_claims(user=user, client=app, scopes=["openid"], now=int(time.time()), auth_time=None, amr=[])
    r = end_session(client, key_store.sign(claims, typ="at+jwt"))
    assert r.status_code == 400 and signed_in(client)


def test_expired_id_token_is_still_a_valid_hint(client, user, portal):
    app, secret = portal
    code_flow_tokens(client, app, secret, user)
    claims = id_token_claims(user=user, client=app, scopes=["openid"], now=int(time.time()) - 86400,
                             auth_time=None, amr=[])
    assert claims["exp"] < time.time()
    r = end_session(client, key_store.sign(claims, typ="JWT"))
    assert r.status_code == 302 and r["Location"] == BYE + "?state=s1"
    assert not signed_in(client)


def test_id_token_of_another_issuer_is_not_accepted(client, user, portal):
    app, secret = portal
    code_flow_tokens(client, app, secret, user)
    claims = id_token_claims(user=user, client=app, scopes=["openid"], now=int(time.time()), auth_time=None, amr=[])
    claims["iss"] = "https://other.example"
    r = end_session(client, key_store.sign(claims, typ="JWT"))
    assert r.status_code == 400 and signed_in(client)


@pytest.mark.parametrize("hint", [
    "not-a-jwt",
    "a.b.c",
    "a.b.c.d",
    b64url(b"[]") + "." + b64url(b"{}") + ".sig",
    b64url(b'{"kid": ["x"], "alg": "RS256", "typ": "JWT"}') + "." + b64url(b"{}") + ".sig",
    b64url(b'{"kid": {}, "alg": "RS256"}') + "." + b64url(b"[1]") + ".sig",
    b64url(b"\xff\xfe") + "." + b64url(b"{}") + ".sig",
])
def test_malformed_hint_is_refused_not_an_error(client, user, portal, hint):
    app, secret = portal
    code_flow_tokens(client, app, secret, user)
    r = end_session(client, hint)
    assert r.status_code == 400 and signed_in(client)


def test_id_token_of_another_client_does_not_match_client_id(client, user, portal, signing_key):
    app, secret = portal
    other, _ = make_client("other", grant_types=["authorization_code"], redirect_uris=[REDIRECT],
                           post_logout_redirect_uris=[BYE])
    tokens = code_flow_tokens(client, app, secret, user)
    r = end_session(client, tokens["id_token"], client_id=other.client_id)
    assert r.status_code == 400 and signed_in(client)


def test_id_token_of_another_user_asks_before_logging_out(client, user, portal):
    app, secret = portal
    bob = make_user("bob")
    alice_tokens = code_flow_tokens(client, app, secret, user)
    client.logout()
    code_flow_tokens(client, app, secret, bob)
    r = end_session(client, alice_tokens["id_token"])
    assert r.status_code == 200 and b'name="confirm"' in r.content
    assert signed_in(client)
