import pytest

from iam.keys import key_store


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    # The key store caches per process; each test has its own database state.
    key_store.invalidate()
    yield
    key_store.invalidate()


@pytest.fixture
def signing_key(db):
    from tests.factories import make_signing_key

    return make_signing_key()
