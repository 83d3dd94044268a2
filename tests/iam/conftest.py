import itertools

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

_pool: dict[str, list] = {}


def _material(alg: str, n: int) -> list:
    keys = _pool.setdefault(alg, [])
    while len(keys) < n:
        if alg == "RS256":
            keys.append(rsa.generate_private_key(65537, 2048))
        else:
            keys.append(ec.generate_private_key(ec.SECP256R1()))
    return keys[:n]


@pytest.fixture
def pooled_keys(monkeypatch):
    """Rotation makes keys; hand out distinct, per-process cached key material (RSA keygen is slow)."""
    from iam import keys

    counters = {alg: itertools.count() for alg in ("RS256", "ES256")}

    def generate(alg):
        i = next(counters[alg])
        return _material(alg, i + 1)[i]

    monkeypatch.setattr(keys, "generate_private_key", generate)


@pytest.fixture(autouse=True)
def _cheap_argon2(monkeypatch):
    """Argon2id stays the hasher (tests check the algorithm), with test-sized cost parameters."""
    from django.contrib.auth.hashers import Argon2PasswordHasher

    monkeypatch.setattr(Argon2PasswordHasher, "time_cost", 1)
    monkeypatch.setattr(Argon2PasswordHasher, "memory_cost", 64)
    monkeypatch.setattr(Argon2PasswordHasher, "parallelism", 1)


@pytest.fixture
def service(signing_key):
    """A client that gets tokens for itself (client_credentials, scope api)."""
    from tests.factories import make_client

    return make_client("svc", grant_types=["client_credentials"], scopes=["api"])


@pytest.fixture
def resource_server(signing_key):
    """A resource server that may introspect any client's tokens."""
    from tests.factories import make_client

    return make_client("rs", grant_types=["client_credentials"], scopes=["api"], introspection=True)
