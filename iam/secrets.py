"""Client secrets: 256-bit random values stored as an HMAC-SHA256 under a server key.

A secret with 256 bits of entropy needs no slow password hash; a keyed hash keeps a
stolen database useless without SECRET_KEY and costs microseconds per token request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

PREFIX = "hmac-sha256$"
_key_cache: dict[str, bytes] = {}


def _key() -> bytes:
    secret = settings.SECRET_KEY
    key = _key_cache.get(secret)
    if key is None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"iam-client-secrets", info=b"hmac").derive(
            secret.encode()
        )
        _key_cache.clear()
        _key_cache[secret] = key
    return key


def new_client_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_client_secret(secret: str) -> str:
    return PREFIX + hmac.new(_key(), secret.encode("utf-8"), hashlib.sha256).hexdigest()


def check_client_secret(provided: str | None, stored: str | None) -> bool:
    if not provided or not stored or not stored.startswith(PREFIX):
        return False
    return hmac.compare_digest(hash_client_secret(provided), stored)
