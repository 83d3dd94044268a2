"""Helpers shared by the OAuth/OIDC end-to-end tests: names, clients, PKCE, code redemption."""

from __future__ import annotations

import base64
import hashlib
import itertools
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from tests.e2e.browser import authorize

REDIRECT = "http://127.0.0.1:9999/cb"
PASSWORD = "e2e-Password-flows-1"
_n = itertools.count(1)


def unique(prefix: str) -> str:
    """A user or client name no other test of the shared deployment uses."""
    return f"{prefix}{next(_n)}{secrets.token_hex(2)}"


def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def portal(deployment, *extra):
    """A confidential code-flow client, registered with REDIRECT and a post-logout URI."""
    return deployment.create_client(
        unique("portal"), "--redirect-uri", REDIRECT, "--grant-type", "authorization_code",
        "--grant-type", "refresh_token", "--post-logout-redirect-uri", "http://127.0.0.1:9999/bye", *extra,
    )


def auth_url(meta, client, scope="openid profile email", **params):
    """An authorization URL with S256 PKCE; params set to None are left out."""
    verifier, challenge = pkce_pair()
    query = {"response_type": "code", "client_id": client["client_id"], "redirect_uri": REDIRECT, "scope": scope,
             "state": secrets.token_urlsafe(8), "code_challenge": challenge, "code_challenge_method": "S256"}
    query.update(params)
    query = {k: v for k, v in query.items() if v is not None}
    return meta["authorization_endpoint"] + "?" + urlencode(query), verifier, query["state"]


def redeem(meta, client, location, verifier):
    code = parse_qs(urlsplit(location).query)["code"][0]
    return httpx.post(meta["token_endpoint"], data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier,
    }, auth=(client["client_id"], client["client_secret"]))


def introspect(meta, rs, token):
    r = httpx.post(meta["introspection_endpoint"], data={"token": token}, auth=(rs["client_id"], rs["client_secret"]))
    assert r.status_code == 200, r.text
    return r.json()


def code_tokens(deployment, meta, client, username, scope="openid profile email", browser=None, **params):
    """Log in (if needed), consent and redeem the code: the token response as JSON."""
    url, verifier, _ = auth_url(meta, client, scope=scope, **params)
    own = browser is None
    browser = browser or httpx.Client()
    try:
        r = authorize(deployment.url, browser, url, username, PASSWORD)
        assert r.status_code == 302, r.text
        tokens = redeem(meta, client, r.headers["location"], verifier)
        assert tokens.status_code == 200, tokens.text
        return tokens.json()
    finally:
        if own:
            browser.close()
