"""Checking an access token presented to us (introspection, userinfo, revocation).

Access tokens are RFC 9068 JWTs that are not stored: one is active when a key we publish
signed it, it says it is an access token (``typ: at+jwt``) from this issuer, it is within
``nbf``/``exp``, and nothing revoked it (``iam.revocation``: one indexed lookup). A user's
token also needs the user to exist and be active. Anything else is simply not active.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from django.contrib.auth import get_user_model

from iam import revocation
from iam.conf import config
from iam.keys import key_store

ACCESS_TOKEN_TYP = "at+jwt"
# Hosts' clocks differ a little: a token minted on one may reach another "before" its nbf.
CLOCK_LEEWAY = 5


@dataclass
class ActiveAccessToken:
    claims: dict
    client_id: str
    scopes: list[str]
    user: object | None  # None for a token a client got for itself (client_credentials)

    @property
    def audience(self) -> list[str]:
        aud = self.claims.get("aud")
        return [aud] if isinstance(aud, str) else [a for a in aud or [] if isinstance(a, str)]


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def signed_access_token_claims(raw) -> dict | None:
    """The claims of an access token we signed, whatever its expiry or revocation; else None."""
    verified = key_store.verify(raw)
    if verified is None:
        return None
    header, claims = verified
    if header.get("typ") != ACCESS_TOKEN_TYP or claims.get("iss") != config.issuer:
        return None
    if not isinstance(claims.get("client_id"), str) or not isinstance(claims.get("sub"), str):
        return None
    if not isinstance(claims.get("jti"), str) or not _number(claims.get("exp")):
        return None
    return claims


def token_user_id(claims: dict) -> str | None:
    """The user a token is for; None for a client's own token (its subject is the client)."""
    return None if claims["sub"] == claims["client_id"] else claims["sub"]


def revocation_keys(claims: dict) -> list[str]:
    return revocation.keys_for(jti=claims["jti"], user_id=token_user_id(claims), client_id=claims["client_id"])


def active_access_token(raw, *, claims: dict | None = None, revocations=None) -> ActiveAccessToken | None:
    """The token behind ``raw`` if it is active. ``claims`` and ``revocations`` (rows for
    ``revocation_keys(claims)``) may come from the caller, which fetched them already."""
    claims = claims if claims is not None else signed_access_token_claims(raw)
    if claims is None:
        return None
    now = time.time()
    if claims["exp"] <= now:
        return None
    nbf = claims.get("nbf")
    if nbf is not None and (not _number(nbf) or nbf > now + CLOCK_LEEWAY):
        return None
    client_id, user_id = claims["client_id"], token_user_id(claims)
    issued_at_ms = revocation.issued_ms(claims)
    if revocations is not None:
        if revocation.revoked_by(revocations, issued_at_ms):
            return None
    elif revocation.is_revoked(jti=claims["jti"], user_id=user_id, client_id=client_id, issued_at_ms=issued_at_ms):
        return None
    user = None
    if user_id is not None:
        try:
            uuid.UUID(user_id)
        except ValueError:  # not one of our users' subjects
            return None
        user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
        if user is None:
            return None
    scope = claims.get("scope")
    scopes = scope.split() if isinstance(scope, str) else []
    return ActiveAccessToken(claims=claims, client_id=client_id, scopes=scopes, user=user)
