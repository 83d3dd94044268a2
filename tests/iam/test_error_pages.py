"""404 and 500 pages use the site layout (templates/base.html); DEBUG is off in tests."""

import pytest
from django.conf import settings
from django.test import RequestFactory
from django.urls import get_resolver

from iam.conf import config
from iam.views import discovery

LAYOUT_STYLESHEET = '<link rel="stylesheet" href="/static/iam/site.css">'


def header(organisation):
    return f'<header><p class="muted">{organisation}'


@pytest.mark.django_db
def test_page_not_found_uses_the_site_layout(client):
    assert settings.DEBUG is False
    r = client.get("/no/such/page/")
    assert r.status_code == 404 and r["Content-Type"].startswith("text/html")
    body = r.content.decode()
    assert LAYOUT_STYLESHEET in body and header(config.organisation_name) in body
    assert "<title>Page not found · " in body and "<h1>Page not found</h1>" in body
    assert "Content-Security-Policy" in r


def test_server_error_page_uses_the_layout_without_request_context_or_database():
    # No django_db mark: any query (a session, request.user) would raise here.
    handler = get_resolver().resolve_error_handler(500)
    r = handler(RequestFactory().get("/"))
    body = r.content.decode()
    assert r.status_code == 500
    assert LAYOUT_STYLESHEET in body and header(config.organisation_name) in body
    assert f"<title>Server error · {config.organisation_name}</title>" in body


@pytest.mark.django_db
def test_unhandled_exception_answers_with_the_500_page(client, monkeypatch):
    def broken():
        raise RuntimeError("boom")

    monkeypatch.setattr(discovery, "provider_metadata", broken)
    client.raise_request_exception = False
    r = client.get("/.well-known/openid-configuration")
    assert r.status_code == 500
    body = r.content.decode()
    assert LAYOUT_STYLESHEET in body and "<h1>Something went wrong</h1>" in body and "boom" not in body
