"""The one place that decides which claims a user and a token carry.

ID token, userinfo, JWT access tokens and introspection all build their payloads here.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from iam.conf import config

# Scopes this server understands, with the text shown on the consent page.
STANDARD_SCOPES = {
    "openid": "Sign you in (your account identifier)",
    "profile": "Your name, username and groups",
    "email": "Your email address",
    "groups": "The groups you belong to",
    "offline_access": "Keep access while you are away (refresh tokens)",
}
USER_SCOPES = frozenset(STANDARD_SCOPES)


def _wants_groups(scopes) -> bool:
    return "groups" in scopes or "profile" in scopes


def user_claims(user, scopes) -> dict:
    """Claims about ``user`` released under ``scopes`` (OIDC Core §5.4, plus ``groups``)."""
    scopes = set(scopes)
    claims: dict = {"sub": str(user.pk)}
    if "profile" in scopes:
        name = f"{user.first_name} {user.last_name}".strip()
        claims.update(
            {
                "preferred_username": user.username,
                "name": name or user.username,
                "given_name": user.first_name,
                "family_name": user.last_name,
                "updated_at": int(user.updated_at.timestamp()) if getattr(user, "updated_at", None) else None,
            }
        )
        claims = {k: v for k, v in claims.items() if v not in (None, "")}
        claims["organisation_name"] = config.organisation_name
    if "email" in scopes and user.email:
        claims["email"] = user.email
        claims["email_verified"] = bool(user.email_verified)
    if _wants_groups(scopes):
        claims["groups"] = user.active_group_paths()
    return claims


def id_token_claims(*, user, client, scopes, now: int, auth_time: datetime | None, amr) -> dict:
    claims = user_claims(user, scopes)
    claims.update(
        {
            "iss": config.issuer,
            "aud": client.client_id,
            "azp": client.client_id,
            "iat": now,
            "exp": now + client.effective_id_token_lifetime(),
            "jti": str(uuid.uuid4()),
        }
    )
    if auth_time is not None:
        claims["auth_time"] = int(auth_time.timestamp())
    if amr:
        claims["amr"] = list(amr)
    return claims


def access_token_claims(*, client, user, scopes, audience, now: int, lifetime: int, jti: str, auth_time=None) -> dict:
    """RFC 9068 JWT access-token claims. ``jti`` also tells when it was minted (iam.revocation)."""
    claims = {
        "iss": config.issuer,
        "sub": str(user.pk) if user is not None else client.client_id,
        "aud": audience[0] if len(audience) == 1 else list(audience),
        "exp": now + lifetime,
        "iat": now,
        "nbf": now,
        "jti": jti,
        "client_id": client.client_id,
        "scope": " ".join(scopes),
    }
    if user is not None:
        if auth_time is not None:
            claims["auth_time"] = int(auth_time.timestamp())
        if _wants_groups(scopes):
            claims["groups"] = user.active_group_paths()
    return claims


def introspection_claims(*, token_claims: dict, user, scopes, token_type: str) -> dict:
    """RFC 7662 response for an active token: its own claims plus fresh user claims."""
    response = {"active": True, "token_type": token_type}
    for name in ("iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope", "auth_time"):
        if name in token_claims:
            response[name] = token_claims[name]
    if user is not None:
        for name, value in user_claims(user, scopes).items():
            response.setdefault(name, value)
        response["username"] = user.username
    return response
