"""Rate limits on guessing: login failures per account and per address, and the like.

Each limited attempt is *reserved* before the slow or revealing work is done: the counter is
incremented first, atomically, and the attempt goes ahead only if the count it got back is
within the limit. So parallel requests cannot all slip past a "locked?" check made before any
of them has failed: at most ``limit`` attempts are ever tried in one window. A refused attempt
gives its reservations back (it tried nothing); a successful one gives them back too (it was
no failure) and the caller may reset a counter; a failed one keeps them, and they are the
failure count.

The window is fixed: a count is forgotten ``window`` seconds after the first attempt that
started it, however many follow. Counters live in Redis when ``REDIS_URL`` is set (one Lua
script per operation: increment, and set the expiry only if there is none), otherwise in the
database (``accounts.AttemptCounter``, rows updated with ``F()`` under a row lock), so every
worker and host sees the same counts. Keys are hashes: usernames and addresses are not stored
in clear.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from iam.conf import config

# Shown by the login page and the Django admin's login form.
LOCKED_MESSAGE = "Too many failed sign-in attempts. Wait a few minutes and try again."


def hashed_key(namespace: str, kind: str, value: str) -> str:
    """A counter key that does not reveal ``value`` (a username, an address)."""
    return f"{namespace}:{kind}:" + hashlib.sha256(value.lower().encode()).hexdigest()[:40]


def client_address(meta: dict) -> str:
    """The caller's address; a forwarded one only when the peer is a trusted proxy."""
    remote = meta.get("REMOTE_ADDR", "") or ""
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded and config.trusted_proxy_cidrs:
        try:
            peer = ipaddress.ip_address(remote)
        except ValueError:
            return remote
        if any(peer in net for net in config.trusted_proxy_cidrs):
            return forwarded.split(",")[-1].strip() or remote
    return remote


# --- Counters -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """One increment: the count it returned, and which window it was counted in."""

    key: str
    count: int
    window: str  # opaque; lets undo() leave a later window of the same key alone


class Counters(Protocol):
    def hit(self, key: str, window: int) -> Hit:
        """Add one to ``key``; a new window of ``window`` seconds starts if none is running."""

    def undo(self, hit: Hit) -> None:
        """Take ``hit`` back, if its window is still the current one."""

    def reset(self, key: str) -> None:
        """Forget ``key``'s count."""


class DatabaseCounters:
    """Counters as ``AttemptCounter`` rows; each operation is one short transaction.

    Incrementing with ``F()`` locks the row, so concurrent increments queue and each reads
    back its own count. An expired row is restarted at 1 by the first increment that finds it
    so; a missing one is inserted, and an insert that loses the race retries as an increment.
    """

    PURGE_BATCH = 200

    def hit(self, key: str, window: int) -> Hit:
        from accounts.models import AttemptCounter

        now = timezone.now()
        while True:
            with transaction.atomic():
                rows = AttemptCounter.objects.filter(key=key)
                if rows.filter(expires_at__gt=now).update(count=F("count") + 1):
                    count, start = rows.values_list("count", "window_start").get()
                    return Hit(key, count, start.isoformat())
                restart = {"count": 1, "window_start": now, "expires_at": now + timedelta(seconds=window)}
                if rows.filter(expires_at__lte=now).update(**restart):
                    return Hit(key, 1, now.isoformat())
                try:
                    with transaction.atomic():
                        AttemptCounter.objects.create(key=key, **restart)
                except IntegrityError:
                    continue  # another request inserted it first: count on that row
            self._purge_expired(now)
            return Hit(key, 1, now.isoformat())

    def undo(self, hit: Hit) -> None:
        from accounts.models import AttemptCounter

        AttemptCounter.objects.filter(
            key=hit.key, window_start=datetime.fromisoformat(hit.window), count__gt=0
        ).update(count=F("count") - 1)

    def reset(self, key: str) -> None:
        from accounts.models import AttemptCounter

        AttemptCounter.objects.filter(key=key).delete()

    def _purge_expired(self, now) -> None:
        """Delete a batch of expired rows (of other keys), so the table stays small.

        Called when a new row is inserted, so it keeps up with the rate rows appear; rows
        another request holds are skipped, not waited for.
        """
        from accounts.models import AttemptCounter

        with transaction.atomic():
            stale = list(
                AttemptCounter.objects.select_for_update(skip_locked=True)
                .filter(expires_at__lte=now)
                .values_list("key", flat=True)[: self.PURGE_BATCH]
            )
            if stale:
                AttemptCounter.objects.filter(key__in=stale, expires_at__lte=now).delete()


# KEYS[1] = counter; ARGV[1] = a fresh window id, ARGV[2] = window seconds. A hash holds the
# count (n) and the id of the window (w, set only by the increment that starts it); the expiry
# is set only when the key has none, i.e. by that same increment (INCR + EXPIRE NX).
_REDIS_HIT = """
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
redis.call('HSETNX', KEYS[1], 'w', ARGV[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return {n, redis.call('HGET', KEYS[1], 'w')}
"""
# KEYS[1] = counter; ARGV[1] = the window id the hit was counted in.
_REDIS_UNDO = """
if redis.call('HGET', KEYS[1], 'w') == ARGV[1] then
  return redis.call('HINCRBY', KEYS[1], 'n', -1)
end
return -1
"""


class RedisCounters:
    """Counters in Redis: each operation is one atomic server-side script."""

    PREFIX = "iam:throttle:"

    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url)
        self._hit = self.client.register_script(_REDIS_HIT)
        self._undo = self.client.register_script(_REDIS_UNDO)

    def hit(self, key: str, window: int) -> Hit:
        fresh = f"{time.time_ns()}.{secrets.token_hex(4)}"
        count, window_id = self._hit(keys=[self.PREFIX + key], args=[fresh, int(window)])
        return Hit(key, int(count), window_id.decode() if isinstance(window_id, bytes) else str(window_id))

    def undo(self, hit: Hit) -> None:
        self._undo(keys=[self.PREFIX + hit.key], args=[hit.window])

    def reset(self, key: str) -> None:
        self.client.delete(self.PREFIX + key)


_counters: Counters | None = None


def counters() -> Counters:
    global _counters
    if _counters is None:
        _counters = RedisCounters(config.redis_url) if config.redis_url else DatabaseCounters()
    return _counters


# --- Reserved attempts --------------------------------------------------------------------


@dataclass
class Attempt:
    """An attempt counted under one or more limits before it is tried."""

    allowed: bool
    hits: list[tuple[Hit, int]] = field(default_factory=list)  # (hit, its limit); empty when refused

    @property
    def exhausted(self) -> bool:
        """Refused, or (should it fail) the last attempt some limit allows in this window."""
        return not self.allowed or any(hit.count >= limit for hit, limit in self.hits)

    def release(self) -> None:
        """It was no failure: give its reservations back."""
        for hit, _ in self.hits:
            counters().undo(hit)
        self.hits = []


def reserve(limits: list[tuple[str, int]], *, window: int) -> Attempt:
    """Count one attempt under each ``(key, limit)``; allowed only if every count is within its limit.

    A refused attempt is taken back at once from every counter it reached: it tried nothing,
    so it is no failure, and attempts stopped by one limit (a locked address) do not use up
    another (the account's).
    """
    store = counters()
    hits: list[tuple[Hit, int]] = []
    for key, limit in limits:
        hit = store.hit(key, window)
        hits.append((hit, limit))
        if hit.count > limit:
            for taken, _ in hits:
                store.undo(taken)
            return Attempt(allowed=False)
    return Attempt(allowed=True, hits=hits)


# --- Password logins ----------------------------------------------------------------------


def _login_key(kind: str, value: str) -> str:
    return hashed_key("loginfail", kind, value)


def reserve_login(username: str, address: str) -> Attempt:
    """Reserve one password try for ``username`` from ``address``.

    ``username`` is the typed name normalised (``accounts.models.normalise_username``).
    """
    limits = [(_login_key("user", username), config.login_max_failures_per_account)]
    if address:
        limits.append((_login_key("addr", address), config.login_max_failures_per_address))
    return reserve(limits, window=config.login_failure_window)


def login_succeeded(attempt: Attempt, username: str) -> None:
    """The right password: the attempt was no failure, and the account's earlier failures are forgiven."""
    attempt.release()
    counters().reset(_login_key("user", username))
