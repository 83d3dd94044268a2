"""Local login: CSRF, Argon2id, throttling per account and per address, safe redirects."""

import pytest
from django.test import Client

from tests.factories import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.django_db


def post_login(client, username, password, **extra):
    return client.post("/login/", {"username": username, "password": password, **extra}, **{
        "REMOTE_ADDR": extra.pop("addr", "192.0.2.1")})


def test_login_form_has_csrf_and_csrf_is_enforced():
    make_user("alice")
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/login/")
    assert page.status_code == 200 and b'name="csrfmiddlewaretoken"' in page.content
    refused = browser.post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD})
    assert refused.status_code == 403
    token = page.cookies["iam_csrftoken"].value
    ok = browser.post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD, "csrfmiddlewaretoken": token})
    assert ok.status_code == 302


def test_passwords_are_hashed_with_argon2id():
    user = make_user("bob")
    assert user.password.startswith("argon2$argon2id$")


def test_wrong_password_shows_error_and_no_session(client):
    make_user("carol")
    r = post_login(client, "carol", "wrong")
    assert r.status_code == 401 and b"not correct" in r.content
    assert "_auth_user_id" not in client.session


def test_successful_login_records_auth_time_and_secure_cookie_flags(client):
    make_user("dave")
    r = post_login(client, "dave", DEFAULT_PASSWORD)
    assert r.status_code == 302
    assert isinstance(client.session["iam_auth_time"], int) and client.session["iam_amr"] == ["pwd"]
    cookie = r.cookies["iam_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_account_locked_after_five_failures_even_with_right_password(client):
    make_user("erin")
    statuses = [post_login(client, "erin", "wrong").status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 429]  # the fifth failure locks
    r = post_login(client, "erin", DEFAULT_PASSWORD)
    assert r.status_code == 429 and "_auth_user_id" not in client.session


def test_address_locked_after_twenty_failures(client):
    make_user("frank")
    for i in range(20):
        post_login(client, f"nobody{i}", "wrong", addr="198.51.100.7")
    r = post_login(client, "frank", DEFAULT_PASSWORD, addr="198.51.100.7")
    assert r.status_code == 429
    other = Client()
    assert post_login(other, "frank", DEFAULT_PASSWORD, addr="198.51.100.8").status_code == 302


def test_next_to_another_site_is_refused(client):
    make_user("gina")
    r = post_login(client, "gina", DEFAULT_PASSWORD, next="https://evil.example/")
    assert r.status_code == 302 and r["Location"] == "/"
    r = post_login(Client(), "gina", DEFAULT_PASSWORD, next="/authorize/?x=1")
    assert r["Location"] == "/authorize/?x=1"


def test_inactive_user_cannot_log_in(client):
    user = make_user("hank")
    user.is_active = False
    user.save()
    assert post_login(client, "hank", DEFAULT_PASSWORD).status_code == 401


def test_logout_needs_post_with_csrf():
    make_user("ivy")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(__import__("accounts.models", fromlist=["User"]).User.objects.get(username="ivy"))
    assert browser.get("/logout/").status_code == 200 and "_auth_user_id" in browser.session
    assert browser.post("/logout/").status_code == 403


def test_username_is_case_insensitive_at_sign_in(client):
    make_user("Jane")
    assert post_login(client, "jane", DEFAULT_PASSWORD).status_code == 302
