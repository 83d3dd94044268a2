"""A minimal scripted browser (httpx with cookies) for IAM's HTML forms."""

from __future__ import annotations

import html
import re

import httpx


def csrf(page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def field(page: str, name: str) -> str:
    return html.unescape(re.search(rf'name="{name}" value="([^"]*)"', page).group(1))


def absolute(base: str, location: str) -> str:
    return base + location if location.startswith("/") else location


def login(base: str, browser: httpx.Client, login_url: str, username: str, password: str) -> httpx.Response:
    """Fill the login form at ``login_url``; returns the response to the POST."""
    page = browser.get(absolute(base, login_url))
    assert page.status_code == 200, page.text
    return browser.post(base + "/login/", data={
        "csrfmiddlewaretoken": csrf(page.text), "username": username, "password": password,
        "next": field(page.text, "next"), "reauth": field(page.text, "reauth"),
    })


def consent_form_action(page: str) -> str:
    return html.unescape(re.search(r'<form method="post" action="([^"]+)"', page).group(1))


def authorize(base: str, browser: httpx.Client, authorize_url: str, username: str | None = None,
              password: str | None = None, decision: str = "allow", remember: bool = True) -> httpx.Response:
    """Follow an authorization request like a person would; returns IAM's final response.

    Logs in when asked to (with ``username``/``password``), answers the consent page with
    ``decision``. The last response is returned unfollowed (normally a 302 to the client).
    """
    r = browser.get(authorize_url)
    if r.status_code == 302 and "/login/" in r.headers["location"]:
        assert username is not None, "login was required"
        r = login(base, browser, r.headers["location"], username, password)
        assert r.status_code == 302, r.text
        r = browser.get(absolute(base, r.headers["location"]))
    if r.status_code == 200 and 'name="decision"' in r.text:
        data = {"csrfmiddlewaretoken": csrf(r.text), "decision": decision}
        if remember:
            data["remember"] = "1"
        r = browser.post(base + consent_form_action(r.text), data=data)
    return r


def login_and_authorize(base: str, browser: httpx.Client, authorize_url: str, username: str, password: str) -> str:
    r = authorize(base, browser, authorize_url, username, password)
    assert r.status_code == 302, r.text
    return r.headers["location"]
