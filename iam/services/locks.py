"""Serialising check-then-create steps across processes and hosts, without a schema change.

"Create the first signing key if there is none" and "refuse a client name that is taken"
read, then write. Two workers (or hosts) doing that at once would both see nothing and both
write. Row locks cannot help: there is no row to lock yet. So the database serialises them:

- PostgreSQL: a transaction-scoped advisory lock named after the step, released at commit or
  rollback; the next holder's following statement sees what the previous one committed.
- SQLite: every transaction starts with ``BEGIN IMMEDIATE`` (``transaction_mode`` in
  iam/settings.py), so it already holds the database's one write lock; nothing more to do.
"""

from __future__ import annotations

import hashlib

from django.db import connection


def _lock_id(name: str) -> int:
    # A stable signed 64-bit id (pg_advisory_xact_lock takes a bigint).
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def serialise(name: str) -> None:
    """Wait until no other transaction holds ``name``; hold it until this transaction ends."""
    if not connection.in_atomic_block:
        raise RuntimeError("serialise() only works inside transaction.atomic()")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_id(name)])
