"""Login throttling: too many failures for one account, or from one address, lock it out.

Counters live in the shared cache (database or Redis), so every worker and host sees them.
Keys are hashes: usernames and addresses do not appear in the cache in clear.
"""

from __future__ import annotations

import hashlib
import ipaddress

from django.core.cache import cache

from iam.conf import config


def hashed_key(namespace: str, kind: str, value: str) -> str:
    """A cache key that does not reveal ``value`` (a username, an address)."""
    return f"{namespace}:{kind}:" + hashlib.sha256(value.lower().encode()).hexdigest()[:40]


def _key(kind: str, value: str) -> str:
    return hashed_key("loginfail", kind, value)


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


def is_locked(username: str, address: str) -> bool:
    counts = cache.get_many([_key("user", username), _key("addr", address)])
    return counts.get(_key("user", username), 0) >= config.login_max_failures_per_account or counts.get(
        _key("addr", address), 0
    ) >= config.login_max_failures_per_address


def increment(key: str, window: int) -> None:
    """Count one failure under ``key``; the count is forgotten ``window`` seconds after the first."""
    if not cache.add(key, 1, timeout=window):
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=window)


def record_failure(username: str, address: str) -> None:
    increment(_key("user", username), config.login_failure_window)
    if address:
        increment(_key("addr", address), config.login_failure_window)


def record_success(username: str) -> None:
    cache.delete(_key("user", username))
