"""Login throttle rules: attempts reserved before the hash, a fixed window, one budget per account
whatever its spelling, and the counters themselves (database and Redis)."""

import threading
import time
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts import throttle
from iam.conf import config
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.parallel import in_parallel

pytestmark = pytest.mark.django_db

ACCOUNT_LIMIT = config.login_max_failures_per_account
ADDRESS_LIMIT = config.login_max_failures_per_address
WINDOW = config.login_failure_window


def login(client, username, password, addr="192.0.2.10"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=addr)


@pytest.fixture
def hasher_calls(monkeypatch):
    """Counts every password hashed or checked, each made slow enough that parallel requests overlap."""
    calls = []
    lock = threading.Lock()

    def counted(method):
        def wrapper(self, *args, **kwargs):
            with lock:
                calls.append(method.__name__)
            time.sleep(0.2)
            return method(self, *args, **kwargs)

        return wrapper

    monkeypatch.setattr(Argon2PasswordHasher, "verify", counted(Argon2PasswordHasher.verify))
    monkeypatch.setattr(Argon2PasswordHasher, "encode", counted(Argon2PasswordHasher.encode))
    return calls




@pytest.fixture(params=["database", "redis"])
def counters(request):
    if request.param == "redis":
        return request.getfixturevalue("redis_counters")
    return throttle.counters()


@pytest.fixture
def threaded_counters(counters):
    """``counters``, for tests that hit them from several threads (connections) at once."""
    if isinstance(counters, throttle.DatabaseCounters) and connection.vendor == "sqlite" and (
        connection.is_in_memory_db()
    ):
        # The SQLite test database is in memory, shared between connections by table locks
        # that fail at once ("database table is locked") instead of waiting as a database
        # file does (timeout 20 s): the rule is checked on PostgreSQL, and with Redis here.
        pytest.skip("in-memory SQLite test database: concurrent writers fail instead of waiting")
    return counters


# --- Attempts are reserved before the password hash ---------------------------------------


@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_passwords_are_tried_at_most_the_account_limit(threaded_counters, hasher_calls):
    make_user("pia")
    hasher_calls.clear()
    statuses = in_parallel([
        lambda i=i: login(Client(), "pia", f"wrong{i}", addr=f"203.0.113.{i + 1}").status_code
        for i in range(3 * ACCOUNT_LIMIT)
    ])
    assert len(hasher_calls) == ACCOUNT_LIMIT
    # Tries before the last say "wrong"; the last one tried and every refused one say "locked".
    assert sorted(statuses) == [401] * (ACCOUNT_LIMIT - 1) + [429] * (2 * ACCOUNT_LIMIT + 1)


@pytest.mark.django_db(transaction=True)
def test_parallel_guesses_from_one_address_are_tried_at_most_the_address_limit(threaded_counters, hasher_calls):
    statuses = in_parallel([
        lambda i=i: login(Client(), f"nobody{i}", "wrong", addr="198.51.100.40").status_code
        for i in range(ADDRESS_LIMIT + 8)
    ])
    assert len(hasher_calls) == ADDRESS_LIMIT  # unknown names cost a hash too (same timing)
    assert statuses.count(401) == ADDRESS_LIMIT - 1


# --- Fixed window -------------------------------------------------------------------------


def test_failures_are_forgotten_a_window_after_the_first_not_the_last(monkeypatch):
    make_user("quin")
    start = timezone.now()
    clock = [start]
    monkeypatch.setattr(timezone, "now", lambda: clock[0])
    # Failures every 4 minutes: each within 5 minutes of the one before, all within the window.
    step = (WINDOW - 60) // (ACCOUNT_LIMIT - 1)
    for i in range(ACCOUNT_LIMIT):
        clock[0] = start + timedelta(seconds=i * step)
        assert login(Client(), "quin", "wrong").status_code == (429 if i == ACCOUNT_LIMIT - 1 else 401)
    clock[0] = start + timedelta(seconds=WINDOW - 1)
    assert login(Client(), "quin", DEFAULT_PASSWORD).status_code == 429
    clock[0] = start + timedelta(seconds=WINDOW + 1)
    assert login(Client(), "quin", DEFAULT_PASSWORD).status_code == 302


def test_redis_counter_window_is_fixed_from_the_first_hit(redis_counters):
    redis_counters.hit("k", 3)
    first = redis_counters.client.pttl(redis_counters.PREFIX + "k")
    time.sleep(1.1)
    assert redis_counters.hit("k", 3).count == 2
    assert redis_counters.client.pttl(redis_counters.PREFIX + "k") <= first - 1000  # not pushed back


# --- The counters -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_counter_hits_each_get_their_own_count(threaded_counters):
    counts = in_parallel([lambda: threaded_counters.hit("shared", 60).count for _ in range(16)])
    assert sorted(counts) == list(range(1, 17))


def test_counter_undo_leaves_a_later_window_alone(counters):
    old = counters.hit("k", 60)
    counters.reset("k")
    counters.hit("k", 60)
    counters.undo(old)
    assert counters.hit("k", 60).count == 2


def test_expired_counter_rows_are_purged():
    from accounts.models import AttemptCounter

    store = throttle.DatabaseCounters()
    past = timezone.now() - timedelta(hours=1)
    AttemptCounter.objects.create(key="stale", count=3, window_start=past, expires_at=past + timedelta(minutes=15))
    store.hit("fresh", 60)
    assert list(AttemptCounter.objects.values_list("key", flat=True)) == ["fresh"]


# --- One budget per account, whatever the spelling ------------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's UPPER() maps ı to I and ſ to S")
def test_lockout_cannot_be_bypassed_with_lookalike_usernames():
    make_user("alice")
    make_user("sam")
    for _ in range(ACCOUNT_LIMIT):
        login(Client(), "alice", "wrong")
        login(Client(), "sam", "wrong")
    # ı is not i under NFKC and case folding: no such account, not a second budget for alice.
    assert login(Client(), "alıce", DEFAULT_PASSWORD).status_code == 401
    # ſ is s: the same account, and the same (exhausted) budget.
    assert login(Client(), "ſam", DEFAULT_PASSWORD).status_code == 429


def test_username_is_matched_after_nfkc_and_case_folding():
    make_user("Ömer", email="oemer@example.org")
    make_user("jane")
    for typed in ("ömer", "ÖMER", "Ömer"):
        assert login(Client(), typed, DEFAULT_PASSWORD).status_code == 302, typed
    assert login(Client(), "ｊａｎｅ", DEFAULT_PASSWORD).status_code == 302  # fullwidth letters


def test_a_renamed_account_signs_in_under_its_new_name_only():
    user = make_user("pete")
    user.username = "Peter"
    user.save(update_fields=["username"])
    assert login(Client(), "peter", DEFAULT_PASSWORD).status_code == 302
    assert login(Client(), "pete", DEFAULT_PASSWORD).status_code == 401


def test_every_spelling_of_a_username_counts_against_one_lockout():
    make_user("kira")
    for typed in ["Kira", "ｋｉｒａ", "KIRA", "kira", "ｋira"][:ACCOUNT_LIMIT]:
        login(Client(), typed, "wrong")
    assert login(Client(), "kira", DEFAULT_PASSWORD, addr="192.0.2.99").status_code == 429


def test_unknown_usernames_are_counted_under_their_normalised_name():
    for typed in ["Lena", "ＬＥＮＡ", "lena", "LENA", "ｌｅｎａ"][:ACCOUNT_LIMIT]:
        assert login(Client(), typed, "wrong").status_code in (401, 429)
    make_user("lena")
    assert login(Client(), "lena", DEFAULT_PASSWORD, addr="192.0.2.98").status_code == 429


# --- What a reservation does to the other budget ------------------------------------------


def test_attempts_refused_at_a_locked_address_do_not_count_against_the_account():
    make_user("mika")
    for i in range(ADDRESS_LIMIT):
        login(Client(), f"nobody{i}", "wrong", addr="198.51.100.50")
    for _ in range(2 * ACCOUNT_LIMIT):
        assert login(Client(), "mika", "wrong", addr="198.51.100.50").status_code == 429
    assert login(Client(), "mika", DEFAULT_PASSWORD, addr="198.51.100.51").status_code == 302


def test_successful_logins_do_not_count_against_the_address():
    make_user("noor")
    for _ in range(ADDRESS_LIMIT + 5):
        assert login(Client(), "noor", DEFAULT_PASSWORD, addr="198.51.100.60").status_code == 302
    assert login(Client(), "nobody", "wrong", addr="198.51.100.60").status_code == 401


# --- Django admin -------------------------------------------------------------------------


def test_throttled_admin_login_says_the_account_is_locked():
    make_user("olga", is_staff=True)

    def admin_login(password):
        return Client().post("/admin/login/", {"username": "olga", "password": password, "next": "/admin/"},
                             REMOTE_ADDR="192.0.2.20")

    assert b"Please enter the correct" in admin_login("wrong").content
    for _ in range(ACCOUNT_LIMIT - 1):
        admin_login("wrong")
    r = admin_login(DEFAULT_PASSWORD)
    assert r.status_code == 200 and b"Too many failed sign-in attempts" in r.content
    assert b"Please enter the correct" not in r.content


def test_usernames_are_unique_as_sign_in_normalises_them(db):
    from accounts.services.users import AccountError

    make_user("sam")
    with pytest.raises(AccountError):
        make_user("ſam")
