"""Token minting: RFC 9068 JWT access tokens and opaque refresh tokens.

oauthlib calls these through DOT's ACCESS_TOKEN_GENERATOR / REFRESH_TOKEN_GENERATOR and
our Server's ``token_expires_in``; the claims come from ``iam.claims``.
"""

from __future__ import annotations

import secrets
import time

from oauthlib.oauth2.rfc6749 import errors

from iam import claims as claims_module
from iam.keys import key_store


def access_token_lifetime(request) -> int:
    return request.client.effective_access_token_lifetime()


def default_audience(client) -> list[str]:
    return list(client.audiences) or [client.client_id]


def requested_audience(request) -> list[str]:
    """``audience`` (RFC 8693 style) and ``resource`` (RFC 8707) values, each possibly repeated."""
    values: list[str] = []
    pairs = list(request.decoded_body or []) + list(_query_pairs(request))
    for name, value in pairs:
        if name in ("audience", "resource"):
            values.extend(v for v in value.split() if v)
    return list(dict.fromkeys(values))


def _query_pairs(request):
    from urllib.parse import parse_qsl, urlsplit

    return parse_qsl(urlsplit(request.uri).query)


def check_audience(request) -> None:
    """oauthlib post_token validator: a client may only ask for audiences it was registered for."""
    client = request.client
    requested = requested_audience(request)
    # A refreshed token keeps the audience the family started with, and can only narrow it.
    granted = getattr(request, "iam_family_audience", None) if request.grant_type == "refresh_token" else None
    if not requested:
        request.iam_audience = list(granted) if granted else default_audience(client)
        return
    allowed = set(granted) if granted else set(client.audiences) | {client.client_id}
    refused = [a for a in requested if a not in allowed]
    if refused:
        raise errors.CustomOAuth2Error(
            error="invalid_target",
            description="the requested audience is not allowed for this client",
            request=request,
        )
    request.iam_audience = requested


def generate_access_token(request) -> str:
    client = request.client
    user = None if request.grant_type == "client_credentials" else request.user
    audience = getattr(request, "iam_audience", None) or default_audience(client)
    payload = claims_module.access_token_claims(
        client=client,
        user=user,
        scopes=request.scopes or [],
        audience=audience,
        now=int(time.time()),
        lifetime=request.expires_in,
        auth_time=getattr(request, "iam_auth_time", None),
    )
    return key_store.sign(payload, alg=client.token_signing_alg, typ="at+jwt")


def generate_opaque_token(request=None, refresh_token=False) -> str:
    """256 bits from the OS CSPRNG, URL-safe."""
    return secrets.token_urlsafe(32)
