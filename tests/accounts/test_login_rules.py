"""Further login rules: lockout boundaries, redirect safety, auth_time, hasher order."""

import time

import pytest
from django.test import Client

from tests.factories import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.django_db


def login(client, username, password, addr="192.0.2.10", **data):
    return client.post("/login/", {"username": username, "password": password, **data}, REMOTE_ADDR=addr)


def test_argon2_is_the_production_password_hasher():
    import iam.settings

    assert iam.settings.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_four_failures_do_not_lock_the_account(client):
    make_user("alma")
    for _ in range(4):
        assert login(client, "alma", "wrong").status_code == 401
    assert login(client, "alma", DEFAULT_PASSWORD).status_code == 302


def test_account_lockout_applies_from_every_address():
    make_user("bert")
    for i in range(5):
        login(Client(), "bert", "wrong", addr=f"203.0.113.{i + 1}")
    r = login(Client(), "bert", DEFAULT_PASSWORD, addr="203.0.113.200")
    assert r.status_code == 429 and b"Too many failed" in r.content


def test_account_lockout_is_case_insensitive():
    make_user("cleo")
    for _ in range(5):
        login(Client(), "CLEO", "wrong")
    assert login(Client(), "cleo", DEFAULT_PASSWORD, addr="192.0.2.99").status_code == 429


def test_nineteen_failures_from_one_address_do_not_lock_it():
    make_user("dirk")
    for i in range(19):
        login(Client(), f"nobody{i}", "wrong", addr="198.51.100.20")
    assert login(Client(), "dirk", DEFAULT_PASSWORD, addr="198.51.100.20").status_code == 302


def test_address_lockout_after_twenty_failures_refuses_right_password():
    make_user("edna")
    for i in range(20):
        login(Client(), f"nobody{i}", "wrong", addr="198.51.100.21")
    browser = Client()
    r = login(browser, "edna", DEFAULT_PASSWORD, addr="198.51.100.21")
    assert r.status_code == 429 and "_auth_user_id" not in browser.session


def test_successful_login_resets_the_account_counter(client):
    make_user("fern")
    for _ in range(4):
        login(client, "fern", "wrong")
    assert login(client, "fern", DEFAULT_PASSWORD).status_code == 302
    other = Client()
    for _ in range(4):
        assert login(other, "fern", "wrong").status_code == 401
    assert login(Client(), "fern", DEFAULT_PASSWORD).status_code == 302


def test_forwarded_for_is_ignored_without_trusted_proxy():
    make_user("gabe")
    for i in range(20):
        login(Client(), f"nobody{i}", "wrong", addr="198.51.100.30", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}")
    r = Client().post("/login/", {"username": "gabe", "password": DEFAULT_PASSWORD}, REMOTE_ADDR="198.51.100.30",
                      HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert r.status_code == 429  # a spoofed header does not escape the per-address lockout


@pytest.mark.parametrize("target", [
    "https://evil.example", "https://evil.example/", "//evil.example/path", "http://evil.example",
    "https:///evil.example", "/\\evil.example", "javascript:alert(1)",
])
def test_next_open_redirect_is_refused(client, target):
    make_user("hugo")
    r = login(client, "hugo", DEFAULT_PASSWORD, next=target)
    assert r.status_code == 302 and r["Location"] == "/"


def test_next_open_redirect_is_refused_in_the_query_string_too(client):
    make_user("iris")
    r = client.post("/login/?next=https://evil.example/", {"username": "iris", "password": DEFAULT_PASSWORD})
    assert r.status_code == 302 and r["Location"] == "/"
    page = Client().get("/login/?next=https://evil.example/")
    assert b"evil.example" not in page.content


def test_local_next_is_followed(client):
    make_user("jack")
    r = login(client, "jack", DEFAULT_PASSWORD, next="/authorize/?client_id=x&scope=openid")
    assert r["Location"] == "/authorize/?client_id=x&scope=openid"


def test_login_updates_session_auth_time(client):
    user = make_user("kate")
    client.force_login(user)
    session = client.session
    session["iam_auth_time"] = int(time.time()) - 3600
    session.save()
    before = int(time.time())
    r = login(client, "kate", DEFAULT_PASSWORD, reauth="1")
    assert r.status_code == 302
    assert client.session["iam_auth_time"] >= before and client.session["iam_amr"] == ["pwd"]


def test_signed_in_user_visiting_login_is_redirected_unless_reauth(client):
    user = make_user("liam")
    client.force_login(user)
    r = client.get("/login/?next=/account/")
    assert r.status_code == 302 and r["Location"] == "/account/"
    assert client.get("/login/?next=/account/&reauth=1").status_code == 200


def test_session_cookie_is_httponly_and_csrf_cookie_set_on_login_page(client):
    make_user("mona")
    page = client.get("/login/")
    assert "iam_csrftoken" in page.cookies
    r = login(client, "mona", DEFAULT_PASSWORD)
    cookie = r.cookies["iam_session"]
    assert cookie["httponly"] is True and cookie.value


def test_login_rotates_the_session_key(client):
    make_user("nina")
    client.get("/login/")
    session = client.session
    session["marker"] = "x"
    session.save()
    before = session.session_key
    login(client, "nina", DEFAULT_PASSWORD)
    assert client.session.session_key != before  # no session fixation


def test_wrong_password_page_does_not_reveal_whether_the_user_exists(client):
    make_user("otto")
    known = login(client, "otto", "wrong")
    unknown = login(Client(), "nobody-here", "wrong", addr="192.0.2.77")
    assert known.status_code == unknown.status_code == 401
    assert b"not correct" in known.content and b"not correct" in unknown.content
