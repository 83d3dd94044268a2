"""Revocation of stateless tokens: a deny-list of access-token ``jti``s and "not before"
epochs per user and per client, kept in the database and read on every use.

Access tokens are RFC 9068 JWTs that are not stored. What can make one inactive before its
``exp`` is written here, and introspection, userinfo and the refresh grant ask in one
indexed lookup (``Revocation.key IN (...)``). Nothing is cached per worker: a revocation
written by any host is seen by the next request on every host.

Issue times are compared to the millisecond: a token's ``jti`` is a UUIDv7 (RFC 9562),
whose first 48 bits are its issue time in Unix milliseconds, so a token minted right after
an epoch (say, with a client's new secret) is not mistaken for one minted before it.
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import BigIntegerField, DateTimeField, F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from iam.models import Revocation

JTI_PREFIX, USER_PREFIX, CLIENT_PREFIX = "jti:", "user:", "client:"


def new_jti(now_ms: int | None = None) -> str:
    """A UUIDv7: 48 bits of Unix milliseconds, version 7, 74 random bits (RFC 9562 §5.7)."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | (rand >> 68 & 0xFFF) << 64 | 0b10 << 62 | rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def issued_ms(claims: dict) -> int | None:
    """When a token was minted, in Unix milliseconds: from a UUIDv7 ``jti``, else ``iat``."""
    jti = claims.get("jti")
    if isinstance(jti, str):
        try:
            parsed = uuid.UUID(jti)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.version == 7:
            return parsed.int >> 80
    iat = claims.get("iat")
    if isinstance(iat, int | float) and not isinstance(iat, bool):
        return int(iat * 1000)
    return None


def keys_for(*, jti: str | None, user_id: str | None, client_id: str | None) -> list[str]:
    keys = []
    if jti:
        keys.append(JTI_PREFIX + jti)
    if user_id:
        keys.append(USER_PREFIX + user_id)
    if client_id:
        keys.append(CLIENT_PREFIX + client_id)
    return keys


_LOOKUP_SQL: dict[int, str] = {}


def _lookup_sql(n: int) -> str:
    # Prebuilt: this runs on every introspection and userinfo request.
    sql = _LOOKUP_SQL.get(n)
    if sql is None:
        qn = connection.ops.quote_name
        sql = (
            f"SELECT {qn('key')}, {qn('not_before_ms')} FROM {qn(Revocation._meta.db_table)} "
            f"WHERE {qn('key')} IN ({', '.join(['%s'] * n)})"
        )
        _LOOKUP_SQL[n] = sql
    return sql


def is_revoked(*, jti: str | None, user_id: str | None, client_id: str | None, issued_at_ms: int | None) -> bool:
    """Is a token with this ``jti``, of this user and client, minted at ``issued_at_ms``, revoked?

    A token whose issue time is unknown counts as minted before any epoch."""
    keys = keys_for(jti=jti, user_id=user_id, client_id=client_id)
    if not keys:
        return False
    with connection.cursor() as cursor:
        cursor.execute(_lookup_sql(len(keys)), keys)
        rows = cursor.fetchall()
    return revoked_by(rows, issued_at_ms)


def revoked_by(rows, issued_at_ms: int | None) -> bool:
    """Do these revocation rows (key, not_before_ms), found for a token, revoke it?"""
    for key, not_before_ms in rows:
        if key.startswith(JTI_PREFIX):
            return True
        # Ties count as before: a token minted in the very millisecond of a revocation may have
        # been minted before it.
        if issued_at_ms is None or issued_at_ms <= not_before_ms:
            return True
    return False


def _expiry(exp_unix: int) -> datetime:
    return datetime.fromtimestamp(exp_unix, tz=UTC)


def deny_access_tokens(pairs) -> int:
    """Deny-list access tokens given as ``(jti, exp)`` until their ``exp``; expired ones are skipped."""
    now = time.time()
    rows = [Revocation(key=JTI_PREFIX + jti, expires=_expiry(exp)) for jti, exp in pairs if jti and exp > now]
    if rows:
        Revocation.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def set_epoch(*, user_id: str | None = None, client_id: str | None = None, lifetime: int) -> int:
    """Make every token of this user (or client) minted before now inactive; returns the epoch.

    ``lifetime`` is the longest a token minted before now can live: after it the row has
    nothing left to deny and is purged."""
    key = USER_PREFIX + user_id if user_id else CLIENT_PREFIX + client_id
    now_ms = int(time.time() * 1000)
    expires = timezone.now() + timedelta(seconds=lifetime)
    changes = {
        "not_before_ms": Greatest(F("not_before_ms"), Value(now_ms, output_field=BigIntegerField())),
        "expires": Greatest(F("expires"), Value(expires, output_field=DateTimeField())),
    }
    if not Revocation.objects.filter(key=key).update(**changes):
        try:
            with transaction.atomic():
                Revocation.objects.create(key=key, not_before_ms=now_ms, expires=expires)
        except IntegrityError:  # created concurrently: move it forward instead
            Revocation.objects.filter(key=key).update(**changes)
    return now_ms


def purge_expired() -> int:
    return Revocation.objects.filter(expires__lt=timezone.now()).delete()[0]
