"""The authorization endpoint: code flow only, PKCE S256, consent, RFC 9207 iss, one-time codes."""

import time
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.test import Client

from iam.claims import id_token_claims
from iam.keys import b64url, key_store
from iam.models import Consent
from iam.services.consents import remember_consent
from tests.factories import DEFAULT_PASSWORD, make_client, make_user
from tests.iam.oauth import (
    ISSUER,
    REDIRECT,
    authorize_url,
    basic,
    code_flow_tokens,
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
    r = client.get(code_request(spa, code_challenge=None))
    assert r.status_code == 302
    params = query_of(r["Location"])
    assert params["error"] == "invalid_request" and params["state"] == "xyz" and "code" not in params


def test_confidential_clients_require_pkce_unless_registered_without_it(client, user, signing_key):
    """RFC 9700 §2.1.1: PKCE for every client by default; --no-pkce only for legacy ones."""
    from tests.factories import make_client

    sign_in(client, user)
    secure, _ = make_client("secure", grant_types=["authorization_code"], redirect_uris=[REDIRECT])
    params = query_of(client.get(code_request(secure, code_challenge=None))["Location"])
    assert params["error"] == "invalid_request" and "code" not in params
    legacy, _ = make_client("legacy", grant_types=["authorization_code"], redirect_uris=[REDIRECT],
                            pkce_required=False, skip_consent=True)
    assert "code" in query_of(client.get(code_request(legacy, code_challenge=None))["Location"])


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
    assert params == {"error": "access_denied", "error_description": "the user denied the request", "state": "xyz",
                      "iss": ISSUER}


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
    assert action == REDIRECT
    assert fields == {"error": "access_denied", "error_description": "the user denied the request", "state": "xyz",
                      "iss": ISSUER}


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


# -- prompt=login and max_age survive the trip through the login form (OIDC Core §3.1.2.1)

def remember(user, app, scopes=("openid",)):
    """Remembered consent: a request that passes the login checks gets a code at once."""
    remember_consent(actor="tests", user=user, application=app, scopes=list(scopes))


def login_next(response) -> str:
    """The return URL of a redirect to the login form."""
    assert response.status_code == 302 and response["Location"].startswith("/login/?"), response.get("Location")
    return query_of(response["Location"])["next"]


def log_in(client, user, next_url):
    """The login form, filled in: a fresh sign-in, then back to ``next_url``."""
    r = client.post("/login/", {"username": user.username, "password": DEFAULT_PASSWORD, "next": next_url,
                                "reauth": "1"})
    assert r.status_code == 302 and r["Location"] == next_url
    return client.get(next_url)


def test_prompt_login_return_url_without_a_new_login_gets_no_code(client, user, portal):
    app, _ = portal
    sign_in(client, user, auth_time=int(time.time()) - 30)
    remember(user, app)
    next_url = login_next(client.get(code_request(app, prompt="login")))
    again = client.get(next_url)  # whoever holds the session skips the login form
    assert "code" not in query_of(again["Location"])
    assert again["Location"].startswith("/login/?")


def test_prompt_login_is_met_by_signing_in_again(client, user, portal):
    app, _ = portal
    sign_in(client, user, auth_time=int(time.time()) - 30)
    remember(user, app)
    next_url = login_next(client.get(code_request(app, prompt="login")))
    r = log_in(client, user, next_url)
    assert r.status_code == 302 and "code" in query_of(r["Location"])


def test_max_age_return_url_without_a_new_login_gets_no_code(client, user, portal):
    app, _ = portal
    sign_in(client, user, auth_time=int(time.time()) - 600)
    remember(user, app)
    next_url = login_next(client.get(code_request(app, max_age="60")))
    again = client.get(next_url)
    assert "code" not in query_of(again["Location"])
    assert again["Location"].startswith("/login/?")
    r = log_in(client, user, login_next(again))
    assert r.status_code == 302 and "code" in query_of(r["Location"])


def test_max_age_zero_is_met_by_signing_in_again_without_a_loop(client, user, portal):
    app, _ = portal
    sign_in(client, user, auth_time=int(time.time()) - 30)
    remember(user, app)
    next_url = login_next(client.get(code_request(app, max_age="0")))
    assert client.get(next_url)["Location"].startswith("/login/?")
    r = log_in(client, user, next_url)
    assert r.status_code == 302 and "code" in query_of(r["Location"])


def test_prompt_none_with_max_age_exceeded_is_login_required(client, user, portal):
    app, _ = portal
    sign_in(client, user, auth_time=int(time.time()) - 600)
    remember(user, app)
    r = client.get(code_request(app, prompt="none", max_age="60"))
    params = query_of(r["Location"])
    assert params["error"] == "login_required" and "max_age" in params["error_description"]


@pytest.mark.parametrize("misuse", ["other request", "tampered", "expired"])
def test_login_marker_serves_only_its_own_request_and_only_for_a_while(client, user, portal, monkeypatch, misuse):
    from iam.views import authorize

    app, _ = portal
    sign_in(client, user, auth_time=int(time.time()) - 30)
    remember(user, app)
    first = login_next(client.get(code_request(app, prompt="login", state="a")))
    marker = query_of(first)[authorize.LOGIN_AFTER_PARAM]
    r = client.post("/login/", {"username": user.username, "password": DEFAULT_PASSWORD, "next": first})
    assert r.status_code == 302
    if misuse == "other request":
        url = code_request(app, prompt="login", state="b", **{authorize.LOGIN_AFTER_PARAM: marker})
    elif misuse == "tampered":
        url = code_request(app, prompt="login", state="a", **{authorize.LOGIN_AFTER_PARAM: marker[:-2] + "xx"})
    else:
        monkeypatch.setattr(authorize, "LOGIN_WINDOW", -1)
        url = first
    again = client.get(url)
    assert again["Location"].startswith("/login/?") and "code" not in query_of(again["Location"])


# -- id_token_hint (OIDC Core §3.1.2.1)

def id_token_for(user, app, *, age=0):
    """An ID token as the token endpoint signs it, issued ``age`` seconds ago."""
    claims = id_token_claims(user=user, client=app, scopes=["openid"], now=int(time.time()) - age, auth_time=None,
                             amr=["pwd"])
    return key_store.sign(claims, typ="JWT")


@pytest.fixture
def bob():
    return make_user("bob")


def test_id_token_hint_of_another_user_with_prompt_none_is_login_required(client, user, bob, portal):
    app, _ = portal
    sign_in(client, bob)
    remember(bob, app)
    r = client.get(code_request(app, prompt="none", id_token_hint=id_token_for(user, app)))
    params = query_of(r["Location"])
    assert params["error"] == "login_required" and "code" not in params
    assert "id_token_hint" in params["error_description"] and params["state"] == "xyz"


def test_id_token_hint_of_the_signed_in_user_gets_a_code_even_when_expired(client, user, portal):
    app, _ = portal
    sign_in(client, user)
    remember(user, app)
    r = client.get(code_request(app, prompt="none", id_token_hint=id_token_for(user, app, age=86400)))
    assert r.status_code == 302 and "code" in query_of(r["Location"])


def test_id_token_hint_of_another_user_is_met_by_signing_in_as_that_user(client, user, bob, portal):
    app, secret = portal
    sign_in(client, bob, auth_time=int(time.time()) - 30)
    remember(user, app)
    next_url = login_next(client.get(code_request(app, id_token_hint=id_token_for(user, app))))
    assert client.get(next_url)["Location"].startswith("/login/?")
    r = log_in(client, user, next_url)
    code = query_of(r["Location"])["code"]
    id_token = redeem_code(client, app, secret, code).json()["id_token"]
    assert key_store.verify(id_token)[1]["sub"] == str(user.pk)


def test_id_token_hint_of_another_user_after_signing_in_as_someone_else_is_login_required(client, user, bob, portal):
    app, _ = portal
    sign_in(client, bob, auth_time=int(time.time()) - 30)
    remember(bob, app)
    next_url = login_next(client.get(code_request(app, id_token_hint=id_token_for(user, app))))
    r = log_in(client, bob, next_url)  # no loop back to the login form
    params = query_of(r["Location"])
    assert params["error"] == "login_required" and "code" not in params


@pytest.mark.parametrize("kind", ["garbage", "access token", "other client", "other issuer", "malformed header"])
def test_invalid_id_token_hint_is_invalid_request(client, user, portal, signing_key, kind):
    app, secret = portal
    if kind == "garbage":
        hint = "not.a.token"
    elif kind == "access token":
        hint = code_flow_tokens(client, app, secret, user)["access_token"]
    elif kind == "other client":
        other, _ = make_client("other", grant_types=["authorization_code"], redirect_uris=[REDIRECT])
        hint = id_token_for(user, other)
    elif kind == "other issuer":
        claims = id_token_claims(user=user, client=app, scopes=["openid"], now=int(time.time()), auth_time=None,
                                 amr=[])
        hint = key_store.sign({**claims, "iss": "https://other.example"}, typ="JWT")
    else:
        hint = b64url(b'{"kid": ["x"], "alg": "RS256"}') + "." + b64url(b"{}") + ".c2ln"
    sign_in(client, user)
    remember(user, app)
    r = client.get(code_request(app, prompt="none", id_token_hint=hint))
    assert r.status_code == 302
    params = query_of(r["Location"])
    assert params["error"] == "invalid_request" and "code" not in params
    assert "id_token_hint" in params["error_description"]


# -- POST authorization requests (OIDC Core §3.1.2.1)

def code_params(app, **overrides):
    return dict(query_of(code_request(app, **overrides)))


def test_authorization_request_by_post_gets_the_consent_page_and_a_code(user, portal):
    app, secret = portal
    browser = Client(enforce_csrf_checks=True)
    sign_in(browser, user)
    verifier, challenge = pkce_pair()
    page = browser.post("/authorize/", code_params(app, code_challenge=challenge, code_challenge_method="S256"))
    assert page.status_code == 200 and b'name="decision"' in page.content
    action = form_fields(page.content.decode())[0]
    assert query_of(action)["code_challenge"] == challenge  # the consent answer carries the request
    token = page.cookies["iam_csrftoken"].value
    r = browser.post(action, {"decision": "allow", "csrfmiddlewaretoken": token})
    code = query_of(r["Location"])["code"]
    assert redeem_code(browser, app, secret, code).status_code == 400  # oauthlib saw the PKCE challenge
    code = query_of(browser.post(action, {"decision": "allow", "csrfmiddlewaretoken": token})["Location"])["code"]
    assert redeem_code(browser, app, secret, code, verifier=verifier).status_code == 200


def test_authorization_request_by_post_with_remembered_consent_gets_a_code(client, user, portal):
    app, _ = portal
    sign_in(client, user)
    remember(user, app)
    r = client.post("/authorize/", code_params(app, prompt="none"))
    assert r.status_code == 302 and r["Location"].startswith(REDIRECT + "?")
    assert set(query_of(r["Location"])) == {"code", "state", "iss"}


def test_consent_answer_without_csrf_token_is_refused(user, portal):
    app, _ = portal
    browser = Client(enforce_csrf_checks=True)
    sign_in(browser, user)
    page = browser.post("/authorize/", code_params(app))
    action = form_fields(page.content.decode())[0]
    assert browser.post(action, {"decision": "allow"}).status_code == 403
    # The decision with the request in the body is still a consent answer.
    assert browser.post("/authorize/", {**code_params(app), "decision": "allow"}).status_code == 403


def test_authorization_request_by_post_without_session_is_asked_again_by_get(client, portal):
    """A cross-site POST carries no SameSite=Lax session cookie; the GET it is sent to does."""
    app, _ = portal
    r = client.post("/authorize/", code_params(app, prompt="none"))
    assert r.status_code == 303 and r["Location"].startswith("/authorize/?")
    assert query_of(r["Location"]) == code_params(app, prompt="none")
    silent = client.get(r["Location"])
    assert query_of(silent["Location"])["error"] == "login_required"


def test_authorization_request_by_post_with_parameters_in_the_url_too_is_refused(client, user, portal):
    app, _ = portal
    sign_in(client, user)
    r = client.post(code_request(app), code_params(app))
    assert r.status_code == 400 and "Location" not in r


# -- every redirected error says why


@pytest.mark.parametrize("case", [
    "missing response_type", "unsupported response_type", "pkce plain", "no pkce for public client",
    "unsupported response_mode", "invalid scope", "request object", "prompt none and login", "login_required",
    "consent_required", "access_denied",
])
def test_redirected_errors_carry_an_error_description(client, user, portal, spa, signing_key, case):
    app, _ = portal
    if case != "login_required":
        sign_in(client, user)
    method, url = client.get, None
    if case == "missing response_type":
        url = code_request(app, response_type=None)
    elif case == "unsupported response_type":
        url = code_request(app, response_type="token")
    elif case == "pkce plain":
        url = code_request(app, code_challenge="a" * 43, code_challenge_method="plain")
    elif case == "no pkce for public client":
        url = code_request(spa, code_challenge=None)
    elif case == "unsupported response_mode":
        url = code_request(app, response_mode="web_message")
    elif case == "invalid scope":
        narrow, _ = make_client("narrow", grant_types=["authorization_code"], redirect_uris=[REDIRECT],
                                scopes=["openid"])
        url = code_request(narrow, scope="openid email")
    elif case == "request object":
        url = code_request(app, request="eyJhbGciOiJub25lIn0.e30.")
    elif case == "prompt none and login":
        url = code_request(app, prompt="none login")
    elif case in ("login_required", "consent_required"):
        url = code_request(app, prompt="none")
    else:
        url, method = code_request(app), lambda u: client.post(u, {"decision": "deny"})
    r = method(url)
    assert r.status_code == 302 and r["Location"].startswith(REDIRECT + "?"), r.content
    params = query_of(r["Location"])
    description = params.get("error_description", "")
    assert params["error"] and description, params
    assert description[0] == description[0].lower() and not description.endswith("."), description
