"""Token minting: RFC 9068 JWT access tokens and opaque refresh tokens.

oauthlib calls these through DOT's ACCESS_TOKEN_GENERATOR / REFRESH_TOKEN_GENERATOR and
our Server's ``token_expires_in``; the claims come from ``iam.claims``.
"""

from __future__ import annotations

import secrets
import time

from oauthlib.oauth2.rfc6749 import errors

from iam import claims as claims_module
from iam.access_tokens import ACCESS_TOKEN_TYP
from iam.keys import key_store
from iam.revocation import new_jti


def access_token_lifetime(request) -> int:
    return request.client.effective_access_token_lifetime()


def default_audience(client, scopes=()) -> list[str]:
    """What a token is for when the client did not say: its registered audiences, else itself.
    A token for a user's sign-in (``openid``) is also for the client itself, so that it may
    read userinfo with it (which refuses tokens meant only for other audiences)."""
    if not client.audiences:
        return [client.client_id]
    return ([client.client_id] if "openid" in scopes else []) + list(client.audiences)


def audience_values(pairs) -> list[str]:
    """``audience`` (RFC 8693 style) and ``resource`` (RFC 8707) values, each possibly repeated."""
    values: list[str] = []
    for name, value in pairs:
        if name in ("audience", "resource"):
            values.extend(v for v in value.split() if v)
    return list(dict.fromkeys(values))


def requested_audience(request) -> list[str]:
    return audience_values(list(request.decoded_body or []) + list(_query_pairs(request)))


def _query_pairs(request):
    from urllib.parse import parse_qsl, urlsplit

    return parse_qsl(urlsplit(request.uri).query)


class AudienceRefused(ValueError):
    pass


def resolve_audience(client, requested: list[str], granted: list[str] | None = None, scopes=()) -> list[str]:
    """The audience of a new access token: what was asked for, if this client may have it.

    A refreshed token keeps the audience its family was granted (``granted``) and can only
    narrow it; otherwise the client may ask for any audience it was registered with.
    """
    if not requested:
        return list(granted) if granted else default_audience(client, scopes)
    allowed = set(granted) if granted else set(client.audiences) | {client.client_id}
    if any(a not in allowed for a in requested):
        raise AudienceRefused("the requested audience is not allowed for this client")
    return requested


def check_audience(request) -> None:
    """oauthlib post_token validator around ``resolve_audience`` (invalid_target, RFC 8707)."""
    granted = getattr(request, "iam_family_audience", None) if request.grant_type == "refresh_token" else None
    try:
        request.iam_audience = resolve_audience(request.client, requested_audience(request), granted,
                                                request.scopes or ())
    except AudienceRefused as exc:
        raise errors.CustomOAuth2Error(error="invalid_target", description=str(exc), request=request) from None


def mint_access_token(*, client, user, scopes, audience, lifetime: int, auth_time=None) -> tuple[str, dict]:
    """A signed RFC 9068 access token and its claims. Nothing is stored: see iam.access_tokens."""
    now_ms = int(time.time() * 1000)
    payload = claims_module.access_token_claims(
        client=client, user=user, scopes=scopes, audience=audience,
        now=now_ms // 1000, lifetime=lifetime, auth_time=auth_time, jti=new_jti(now_ms),
    )
    return key_store.sign(payload, alg=client.token_signing_alg, typ=ACCESS_TOKEN_TYP), payload


def generate_access_token(request) -> str:
    client = request.client
    token, payload = mint_access_token(
        client=client,
        user=None if request.grant_type == "client_credentials" else request.user,
        scopes=request.scopes or [],
        audience=getattr(request, "iam_audience", None) or default_audience(client, request.scopes or ()),
        lifetime=request.expires_in,
        auth_time=getattr(request, "iam_auth_time", None),
    )
    # What the validator keeps to revoke it later (refresh family, code replay): jti and exp.
    request.iam_access_token_claims = payload
    return token


def generate_opaque_token(request=None, refresh_token=False) -> str:
    """256 bits from the OS CSPRNG, URL-safe."""
    return secrets.token_urlsafe(32)
