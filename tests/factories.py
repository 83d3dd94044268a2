"""Plain factory functions for tests. They go through the services, like everything else."""

from __future__ import annotations

import itertools

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from accounts.services.users import create_user
from iam import keys
from iam.models import SigningKey
from iam.services.clients import create_client

_counter = itertools.count(1)
_cached_private_keys: dict[str, object] = {}

DEFAULT_PASSWORD = "correct horse battery staple"


def make_user(username: str | None = None, *, password: str = DEFAULT_PASSWORD, groups=(), **kwargs):
    username = username or f"user{next(_counter)}"
    kwargs.setdefault("email", f"{username}@example.org")
    kwargs.setdefault("given_name", "Test")
    kwargs.setdefault("family_name", username.capitalize())
    return create_user(actor="tests", username=username, password=password, groups=list(groups), **kwargs)


def make_client(name: str = "client", **kwargs):
    """Returns (application, secret_or_None)."""
    return create_client(actor="tests", name=name, **kwargs)


def make_signing_key(alg: str = "RS256", state: str = SigningKey.ACTIVE) -> SigningKey:
    """A signing key row; the key material is generated once per process (RSA keygen is slow)."""
    private_key = _cached_private_keys.get(alg)
    if private_key is None:
        if alg == "RS256":
            private_key = rsa.generate_private_key(65537, 2048)
        else:
            private_key = ec.generate_private_key(ec.SECP256R1())
        _cached_private_keys[alg] = private_key
    jwk = keys.public_jwk(private_key.public_key(), alg)
    row = SigningKey.objects.create(
        kid=jwk["kid"], alg=alg, state=state,
        private_key_encrypted=keys.encrypt_private_key(keys.private_pem(private_key)), public_jwk=jwk,
    )
    keys.key_store.invalidate()
    return row
