"""The access-token table's hot statements: finding the stored row behind a presented token
(by SHA-256 checksum, never by value) and inserting a client_credentials token's row.

Both are prebuilt SQL: introspection, userinfo and the client_credentials grant run them on
every request, and on a slow CPU compiling the equivalent ORM query cost more than the
database did (docs/performance.md)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model
from oauth2_provider.settings import oauth2_settings

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


_INSERT_COLUMNS = ("token", "token_checksum", "application_id", "expires", "scope", "resource", "created", "updated")
_INSERT_SQL = None


def _insert_sql() -> str:
    global _INSERT_SQL
    if _INSERT_SQL is None:
        qn = connection.ops.quote_name
        _INSERT_SQL = (
            f"INSERT INTO {qn(AccessToken._meta.db_table)} ({', '.join(qn(c) for c in _INSERT_COLUMNS)}) "
            f"VALUES ({', '.join(['%s'] * len(_INSERT_COLUMNS))})"
        )
    return _INSERT_SQL


def insert_client_access_token(*, token: str, application_id: int, expires, scope: str, resource: list[str]) -> None:
    """Store the row of an access token issued to a client for itself (no user, no refresh
    token, no ID token): what ``AccessToken(...).save()`` writes, as one prebuilt INSERT.

    The token value is kept only when DOT's RFC 9700 token storage is off, as DOT would."""
    meta = AccessToken._meta
    now = timezone.now()
    stored = "" if oauth2_settings.COMPLIANT_BCP_RFC9700_TOKEN_STORAGE else token
    when = connection.ops.adapt_datetimefield_value
    params = [
        stored, checksum(token), application_id, when(expires), scope,
        meta.get_field("resource").get_db_prep_save(list(resource), connection), when(now), when(now),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(), params)


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
