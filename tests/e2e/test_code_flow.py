"""Authorization code + PKCE through the real login form, with Authlib as the client."""

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.e2e.browser import login_and_authorize

pytestmark = pytest.mark.e2e

REDIRECT = "http://127.0.0.1:9999/cb"
PASSWORD = "e2e-password-Xy7!"


def test_code_flow_with_pkce_through_login_form(deployment):
    base = deployment.url
    deployment.create_user("alice", PASSWORD, "cms/analysis")
    client = deployment.create_client("portal", "--redirect-uri", REDIRECT, "--grant-type", "authorization_code",
                                      "--grant-type", "refresh_token")
    meta = httpx.get(base + "/.well-known/openid-configuration").json()
    rp = OAuth2Client(client["client_id"], client["client_secret"], scope="openid profile email",
                      redirect_uri=REDIRECT, code_challenge_method="S256")
    verifier = "v" * 64
    url, state = rp.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, nonce="n-0S6")
    with httpx.Client() as browser:
        callback = login_and_authorize(base, browser, url, "alice", PASSWORD)
    assert callback.startswith(REDIRECT)
    token = rp.fetch_token(meta["token_endpoint"], authorization_response=callback, code_verifier=verifier)
    keys = KeySet.import_key_set(httpx.get(meta["jwks_uri"]).json())
    id_token = jwt.decode(token["id_token"], keys)
    assert id_token.claims["iss"] == meta["issuer"]
    assert id_token.claims["aud"] == client["client_id"]
    assert id_token.claims["nonce"] == "n-0S6"
    assert id_token.claims["groups"] == ["cms", "cms/analysis"] or "cms/analysis" in id_token.claims["groups"]
    assert {"at_hash", "auth_time", "amr", "sub", "exp", "iat"} <= set(id_token.claims)
    access = jwt.decode(token["access_token"], keys)
    assert access.header["typ"] == "at+jwt"
    assert access.claims["client_id"] == client["client_id"]
    userinfo = httpx.get(meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {token['access_token']}"})
    assert userinfo.status_code == 200
    assert userinfo.json()["sub"] == id_token.claims["sub"]
    assert userinfo.json()["email"] == "alice@example.org"
