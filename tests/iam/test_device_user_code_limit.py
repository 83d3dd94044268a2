"""RFC 8628 §5.1: user code entry is rate-limited, and parallel guesses get no more tries."""

import threading
import time
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from oauth2_provider.views.device import DeviceGrantForm

from accounts import throttle
from iam.views.device import USER_CODE_MAX_FAILURES_PER_ADDRESS, USER_CODE_MAX_FAILURES_PER_USER
from tests.accounts import conftest as accounts_fixtures
from tests.factories import make_client, make_user
from tests.parallel import in_parallel

pytestmark = pytest.mark.django_db

redis_url = accounts_fixtures.redis_url
redis_counters = accounts_fixtures.redis_counters


@pytest.fixture(params=["database", "redis"])
def threaded_counters(request):
    if request.param == "redis":
        return request.getfixturevalue("redis_counters")
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        # See tests/accounts/test_login_throttle.py: the in-memory SQLite test database
        # fails concurrent writers at once; PostgreSQL (and Redis, here) check the rule.
        pytest.skip("in-memory SQLite test database: concurrent writers fail instead of waiting")
    return throttle.counters()


@pytest.fixture
def lookups(monkeypatch):
    """Counts user-code lookups, each made slow enough that parallel requests overlap."""
    calls = []
    lock = threading.Lock()
    original = DeviceGrantForm.clean_user_code

    def counted(self):
        with lock:
            calls.append(1)
        time.sleep(0.2)
        return original(self)

    monkeypatch.setattr(DeviceGrantForm, "clean_user_code", counted)
    return calls




def signed_in(user, addr):
    browser = Client(REMOTE_ADDR=addr)
    browser.force_login(user)
    return browser


@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_user_codes_are_looked_up_at_most_the_per_user_limit(threaded_counters, lookups):
    user = make_user("vera")
    browsers = [signed_in(user, f"203.0.113.{i + 1}") for i in range(2 * USER_CODE_MAX_FAILURES_PER_USER)]
    statuses = in_parallel([lambda b=b: b.post("/device/", {"user_code": "WRONGCODE"}).status_code for b in browsers])
    assert len(lookups) == USER_CODE_MAX_FAILURES_PER_USER
    assert sorted(statuses) == [200] * USER_CODE_MAX_FAILURES_PER_USER + [429] * USER_CODE_MAX_FAILURES_PER_USER


@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_user_codes_from_one_address_are_looked_up_at_most_the_address_limit(
    threaded_counters, lookups
):
    users = [make_user(f"walt{i}") for i in range(USER_CODE_MAX_FAILURES_PER_ADDRESS + 6)]
    browsers = [signed_in(user, "198.51.100.70") for user in users]
    statuses = in_parallel([lambda b=b: b.post("/device/", {"user_code": "WRONGCODE"}).status_code for b in browsers])
    assert len(lookups) == USER_CODE_MAX_FAILURES_PER_ADDRESS
    assert statuses.count(429) == 6


def test_right_user_codes_do_not_count_towards_the_limit(client, signing_key):
    user = make_user("xena")
    app, _ = make_client("cli", public=True, grant_types=["urn:ietf:params:oauth:grant-type:device_code"])
    client.force_login(user)
    for _ in range(USER_CODE_MAX_FAILURES_PER_USER + 2):
        device = client.post("/device_authorization/", urlencode({"client_id": app.client_id, "scope": "openid"}),
                             content_type="application/x-www-form-urlencoded").json()
        assert client.post("/device/", {"user_code": device["user_code"]}).status_code == 302
    assert client.post("/device/", {"user_code": "WRONGCODE"}).status_code == 200
