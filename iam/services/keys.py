"""Signing-key life cycle: next -> active -> retiring -> retired."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.services import audit
from iam import keys
from iam.conf import config
from iam.models import SIGNING_ALGORITHMS, Application, SigningKey
from iam.services.locks import serialise

# Every change to the set of keys takes this lock first: two processes that find no active
# key at the same moment (workers of a fresh server, migrate on two hosts) must end with one.
_KEYS_LOCK = "iam.signing-keys"


def _create(alg: str, state: str) -> SigningKey:
    private_key = keys.generate_private_key(alg)
    jwk = keys.public_jwk(private_key.public_key(), alg)
    now = timezone.now()
    return SigningKey.objects.create(
        kid=jwk["kid"],
        alg=alg,
        state=state,
        private_key_encrypted=keys.encrypt_private_key(keys.private_pem(private_key)),
        public_jwk=jwk,
        activated_at=now if state == SigningKey.ACTIVE else None,
    )


def _longest_token_lifetime() -> int:
    longest = max(config.access_token_lifetime, config.id_token_lifetime)
    for a, i in Application.objects.values_list("access_token_lifetime", "id_token_lifetime"):
        longest = max(longest, a or 0, i or 0)
    return longest


@transaction.atomic
def ensure_active_key(*, actor, alg: str = "RS256") -> SigningKey:
    """Make sure ``alg`` has an active key, creating the first one if needed; returns it.

    Safe to call from any number of processes at once: exactly one of them creates the key.
    """
    if alg not in SIGNING_ALGORITHMS:
        raise keys.SigningKeyError(f"unsupported signing algorithm {alg!r}: one of {', '.join(SIGNING_ALGORITHMS)}")
    serialise(_KEYS_LOCK)
    key = SigningKey.objects.filter(alg=alg, state=SigningKey.ACTIVE).order_by("-activated_at", "-created").first()
    if key is None:
        key = _create(alg, SigningKey.ACTIVE)
        audit.record(actor=actor, action="key.create", target=key, kid=key.kid, alg=alg, state=key.state)
    transaction.on_commit(keys.key_store.invalidate)
    return key


@transaction.atomic
def rotate_keys(*, actor, alg: str = "RS256") -> dict:
    """One rotation step for ``alg``.

    - a published ``next`` key becomes ``active``; the old active key becomes ``retiring``;
    - ``retiring`` keys older than the longest token lifetime become ``retired``;
    - a new ``next`` key is added, so the following rotation is safe for cached verifiers.
    With no active key yet, the new key becomes active at once.
    """
    serialise(_KEYS_LOCK)
    now = timezone.now()
    rows = list(SigningKey.objects.select_for_update().filter(alg=alg).exclude(state=SigningKey.RETIRED))
    active = [k for k in rows if k.state == SigningKey.ACTIVE]
    nxt = [k for k in rows if k.state == SigningKey.NEXT]
    changes = {"promoted": None, "retiring": [], "retired": [], "added": None}

    cutoff = now - timedelta(seconds=_longest_token_lifetime())
    for key in rows:
        if key.state == SigningKey.RETIRING and key.retiring_at and key.retiring_at <= cutoff:
            key.state, key.retired_at = SigningKey.RETIRED, now
            key.save(update_fields=["state", "retired_at"])
            changes["retired"].append(key.kid)

    if nxt:
        promoted = nxt[0]
        for key in active:
            key.state, key.retiring_at = SigningKey.RETIRING, now
            key.save(update_fields=["state", "retiring_at"])
            changes["retiring"].append(key.kid)
        promoted.state, promoted.activated_at = SigningKey.ACTIVE, now
        promoted.save(update_fields=["state", "activated_at"])
        changes["promoted"] = promoted.kid
        added = _create(alg, SigningKey.NEXT)
    elif not active:
        added = _create(alg, SigningKey.ACTIVE)
    else:
        added = _create(alg, SigningKey.NEXT)
    changes["added"] = added.kid
    changes["added_state"] = added.state
    audit.record(
        actor=actor, action="key.rotate", target_type="iam.signingkey", target_id=added.kid, alg=alg, **changes
    )
    transaction.on_commit(keys.key_store.invalidate)
    return changes
