"""Refresh tokens: stored (DOT's RefreshToken rows, by checksum), grouped in families
(iam.models.TokenFamily). One rule says whether a stored one can still be used; the refresh
grant and introspection both ask it."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.utils import timezone

from iam import revocation


def checksum(token: str) -> str:
    """How tokens and codes are looked up: never by value (RFC 9700 token storage)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def expires_at(rt) -> datetime:
    """Refresh tokens live per client, from their creation (rotation makes a new one)."""
    return rt.created + timedelta(seconds=rt.application.effective_refresh_token_lifetime())


def is_live(rt) -> bool:
    """Unrevoked, in a family, of an active user and client, unexpired, and issued after any
    not-before epoch of its user or client (password change, deactivation, secret rotation)."""
    if rt.revoked is not None or not rt.token_family:
        return False
    if not rt.user.is_active or not rt.application.is_active or expires_at(rt) <= timezone.now():
        return False
    return not revocation.is_revoked(jti=None, user_id=str(rt.user_id), client_id=rt.application.client_id,
                                     issued_at_ms=int(rt.created.timestamp() * 1000))
