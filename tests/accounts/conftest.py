import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _cheap_argon2(monkeypatch):
    """Argon2id stays the hasher (tests check the algorithm), with test-sized cost parameters."""
    from django.contrib.auth.hashers import Argon2PasswordHasher

    monkeypatch.setattr(Argon2PasswordHasher, "time_cost", 1)
    monkeypatch.setattr(Argon2PasswordHasher, "memory_cost", 64)
    monkeypatch.setattr(Argon2PasswordHasher, "parallelism", 1)


@pytest.fixture(autouse=True)
def _clear_counters():
    """Login-failure counters live in the shared cache; each test starts from zero."""
    cache.clear()
    yield
    cache.clear()
