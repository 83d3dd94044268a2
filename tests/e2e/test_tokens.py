"""Token endpoint errors (RFC 6749 §5.2), audiences and introspection details, over the wire."""

from __future__ import annotations

import httpx
import pytest
from authlib.integrations.base_client.errors import OAuthError as AuthlibOAuthError
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt

from tests.e2e.oidc import code_tokens, introspect, portal, unique

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def svc(deployment):
    """A confidential client_credentials client registered for scope "read" only."""
    return deployment.create_client(unique("tok"), "--grant-type", "client_credentials", "--scope", "read")


def post_token(meta, data, auth=None):
    return httpx.post(meta["token_endpoint"], data=data, auth=auth)


def assert_oauth_error(r, status, error):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["error"] == error
    assert r.headers["cache-control"] == "no-store"


# -- audience -------------------------------------------------------------------------------------

def test_audience_without_registration_is_invalid_target(deployment, meta):
    plain = deployment.create_client(unique("noaud"), "--grant-type", "client_credentials")
    session = OAuth2Client(plain["client_id"], plain["client_secret"])
    with pytest.raises(AuthlibOAuthError) as refused:
        session.fetch_token(meta["token_endpoint"], grant_type="client_credentials", audience="storage")
    assert refused.value.error == "invalid_target"


def test_default_audience_is_the_client_itself(deployment, meta, jwks):
    plain = deployment.create_client(unique("noaud"), "--grant-type", "client_credentials")
    r = post_token(meta, {"grant_type": "client_credentials"}, (plain["client_id"], plain["client_secret"]))
    assert r.status_code == 200, r.text
    aud = jwt.decode(r.json()["access_token"], jwks).claims["aud"]
    assert aud == plain["client_id"] or aud == [plain["client_id"]]


# -- token endpoint errors ------------------------------------------------------------------------

def test_unsupported_grant_type(meta, svc):
    r = post_token(meta, {"grant_type": "magic"}, (svc["client_id"], svc["client_secret"]))
    assert_oauth_error(r, 400, "unsupported_grant_type")


@pytest.mark.parametrize("credentials", ["wrong-secret", "unknown-client", "none"])
def test_bad_client_authentication_is_invalid_client_with_challenge(meta, svc, credentials):
    auth = {"wrong-secret": (svc["client_id"], "wrong"), "unknown-client": ("no-such-client", "x"),
            "none": None}[credentials]
    r = post_token(meta, {"grant_type": "client_credentials"}, auth)
    assert_oauth_error(r, 401, "invalid_client")
    assert r.headers["www-authenticate"].startswith("Basic")


def test_scope_not_registered_for_client_is_invalid_scope(meta, svc):
    auth = (svc["client_id"], svc["client_secret"])
    assert_oauth_error(post_token(meta, {"grant_type": "client_credentials", "scope": "write"}, auth),
                       400, "invalid_scope")
    ok = post_token(meta, {"grant_type": "client_credentials", "scope": "read"}, auth)
    assert ok.status_code == 200 and ok.json()["scope"] == "read"


def test_grant_not_registered_for_client_is_unauthorized_client(meta, svc):
    r = post_token(meta, {"grant_type": "authorization_code", "code": "x", "redirect_uri": "http://127.0.0.1:9999/cb"},
                   (svc["client_id"], svc["client_secret"]))
    assert_oauth_error(r, 400, "unauthorized_client")


@pytest.mark.parametrize("data", [
    {"grant_type": "authorization_code", "redirect_uri": "http://127.0.0.1:9999/cb"},  # no code
    {"grant_type": "refresh_token"},  # no refresh_token
    {},  # no grant_type
], ids=["no-code", "no-refresh-token", "no-grant-type"])
def test_missing_parameter_is_invalid_request(meta, data, shared_portal):
    client = shared_portal
    r = post_token(meta, data, (client["client_id"], client["client_secret"]))
    assert_oauth_error(r, 400, "invalid_request")


def test_bad_token_request_changes_nothing(deployment, meta, resource_server, shared_user, shared_portal):
    user = shared_user
    client = portal(deployment)
    tokens = code_tokens(deployment, meta, client, user, scope="openid profile")
    auth = (client["client_id"], client["client_secret"])
    refresh = tokens["refresh_token"]
    # Broader scope than granted, wrong client secret, another client's refresh token:
    assert_oauth_error(post_token(meta, {"grant_type": "refresh_token", "refresh_token": refresh,
                                         "scope": "openid profile email"}, auth), 400, "invalid_scope")
    assert_oauth_error(post_token(meta, {"grant_type": "refresh_token", "refresh_token": refresh},
                                  (client["client_id"], "wrong")), 401, "invalid_client")
    other = shared_portal
    assert_oauth_error(post_token(meta, {"grant_type": "refresh_token", "refresh_token": refresh},
                                  (other["client_id"], other["client_secret"])), 400, "invalid_grant")
    # ... none of which spent, rotated or revoked anything.
    assert introspect(meta, resource_server, tokens["access_token"])["active"] is True
    assert introspect(meta, resource_server, refresh)["active"] is True
    r = post_token(meta, {"grant_type": "refresh_token", "refresh_token": refresh}, auth)
    assert r.status_code == 200, r.text
    assert r.json()["scope"].split() == ["openid", "profile"] or set(r.json()["scope"].split()) == {"openid", "profile"}


# -- introspection details ------------------------------------------------------------------------

def test_introspection_of_access_token_carries_rfc7662_fields(deployment, meta, jwks, resource_server, shared_user):
    user = shared_user
    client = portal(deployment)
    tokens = code_tokens(deployment, meta, client, user, scope="openid profile")
    at = jwt.decode(tokens["access_token"], jwks).claims
    sub = jwt.decode(tokens["id_token"], jwks).claims["sub"]
    body = introspect(meta, resource_server, tokens["access_token"])
    assert body["active"] is True and body["token_type"] == "Bearer"
    assert body["iss"] == meta["issuer"] and body["sub"] == sub == at["sub"]
    assert body["client_id"] == client["client_id"] and body["aud"] == at["aud"]
    assert set(body["scope"].split()) == {"openid", "profile"}
    assert body["exp"] == at["exp"] and body["iat"] == at["iat"]


def test_introspection_of_refresh_token_names_the_same_subject(deployment, meta, jwks, resource_server, shared_user):
    user = shared_user
    client = portal(deployment)
    tokens = code_tokens(deployment, meta, client, user, scope="openid")
    sub = jwt.decode(tokens["id_token"], jwks).claims["sub"]
    body = introspect(meta, resource_server, tokens["refresh_token"])
    assert body["active"] is True and body["token_type"] == "refresh_token"
    assert body["sub"] == sub and body["client_id"] == client["client_id"] and body["iss"] == meta["issuer"]
    assert body["exp"] > body["iat"]


def test_introspection_of_unknown_token_is_inactive(meta, resource_server):
    assert introspect(meta, resource_server, "not-a-token") == {"active": False}


def test_introspection_without_token_parameter_is_invalid_request(meta, resource_server):
    r = httpx.post(meta["introspection_endpoint"], data={},
                   auth=(resource_server["client_id"], resource_server["client_secret"]))
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
