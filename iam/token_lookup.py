"""Finding the stored row behind a presented token (by SHA-256 checksum, never by value)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()


def checksum(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass
class LiveAccessToken:
    id: int
    scope: str
    application: object
    user: object | None

    @property
    def application_id(self):
        return self.application.pk


_ACCESS_SQL = None


def _access_sql() -> str:
    # Built once: introspection and userinfo run this on every request, and compiling the
    # equivalent ORM query (three tables, every column) cost more than the database did.
    global _ACCESS_SQL
    if _ACCESS_SQL is None:
        from iam.models import Application

        qn = connection.ops.quote_name
        t, a = qn(AccessToken._meta.db_table), qn(Application._meta.db_table)
        _ACCESS_SQL = (
            f"SELECT t.{qn('id')}, t.{qn('user_id')}, t.{qn('scope')}, a.{qn('client_id')} "
            f"FROM {t} t JOIN {a} a ON a.{qn('id')} = t.{qn('application_id')} "
            f"WHERE t.{qn('token_checksum')} = %s AND t.{qn('expires')} > %s"
        )
    return _ACCESS_SQL


def live_access_token(raw: str) -> LiveAccessToken | None:
    """The unexpired access token behind ``raw``, with its (active) client and user, or None."""
    from django.contrib.auth import get_user_model

    from iam.client_auth import load_client

    if not raw or len(raw) > 8192:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_access_sql(), [checksum(raw), timezone.now()])
        found = cursor.fetchone()
    if found is None:
        return None
    token_id, user_id, scope, client_id = found
    client = load_client(client_id)
    if client is None or not client.is_active:
        return None
    user = None
    if user_id is not None:
        user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
        if user is None:
            return None
    return LiveAccessToken(id=token_id, scope=scope, application=client, user=user)


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
