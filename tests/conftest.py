import pytest

from iam.keys import key_store


@pytest.fixture(scope="session", autouse=True)
def _no_signing_key_from_migrate():
    """Tests make the keys they need (tests/factories.make_signing_key); the test database is
    created by `migrate`, whose first-key handler is tested on its own (tests/iam/test_signing_keys.py)."""
    from django.apps import apps
    from django.db.models.signals import post_migrate

    from iam.apps import FIRST_SIGNING_KEY_UID, create_first_signing_key

    sender = apps.get_app_config("iam")
    assert post_migrate.disconnect(create_first_signing_key, sender=sender, dispatch_uid=FIRST_SIGNING_KEY_UID)
    yield
    post_migrate.connect(create_first_signing_key, sender=sender, dispatch_uid=FIRST_SIGNING_KEY_UID)


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
