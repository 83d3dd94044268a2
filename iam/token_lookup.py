"""Finding the stored row behind a presented token (by SHA-256 checksum, never by value)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()


def checksum(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def live_access_token(raw: str):
    """The unexpired access token row for ``raw``, with client and user, or None."""
    if not raw or len(raw) > 8192:
        return None
    # token_checksum is unique: no ORDER BY (.first() adds one), which on this hot path
    # (introspection, userinfo) costs more query-compilation time than the database does.
    row = (
        AccessToken.objects.select_related("application", "user")
        .filter(token_checksum=checksum(raw), expires__gt=timezone.now())[:1]
    )
    row = row[0] if row else None
    if row is None or not row.application.is_active:
        return None
    if row.user is not None and not row.user.is_active:
        return None
    return row


def live_refresh_token(raw: str):
    if not raw or len(raw) > 8192:
        return None
    row = (
        RefreshToken.objects.select_related("application", "user")
        .filter(token_checksum=checksum(raw), revoked__isnull=True)
        .first()
    )
    if row is None or not row.application.is_active or not row.user.is_active:
        return None
    if row.created + timedelta(seconds=row.application.effective_refresh_token_lifetime()) <= timezone.now():
        return None
    return row
