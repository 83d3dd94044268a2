"""Browser-facing pages: a strict Content-Security-Policy, no inline code, no framing."""

import pytest

pytestmark = pytest.mark.django_db


def test_login_page_has_a_strict_content_security_policy(client):
    r = client.get("/login/")
    assert r.status_code == 200
    csp = r["Content-Security-Policy"]
    for directive in ("default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'",
                      "base-uri 'none'"):
        assert directive in csp
    assert "unsafe-inline" not in csp and r["X-Frame-Options"] == "DENY"
    html = r.content.decode()
    assert "<style" not in html and "style=" not in html and "<script>" not in html


def test_pages_get_their_stylesheet_from_our_own_origin(client):
    html = client.get("/login/").content.decode()
    assert 'href="/static/iam/site.css"' in html
    css = client.get("/static/iam/site.css")
    assert css.status_code == 200 and b"font-family" in b"".join(css.streaming_content)


def test_json_endpoints_carry_no_page_policy(client, signing_key):
    r = client.get("/.well-known/openid-configuration")
    assert r.status_code == 200 and "Content-Security-Policy" not in r


def test_admin_may_use_inline_styles_only(client):
    csp = client.get("/admin/login/")["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in csp and "script-src 'self';" in csp


@pytest.mark.parametrize("path", ["/token/", "/introspect/", "/userinfo/", "/jwks/",
                                  "/.well-known/openid-configuration"])
def test_machine_endpoints_keep_security_headers_and_host_check(client, signing_key, path):
    """They skip the session/CSRF/messages middleware (iam.middleware.ProtocolEndpointsMiddleware)
    but not SecurityMiddleware's headers nor the ALLOWED_HOSTS check."""
    r = client.get(path)
    assert r["X-Content-Type-Options"] == "nosniff"
    assert not r.cookies
    assert client.get(path, HTTP_HOST="evil.example").status_code == 400
