"""Small helpers to drive the OAuth endpoints through the Django test client."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc.jwk import KeySet

ISSUER = "http://127.0.0.1:8000"
REDIRECT = "http://127.0.0.1:9999/cb"


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def at_hash(access_token: str) -> str:
    """OIDC Core §3.1.3.6: left half of the SHA-256 of the access token, base64url."""
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def keyset(client) -> KeySet:
    return KeySet.import_key_set(client.get("/jwks/").json())


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def sign_in(client, user, *, auth_time: int | None = None, amr=("pwd",)) -> None:
    """What a password login leaves in the session: the user, when and how they authenticated."""
    client.force_login(user)
    session = client.session
    session["iam_auth_time"] = int(time.time()) if auth_time is None else auth_time
    session["iam_amr"] = list(amr)
    session.save()


# Every client requires PKCE unless registered without it: requests built here carry this pair
# unless a test passes code_challenge=None (no PKCE) or its own.
DEFAULT_VERIFIER = "test-verifier-" + "v" * 40
DEFAULT_CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(DEFAULT_VERIFIER.encode()).digest()).rstrip(b"=").decode()
DEFAULT = object()


def authorize_url(**params) -> str:
    if params.get("response_type") == "code" and "code_challenge" not in params:
        params.update(code_challenge=DEFAULT_CHALLENGE, code_challenge_method="S256")
    return "/authorize/?" + urlencode({k: v for k, v in params.items() if v is not None})


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def obtain_code(client, app, *, scope="openid", state="st", nonce=None, redirect_uri=REDIRECT,
                challenge=DEFAULT) -> str:
    """Authorize (consenting if asked) and return the code from the redirect. PKCE with the
    default pair unless ``challenge`` is given (None: no PKCE)."""
    if challenge is DEFAULT:
        challenge = DEFAULT_CHALLENGE
    url = authorize_url(response_type="code", client_id=app.client_id, redirect_uri=redirect_uri, scope=scope,
                        state=state, nonce=nonce, code_challenge=challenge,
                        code_challenge_method="S256" if challenge else None)
    r = client.get(url)
    if r.status_code == 200:
        r = client.post(url, {"decision": "allow"})
    assert r.status_code == 302, r.content
    params = query_of(r["Location"])
    assert "code" in params, r["Location"]
    return params["code"]


def redeem_code(client, app, secret, code, *, verifier=DEFAULT, redirect_uri=REDIRECT):
    if verifier is DEFAULT:
        verifier = DEFAULT_VERIFIER
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier:
        data["code_verifier"] = verifier
    if secret:
        return client.post("/token/", data, HTTP_AUTHORIZATION=basic(app.client_id, secret))
    return client.post("/token/", {**data, "client_id": app.client_id})


def code_flow_tokens(client, app, secret, user, *, scope="openid", nonce=None) -> dict:
    sign_in(client, user)
    verifier, challenge = pkce_pair()
    code = obtain_code(client, app, scope=scope, nonce=nonce, challenge=challenge)
    r = redeem_code(client, app, secret, code, verifier=verifier)
    assert r.status_code == 200, r.content
    return r.json()
