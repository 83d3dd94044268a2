"""The authorization endpoint: code flow only, PKCE S256, consent, RFC 9207 iss, one-time codes."""

from urllib.parse import parse_qsl, urlsplit

import pytest
from django.test import Client

from iam.models import Consent
from tests.factories import make_client, make_user
from tests.iam.oauth import (
    ISSUER,
    REDIRECT,
    authorize_url,
    basic,
    obtain_code,
    pkce_pair,
    query_of,
    redeem_code,
    sign_in,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return make_user("alice")


@pytest.fixture
def portal(signing_key):
    return make_client("portal", grant_types=["authorization_code"], redirect_uris=[REDIRECT])


@pytest.fixture
def spa(signing_key):
    app, _ = make_client("spa", public=True, grant_types=["authorization_code"], redirect_uris=[REDIRECT])
    return app


def code_request(app, **overrides):
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": REDIRECT, "scope": "openid",
              "state": "xyz"}
    params.update(overrides)
    return authorize_url(**params)


def test_unknown_client_gets_error_page_not_redirect(client, user, portal):
    sign_in(client, user)
    app, _ = portal
    r = client.get(code_request(app, client_id="no-such-client"))
    assert r.status_code == 400 and "Location" not in r


def test_mismatching_redirect_uri_gets_error_page_not_redirect(client, user, portal):
    sign_in(client, user)
    app, _ = portal
    for uri in ("https://evil.example/cb", REDIRECT + "/", REDIRECT + "?x=1", "http://localhost:9999/cb"):
        r = client.get(code_request(app, redirect_uri=uri))
        assert r.status_code == 400 and "Location" not in r, uri


def test_unauthenticated_user_is_sent_to_login(client, portal):
    app, _ = portal
    r = client.get(code_request(app))
    assert r.status_code == 302 and r["Location"].startswith("/login/?")
    assert query_of(r["Location"])["next"].startswith("/authorize/?")


def test_prompt_none_without_session_is_login_required(client, portal):
    app, _ = portal
    r = client.get(code_request(app, prompt="none"))
    assert r.status_code == 302 and r["Location"].startswith(REDIRECT + "?")
    params = query_of(r["Location"])
    assert params["error"] == "login_required" and params["state"] == "xyz" and params["iss"] == ISSUER


@pytest.mark.parametrize("response_type", ["token", "id_token", "code id_token", "code token", "none"])
def test_response_type_other_than_code_is_refused(client, user, portal, response_type):
    sign_in(client, user)
    app, _ = portal
    r = client.get(code_request(app, response_type=response_type, nonce="n"))
    assert r.status_code == 302
    params = query_of(r["Location"])
    assert params["error"] == "unsupported_response_type" and "code" not in params
    assert "#" not in r["Location"]


def test_public_client_requires_pkce_s256(client, user, spa):
    sign_in(client, user)
    r = client.get(code_request(spa))
    assert r.status_code == 302
    params = query_of(r["Location"])
    assert params["error"] == "invalid_request" and params["state"] == "xyz" and "code" not in params


def test_pkce_plain_is_refused(client, user, spa, portal):
    sign_in(client, user)
    for app in (spa, portal[0]):
        for extra in ({"code_challenge": "a" * 43, "code_challenge_method": "plain"},
                      {"code_challenge": "a" * 43}):  # no method means plain (RFC 7636 §4.3)
            r = client.get(code_request(app, **extra))
            assert r.status_code == 302
            params = query_of(r["Location"])
            assert params.get("error") == "invalid_request" and "code" not in params, (app.name, extra)


def test_public_client_with_s256_gets_tokens_and_wrong_verifier_is_invalid_grant(client, user, spa):
    sign_in(client, user)
    verifier, challenge = pkce_pair()
    code = obtain_code(client, spa, challenge=challenge)
    wrong = redeem_code(client, spa, None, code, verifier=pkce_pair()[0])
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    code = obtain_code(client, spa, challenge=challenge)
    missing = redeem_code(client, spa, None, code)
    assert missing.status_code == 400 and missing.json()["error"] in ("invalid_request", "invalid_grant")
    code = obtain_code(client, spa, challenge=challenge)
    ok = redeem_code(client, spa, None, code, verifier=verifier)
    assert ok.status_code == 200 and ok.json()["id_token"]


def test_consent_page_has_csrf_token_and_consent_post_enforces_csrf(user, portal):
    app, _ = portal
    browser = Client(enforce_csrf_checks=True)
    sign_in(browser, user)
    url = code_request(app, scope="openid email")
    page = browser.get(url)
    assert page.status_code == 200 and b'name="csrfmiddlewaretoken"' in page.content
    assert b"email" in page.content
    assert page["X-Frame-Options"] == "DENY"  # no clickjacking of the Allow button
    forged = browser.post(url, {"decision": "allow"})
    assert forged.status_code == 403
    token = page.cookies["iam_csrftoken"].value
    ok = browser.post(url, {"decision": "allow", "csrfmiddlewaretoken": token})
    assert ok.status_code == 302 and "code" in query_of(ok["Location"])


def test_remembered_consent_skips_the_consent_page(client, user, portal):
    sign_in(client, user)
    app, _ = portal
    url = code_request(app, scope="openid profile")
    assert client.get(url).status_code == 200
    client.post(url, {"decision": "allow", "remember": "1"})
    assert Consent.objects.get(user=user, application=app).scopes == ["openid", "profile"]
    again = client.get(url)
    assert again.status_code == 302 and "code" in query_of(again["Location"])
    asked = client.get(code_request(app, scope="openid profile", prompt="consent"))
    assert asked.status_code == 200  # prompt=consent asks again
    wider = client.get(code_request(app, scope="openid profile email"))
    assert wider.status_code == 200 and b"email" in wider.content  # a new scope: asked again


def test_consent_not_remembered_without_remember(client, user, portal):
    sign_in(client, user)
    app, _ = portal
    url = code_request(app)
    client.post(url, {"decision": "allow"})
    assert not Consent.objects.filter(user=user).exists()
    assert client.get(url).status_code == 200


def test_deny_redirects_with_access_denied_state_and_iss(client, user, portal):
    sign_in(client, user)
    app, _ = portal
    r = client.post(code_request(app), {"decision": "deny"})
    assert r.status_code == 302 and r["Location"].startswith(REDIRECT + "?")
    params = query_of(r["Location"])
    assert params == {"error": "access_denied", "state": "xyz", "iss": ISSUER}


def test_successful_response_carries_code_state_and_iss(client, user, portal):
    sign_in(client, user)
    app, _ = portal
    r = client.post(code_request(app), {"decision": "allow"})
    params = query_of(r["Location"])
    assert set(params) == {"code", "state", "iss"}
    assert params["state"] == "xyz" and params["iss"] == ISSUER


def test_code_is_one_time(client, user, portal):
    sign_in(client, user)
    app, secret = portal
    code = obtain_code(client, app)
    first = redeem_code(client, app, secret, code)
    second = redeem_code(client, app, secret, code)
    assert first.status_code == 200
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"


def test_code_replay_revokes_tokens(client, user, signing_key):
    sign_in(client, user)
    app, secret = make_client("rt", grant_types=["authorization_code", "refresh_token"], redirect_uris=[REDIRECT])
    code = obtain_code(client, app)
    tokens = redeem_code(client, app, secret, code).json()
    assert client.get("/userinfo/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}").status_code == 200
    assert redeem_code(client, app, secret, code).status_code == 400
    assert client.get("/userinfo/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}").status_code == 401
    refreshed = client.post("/token/", {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                            HTTP_AUTHORIZATION=basic(app.client_id, secret))
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"


def test_code_bound_to_client_and_redirect_uri(client, user, portal, signing_key):
    sign_in(client, user)
    app, secret = portal
    other, other_secret = make_client("other", grant_types=["authorization_code"], redirect_uris=[REDIRECT])
    code = obtain_code(client, app)
    stolen = redeem_code(client, other, other_secret, code)
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    wrong_uri = redeem_code(client, app, secret, obtain_code(client, app), redirect_uri="http://127.0.0.1:9999/x")
    assert wrong_uri.status_code == 400 and wrong_uri.json()["error"] in ("invalid_grant", "invalid_request")


def test_disabled_client_gets_error_page_not_redirect(client, user, portal):
    from iam.models import Application

    sign_in(client, user)
    app, _ = portal
    Application.objects.filter(pk=app.pk).update(is_active=False)
    r = client.get(code_request(app))
    assert r.status_code == 400 and "Location" not in r


def test_scope_not_registered_is_invalid_scope_redirect(client, user, signing_key):
    sign_in(client, user)
    app, _ = make_client("narrow", grant_types=["authorization_code"], redirect_uris=[REDIRECT], scopes=["openid"])
    r = client.get(code_request(app, scope="openid email"))
    assert r.status_code == 302
    params = query_of(r["Location"])
    assert params["error"] == "invalid_scope" and params["state"] == "xyz" and params["iss"] == ISSUER


def test_prompt_none_without_remembered_consent_is_consent_required(client, user, portal):
    sign_in(client, user)
    app, _ = portal
    r = client.get(code_request(app, prompt="none"))
    params = query_of(r["Location"])
    assert params["error"] == "consent_required" and params["state"] == "xyz"
    client.post(code_request(app), {"decision": "allow", "remember": "1"})
    silent = client.get(code_request(app, prompt="none"))
    assert silent.status_code == 302 and "code" in query_of(silent["Location"])


def test_max_age_exceeded_requires_fresh_login(client, user, portal):
    import time

    sign_in(client, user, auth_time=int(time.time()) - 600)
    app, _ = portal
    r = client.get(code_request(app, max_age="60"))
    assert r.status_code == 302 and r["Location"].startswith("/login/?")
    assert query_of(r["Location"])["reauth"] == "1"
    fresh = client.get(code_request(app, max_age="3600"))
    assert fresh.status_code == 200  # consent page: the session is recent enough


def test_expired_code_is_invalid_grant(client, user, portal):
    from datetime import timedelta

    from django.utils import timezone

    from iam.models import Grant

    sign_in(client, user)
    app, secret = portal
    code = obtain_code(client, app)
    Grant.objects.update(expires=timezone.now() - timedelta(seconds=1))
    r = redeem_code(client, app, secret, code)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("name, error", [("request", "request_not_supported"),
                                         ("request_uri", "request_uri_not_supported")])
def test_request_objects_are_refused_not_ignored(client, user, portal, name, error):
    sign_in(client, user)
    app, _ = portal
    r = client.get(code_request(app, **{name: "eyJhbGciOiJub25lIn0.e30."}))
    assert r.status_code == 302
    params = query_of(r["Location"])
    assert params["error"] == error and params["state"] == "xyz" and "code" not in params


# -- response modes (OAuth 2.0 Multiple Response Type Encoding Practices, Form Post Response Mode)

def form_fields(html: str) -> tuple[str, dict[str, str]]:
    from html.parser import HTMLParser

    class Form(HTMLParser):
        action, fields = None, {}

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "form":
                Form.action = attrs["action"]
            elif tag == "input" and attrs.get("type") == "hidden":
                Form.fields[attrs["name"]] = attrs["value"]

    Form.fields = {}
    Form().feed(html)
    return Form.action, Form.fields


def test_response_mode_fragment_puts_the_response_in_the_fragment(client, user, portal):
    sign_in(client, user)
    app, _ = portal
    r = client.post(code_request(app, response_mode="fragment"), {"decision": "allow"})
    assert r.status_code == 302 and r["Location"].startswith(REDIRECT + "#")
    params = dict(parse_qsl(urlsplit(r["Location"]).fragment))
    assert set(params) == {"code", "state", "iss"} and params["state"] == "xyz"


def test_response_mode_form_post_posts_code_state_and_iss_to_the_redirect_uri(client, user, portal, signing_key):
    sign_in(client, user)
    app, secret = portal
    verifier, challenge = pkce_pair()
    r = client.post(code_request(app, response_mode="form_post", code_challenge=challenge,
                                 code_challenge_method="S256"), {"decision": "allow"})
    assert r.status_code == 200 and "Location" not in r
    assert r["Cache-Control"].startswith("max-age=0") and "no-store" in r["Cache-Control"]
    assert "script-src 'self'" in r["Content-Security-Policy"] and "unsafe-inline" not in r["Content-Security-Policy"]
    action, fields = form_fields(r.content.decode())
    assert action == REDIRECT and set(fields) == {"code", "state", "iss"}
    assert fields["state"] == "xyz" and fields["iss"] == ISSUER
    tokens = redeem_code(client, app, secret, fields["code"], verifier=verifier)
    assert tokens.status_code == 200 and tokens.json()["access_token"]


def test_errors_use_the_requested_response_mode(client, user, portal):
    sign_in(client, user)
    app, _ = portal
    r = client.post(code_request(app, response_mode="form_post"), {"decision": "deny"})
    action, fields = form_fields(r.content.decode())
    assert action == REDIRECT and fields == {"error": "access_denied", "state": "xyz", "iss": ISSUER}


def test_unsupported_response_mode_is_invalid_request_in_the_query(client, user, portal):
    sign_in(client, user)
    app, _ = portal
    r = client.get(code_request(app, response_mode="web_message"))
    assert r.status_code == 302
    params = query_of(r["Location"])
    assert params["error"] == "invalid_request" and "response_mode" in params["error_description"]
    assert params["state"] == "xyz"


def test_registered_query_of_the_redirect_uri_is_kept_verbatim(client, user, signing_key):
    registered = "https://portal.example/cb?tenant=a%2Fb&x="
    app, _ = make_client("tenant-portal", grant_types=["authorization_code"], redirect_uris=[registered])
    sign_in(client, user)
    r = client.post(code_request(app, redirect_uri=registered), {"decision": "allow"})
    assert r["Location"].startswith(registered + "&code=")
