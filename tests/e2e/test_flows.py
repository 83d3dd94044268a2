"""End-to-end rules of the authorization server, against gunicorn, with real clients."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt

from tests.e2e.browser import authorize, csrf, field, login
from tests.e2e.oidc import PASSWORD, REDIRECT, auth_url, code_tokens, introspect, portal, redeem, unique

pytestmark = pytest.mark.e2e


# -- client credentials and JWT access tokens -------------------------------------------------

def test_client_credentials_jwt_access_token_verifies_against_jwks(deployment, meta, jwks):
    svc = deployment.create_client(unique("svc"), "--grant-type", "client_credentials", "--audience", "storage")
    session = OAuth2Client(svc["client_id"], svc["client_secret"])
    token = session.fetch_token(meta["token_endpoint"], grant_type="client_credentials", audience="storage")
    decoded = jwt.decode(token["access_token"], jwks)
    assert decoded.header["typ"] == "at+jwt" and decoded.header["kid"]
    claims = decoded.claims
    assert {"iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"} <= set(claims)
    assert claims["iss"] == meta["issuer"] and claims["aud"] == "storage"
    assert claims["sub"] == claims["client_id"] == svc["client_id"]
    assert claims["exp"] - claims["iat"] == token["expires_in"]


def test_unregistered_audience_is_invalid_target(deployment, meta):
    svc = deployment.create_client(unique("svc"), "--grant-type", "client_credentials", "--audience", "storage")
    r = httpx.post(meta["token_endpoint"], data={"grant_type": "client_credentials", "audience": "elsewhere"},
                   auth=(svc["client_id"], svc["client_secret"]))
    assert r.status_code == 400 and r.json()["error"] == "invalid_target"


# -- refresh tokens ------------------------------------------------------------------------------

def test_refresh_token_rotates_and_reuse_revokes_family(deployment, meta, resource_server, shared_user):
    user = shared_user
    client = portal(deployment)
    first = code_tokens(deployment, meta, client, user, scope="openid offline_access")
    auth = (client["client_id"], client["client_secret"])
    second = httpx.post(meta["token_endpoint"], data={"grant_type": "refresh_token",
                                                      "refresh_token": first["refresh_token"]}, auth=auth)
    assert second.status_code == 200, second.text
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert introspect(meta, resource_server, second["access_token"])["active"] is True
    # The old refresh token again: refused, and the whole family is revoked.
    replay = httpx.post(meta["token_endpoint"], data={"grant_type": "refresh_token",
                                                      "refresh_token": first["refresh_token"]}, auth=auth)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    newest = httpx.post(meta["token_endpoint"], data={"grant_type": "refresh_token",
                                                      "refresh_token": second["refresh_token"]}, auth=auth)
    assert newest.status_code == 400 and newest.json()["error"] == "invalid_grant"
    assert introspect(meta, resource_server, second["access_token"])["active"] is False


def test_refresh_returns_new_id_token_with_original_auth_time(deployment, meta, jwks, shared_user):
    user = shared_user
    client = portal(deployment)
    first = code_tokens(deployment, meta, client, user, scope="openid")
    time.sleep(1.1)
    r = httpx.post(meta["token_endpoint"], auth=(client["client_id"], client["client_secret"]),
                   data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert r.status_code == 200, r.text
    a = jwt.decode(first["id_token"], jwks).claims
    b = jwt.decode(r.json()["id_token"], jwks).claims
    assert b["auth_time"] == a["auth_time"] and b["iat"] > a["iat"] and b["sub"] == a["sub"]


# -- authorization codes and PKCE ------------------------------------------------------------------

def test_code_replay_revokes_tokens(deployment, meta, resource_server, shared_user):
    user = shared_user
    client = portal(deployment)
    url, verifier, _ = auth_url(meta, client, scope="openid")
    with httpx.Client() as browser:
        location = authorize(deployment.url, browser, url, user, PASSWORD).headers["location"]
    first = redeem(meta, client, location, verifier)
    assert first.status_code == 200
    assert introspect(meta, resource_server, first.json()["access_token"])["active"] is True
    again = redeem(meta, client, location, verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert introspect(meta, resource_server, first.json()["access_token"])["active"] is False
    refresh = httpx.post(meta["token_endpoint"], data={"grant_type": "refresh_token",
                                                       "refresh_token": first.json()["refresh_token"]},
                         auth=(client["client_id"], client["client_secret"]))
    assert refresh.status_code == 400


def test_public_client_requires_pkce(deployment, meta, shared_user, spa):
    user = shared_user
    public = spa
    url, _, state = auth_url(meta, public, code_challenge=None, code_challenge_method=None)
    with httpx.Client() as browser:
        r = authorize(deployment.url, browser, url, user, PASSWORD)
    assert r.status_code == 302
    query = parse_qs(urlsplit(r.headers["location"]).query)
    assert r.headers["location"].startswith(REDIRECT)
    assert query["error"] == ["invalid_request"] and query["state"] == [state] and "code" not in query


def test_pkce_plain_method_refused(deployment, meta, shared_user, spa):
    user = shared_user
    public = spa
    url, _, _ = auth_url(meta, public, code_challenge="a" * 50, code_challenge_method="plain")
    with httpx.Client() as browser:
        r = authorize(deployment.url, browser, url, user, PASSWORD)
    assert r.status_code == 302
    query = parse_qs(urlsplit(r.headers["location"]).query)
    assert "code" not in query and query["error"][0] in ("invalid_request",)


def test_pkce_wrong_verifier_is_invalid_grant(deployment, meta, shared_user, spa):
    user = shared_user
    public = spa
    url, verifier, _ = auth_url(meta, public, scope="openid")
    with httpx.Client() as browser:
        location = authorize(deployment.url, browser, url, user, PASSWORD).headers["location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    r = httpx.post(meta["token_endpoint"], data={"grant_type": "authorization_code", "code": code,
                                                 "redirect_uri": REDIRECT, "client_id": public["client_id"],
                                                 "code_verifier": verifier[::-1]})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    ok = httpx.post(meta["token_endpoint"], data={"grant_type": "authorization_code", "code": code,
                                                  "redirect_uri": REDIRECT, "client_id": public["client_id"],
                                                  "code_verifier": verifier})
    # A failed attempt changes nothing: the code is not spent, the right verifier still works.
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize("bad_redirect", [
    REDIRECT + "?x=1", REDIRECT + "/", "http://127.0.0.1:9998/cb", "http://localhost:9999/cb", "https://evil.example/cb",
])
def test_redirect_uri_must_match_exactly_else_error_page(deployment, meta, bad_redirect, shared_portal):
    client = shared_portal
    url, _, _ = auth_url(meta, client, redirect_uri=bad_redirect)
    r = httpx.get(url)
    assert 400 <= r.status_code < 500 and "location" not in r.headers
    assert "text/html" in r.headers["content-type"]


def test_unknown_client_gets_error_page_not_redirect(deployment, meta):
    url, _, _ = auth_url(meta, {"client_id": "no-such-client"})
    r = httpx.get(url)
    assert 400 <= r.status_code < 500 and "location" not in r.headers
    assert "text/html" in r.headers["content-type"]


# -- prompt, max_age, consent ----------------------------------------------------------------------

def test_prompt_none_without_session_is_login_required(deployment, meta, shared_portal):
    client = shared_portal
    url, _, state = auth_url(meta, client, prompt="none")
    r = httpx.get(url)
    assert r.status_code == 302
    query = parse_qs(urlsplit(r.headers["location"]).query)
    assert query["error"] == ["login_required"] and query["state"] == [state] and query["iss"] == [meta["issuer"]]


def test_prompt_none_without_consent_is_consent_required(deployment, meta):
    user = unique("pn")
    deployment.create_user(user, PASSWORD)
    client = portal(deployment)
    with httpx.Client() as browser:
        r = login(deployment.url, browser, "/login/", user, PASSWORD)
        assert r.status_code == 302
        url, _, state = auth_url(meta, client, prompt="none")
        r = browser.get(url)
    query = parse_qs(urlsplit(r.headers["location"]).query)
    assert query["error"] == ["consent_required"] and query["state"] == [state]


def test_remembered_consent_skips_page_and_prompt_consent_shows_it(deployment, meta):
    user = unique("rc")
    deployment.create_user(user, PASSWORD)
    client = portal(deployment)
    with httpx.Client() as browser:
        code_tokens(deployment, meta, client, user, browser=browser)
        url, _, _ = auth_url(meta, client)
        again = browser.get(url)
        assert again.status_code == 302 and "code=" in again.headers["location"]
        silent = browser.get(auth_url(meta, client, prompt="none")[0])
        assert "code=" in silent.headers["location"]
        forced = browser.get(auth_url(meta, client, prompt="consent")[0])
        assert forced.status_code == 200 and 'name="decision"' in forced.text


def test_consent_denied_returns_access_denied(deployment, meta):
    user = unique("deny")
    deployment.create_user(user, PASSWORD)
    client = portal(deployment)
    url, _, state = auth_url(meta, client)
    with httpx.Client() as browser:
        r = authorize(deployment.url, browser, url, user, PASSWORD, decision="deny")
    query = parse_qs(urlsplit(r.headers["location"]).query)
    assert query["error"] == ["access_denied"] and query["state"] == [state]


def test_form_post_response_mode_delivers_the_code_by_post(deployment, meta, jwks):
    assert "form_post" in meta["response_modes_supported"]
    user = unique("fp")
    deployment.create_user(user, PASSWORD)
    client = portal(deployment)
    url, verifier, state = auth_url(meta, client, response_mode="form_post")
    with httpx.Client() as browser:
        page = authorize(deployment.url, browser, url, user, PASSWORD)
        assert page.status_code == 200 and "location" not in page.headers
        assert "unsafe-inline" not in page.headers["content-security-policy"]
        assert f'action="{REDIRECT}"' in page.text
        script = re.search(r'<script src="([^"]+)"', page.text).group(1)
        assert browser.get(deployment.url + script).status_code == 200  # the auto-submit, same origin
    assert field(page.text, "state") == state and field(page.text, "iss") == deployment.issuer
    tokens = redeem(meta, client, "?code=" + field(page.text, "code"), verifier)
    assert tokens.status_code == 200, tokens.text
    assert jwt.decode(tokens.json()["id_token"], jwks).claims["aud"] == client["client_id"]


def test_prompt_login_forces_the_login_form(deployment, meta, jwks):
    user = unique("pl")
    deployment.create_user(user, PASSWORD)
    client = portal(deployment)
    with httpx.Client() as browser:
        first = code_tokens(deployment, meta, client, user, scope="openid", browser=browser)
        time.sleep(1.1)
        # The session is live, yet prompt=login sends the person to the login form again ...
        r = browser.get(auth_url(meta, client, scope="openid", prompt="login")[0])
        assert r.status_code == 302 and urlsplit(r.headers["location"]).path == "/login/"
        # ... and the ID token issued after that login says so.
        second = code_tokens(deployment, meta, client, user, scope="openid", browser=browser, prompt="login")
    a = jwt.decode(first["id_token"], jwks).claims
    b = jwt.decode(second["id_token"], jwks).claims
    assert b["auth_time"] > a["auth_time"]


def test_max_age_zero_forces_reauthentication(deployment, meta, jwks):
    user = unique("ma")
    deployment.create_user(user, PASSWORD)
    client = portal(deployment)
    with httpx.Client() as browser:
        first = code_tokens(deployment, meta, client, user, scope="openid", browser=browser)
        time.sleep(1.1)
        r = browser.get(auth_url(meta, client, scope="openid", max_age="0")[0])
        assert r.status_code == 302 and urlsplit(r.headers["location"]).path == "/login/"
        second = code_tokens(deployment, meta, client, user, scope="openid", browser=browser, max_age="0")
    a = jwt.decode(first["id_token"], jwks).claims
    b = jwt.decode(second["id_token"], jwks).claims
    assert b["auth_time"] > a["auth_time"]


# -- device flow ---------------------------------------------------------------------------------

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def device_client(deployment):
    return deployment.create_client(unique("cli"), "--public", "--grant-type", DEVICE_GRANT,
                                    "--grant-type", "refresh_token")


def approve_device(deployment, user, user_code, action="accept"):
    """A person signs in, types the user code on /device/ and answers the confirm page."""
    with httpx.Client() as browser:
        r = login(deployment.url, browser, "/login/?next=/device/", user, PASSWORD)
        assert r.status_code == 302, r.text
        page = browser.get(deployment.url + r.headers["location"])
        assert page.status_code == 200, page.text
        r = browser.post(deployment.url + "/device/", data={"csrfmiddlewaretoken": csrf(page.text),
                                                            "user_code": user_code})
        assert r.status_code == 302, r.text
        confirm_url = deployment.url + r.headers["location"]
        confirm = browser.get(confirm_url)
        assert confirm.status_code == 200, confirm.text
        r = browser.post(confirm_url, data={"csrfmiddlewaretoken": csrf(confirm.text), "action": action})
        assert r.status_code == 302, r.text


def test_device_flow_end_to_end(deployment, meta, jwks):
    user = unique("dev")
    sub = deployment.create_user(user, PASSWORD)["id"]
    cli = device_client(deployment)
    start = httpx.post(meta["device_authorization_endpoint"], data={"client_id": cli["client_id"],
                                                                    "scope": "openid profile"})
    assert start.status_code == 200, start.text
    assert start.headers["cache-control"] == "no-store"
    device = start.json()
    assert {"device_code", "user_code", "verification_uri", "expires_in", "interval"} <= set(device)
    assert device["verification_uri"] == deployment.issuer + "/device/"
    interval = device["interval"]
    poll = {"grant_type": DEVICE_GRANT, "device_code": device["device_code"], "client_id": cli["client_id"]}
    # A client that waits `interval` hears authorization_pending; one that polls faster, slow_down.
    time.sleep(interval)
    pending = httpx.post(meta["token_endpoint"], data=poll)
    assert pending.status_code == 400 and pending.json()["error"] == "authorization_pending"
    hurried = httpx.post(meta["token_endpoint"], data=poll)
    assert hurried.status_code == 400 and hurried.json()["error"] == "slow_down"
    approved_at = time.monotonic()
    approve_device(deployment, user, device["user_code"])
    time.sleep(max(0.0, interval - (time.monotonic() - approved_at)))
    r = httpx.post(meta["token_endpoint"], data=poll)
    assert r.status_code == 200, r.text
    tokens = r.json()
    assert {"access_token", "refresh_token"} <= set(tokens)
    claims = jwt.decode(tokens["access_token"], jwks).claims
    assert claims["sub"] == sub and claims["client_id"] == cli["client_id"]
    assert set(claims["scope"].split()) == {"openid", "profile"}
    id_token = jwt.decode(tokens["id_token"], jwks).claims  # openid granted: an ID token too
    assert id_token["sub"] == sub and id_token["aud"] == cli["client_id"] and id_token["iss"] == deployment.issuer
    # One device code, one set of tokens.
    again = httpx.post(meta["token_endpoint"], data=poll)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    # The public client refreshes with its client_id alone.
    refreshed = httpx.post(meta["token_endpoint"], data={"grant_type": "refresh_token", "client_id": cli["client_id"],
                                                         "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["refresh_token"] != tokens["refresh_token"]


def test_device_flow_denied_is_access_denied(deployment, meta):
    user = unique("devno")
    deployment.create_user(user, PASSWORD)
    cli = device_client(deployment)
    device = httpx.post(meta["device_authorization_endpoint"], data={"client_id": cli["client_id"]}).json()
    approve_device(deployment, user, device["user_code"], action="deny")
    r = httpx.post(meta["token_endpoint"], data={"grant_type": DEVICE_GRANT, "device_code": device["device_code"],
                                                 "client_id": cli["client_id"]})
    assert r.status_code == 400 and r.json()["error"] == "access_denied"


def test_device_code_is_bound_to_its_client(deployment, meta):
    cli = deployment.create_client(unique("cli"), "--public", "--grant-type",
                                   "urn:ietf:params:oauth:grant-type:device_code")
    other = deployment.create_client(unique("cli"), "--public", "--grant-type",
                                     "urn:ietf:params:oauth:grant-type:device_code")
    device = httpx.post(meta["device_authorization_endpoint"], data={"client_id": cli["client_id"]}).json()
    r = httpx.post(meta["token_endpoint"], data={"grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                                                 "device_code": device["device_code"],
                                                 "client_id": other["client_id"]})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


# -- password grant and lockout ------------------------------------------------------------------

def test_password_grant_only_for_allowed_clients(deployment, meta, jwks):
    user = unique("pw")
    deployment.create_user(user, PASSWORD)
    allowed = deployment.create_client(unique("pwc"), "--grant-type", "password")
    other = deployment.create_client(unique("cc"), "--grant-type", "client_credentials")
    data = {"grant_type": "password", "username": user, "password": PASSWORD, "scope": "openid profile"}
    ok = httpx.post(meta["token_endpoint"], data=data, auth=(allowed["client_id"], allowed["client_secret"]))
    assert ok.status_code == 200 and ok.json()["access_token"]
    assert jwt.decode(ok.json()["id_token"], jwks).claims["aud"] == allowed["client_id"]
    refused = httpx.post(meta["token_endpoint"], data=data, auth=(other["client_id"], other["client_secret"]))
    assert refused.status_code == 400 and refused.json()["error"] == "unauthorized_client"


def test_password_grant_locks_account_after_repeated_failures(deployment, meta):
    user = unique("lock")
    deployment.create_user(user, PASSWORD)
    client = deployment.create_client(unique("pwc"), "--grant-type", "password")
    auth = (client["client_id"], client["client_secret"])
    for _ in range(5):
        r = httpx.post(meta["token_endpoint"], data={"grant_type": "password", "username": user, "password": "nope"},
                       auth=auth)
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = httpx.post(meta["token_endpoint"], data={"grant_type": "password", "username": user, "password": PASSWORD},
                   auth=auth)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


# -- introspection, revocation, userinfo ---------------------------------------------------------

def test_introspection_requires_client_authentication(deployment, meta):
    r = httpx.post(meta["introspection_endpoint"], data={"token": "x"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert r.headers["www-authenticate"].startswith("Basic")


def test_introspection_scoped_to_own_tokens_unless_resource_server(deployment, meta, resource_server):
    a = deployment.create_client(unique("a"), "--grant-type", "client_credentials")
    b = deployment.create_client(unique("b"), "--grant-type", "client_credentials")
    token = httpx.post(meta["token_endpoint"], data={"grant_type": "client_credentials"},
                       auth=(a["client_id"], a["client_secret"])).json()["access_token"]
    own = introspect(meta, a, token)
    assert own["active"] is True
    assert {"active", "sub", "client_id", "scope", "exp", "iat", "aud", "iss", "token_type"} <= set(own)
    assert introspect(meta, b, token) == {"active": False}
    assert introspect(meta, resource_server, token)["client_id"] == a["client_id"]


def test_revoked_tokens_are_inactive_and_refused_by_userinfo(deployment, meta, resource_server, shared_user):
    user = shared_user
    client = portal(deployment)
    tokens = code_tokens(deployment, meta, client, user, scope="openid profile")
    auth = (client["client_id"], client["client_secret"])
    assert httpx.get(meta["userinfo_endpoint"],
                     headers={"Authorization": f"Bearer {tokens['access_token']}"}).status_code == 200
    r = httpx.post(meta["revocation_endpoint"], data={"token": tokens["access_token"]}, auth=auth)
    assert r.status_code == 200
    assert introspect(meta, resource_server, tokens["access_token"])["active"] is False
    r = httpx.get(meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"]
    # Revoking a refresh token works too.
    fresh = code_tokens(deployment, meta, client, user, scope="openid")
    r = httpx.post(meta["revocation_endpoint"], data={"token": fresh["refresh_token"],
                                                      "token_type_hint": "refresh_token"}, auth=auth)
    assert r.status_code == 200
    assert introspect(meta, resource_server, fresh["refresh_token"])["active"] is False
    refused = httpx.post(meta["token_endpoint"], data={"grant_type": "refresh_token",
                                                       "refresh_token": fresh["refresh_token"]}, auth=auth)
    assert refused.status_code == 400


def test_userinfo_get_and_post_and_bearer_errors(deployment, meta):
    user = unique("ui")
    deployment.create_user(user, PASSWORD, "atlas")
    client = portal(deployment)
    tokens = code_tokens(deployment, meta, client, user, scope="openid profile email")
    header = {"Authorization": f"Bearer {tokens['access_token']}"}
    got = httpx.get(meta["userinfo_endpoint"], headers=header)
    posted = httpx.post(meta["userinfo_endpoint"], headers=header)
    assert got.status_code == posted.status_code == 200 and got.json() == posted.json()
    assert got.json()["preferred_username"] == user and got.json()["groups"] == ["atlas"]
    missing = httpx.get(meta["userinfo_endpoint"])
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    svc = deployment.create_client(unique("svc"), "--grant-type", "client_credentials")
    cc = httpx.post(meta["token_endpoint"], data={"grant_type": "client_credentials"},
                    auth=(svc["client_id"], svc["client_secret"])).json()["access_token"]
    r = httpx.get(meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {cc}"})
    assert r.status_code == 401 and "no user" in r.json()["error_description"]


# -- logout --------------------------------------------------------------------------------------

BYE = "http://127.0.0.1:9999/bye"


def session_is_live(meta, client, browser) -> bool:
    """A silent authorization answers with a code only while the browser's session lives."""
    location = browser.get(auth_url(meta, client, scope="openid", prompt="none")[0]).headers["location"]
    query = parse_qs(urlsplit(location).query)
    assert "code" in query or query["error"] == ["login_required"], location
    return "code" in query


@pytest.mark.parametrize("bad_uri", [BYE + "/", BYE + "?x=1", "http://127.0.0.1:9998/bye", "https://evil.example/bye",
                                     "other-client"])
def test_end_session_refuses_unregistered_post_logout_redirect_uri(deployment, meta, bad_uri, shared_user,
                                                                    shared_portal):
    user = shared_user
    client = shared_portal
    if bad_uri == "other-client":  # registered, but for another client
        bad_uri = "http://127.0.0.1:9999/other-bye"
        deployment.create_client(unique("other"), "--redirect-uri", REDIRECT, "--grant-type", "authorization_code",
                                 "--post-logout-redirect-uri", bad_uri)
    with httpx.Client() as browser:
        tokens = code_tokens(deployment, meta, client, user, scope="openid", browser=browser)
        bad = browser.get(meta["end_session_endpoint"], params={
            "id_token_hint": tokens["id_token"], "post_logout_redirect_uri": bad_uri, "state": "s0"})
        assert bad.status_code == 400 and "location" not in bad.headers
        assert "text/html" in bad.headers["content-type"]
        # A refused logout request changes nothing: the session is still there.
        assert session_is_live(meta, client, browser)


def test_end_session_with_id_token_hint_logs_out_and_redirects_with_state(deployment, meta, shared_user):
    user = shared_user
    client = portal(deployment)
    with httpx.Client() as browser:
        tokens = code_tokens(deployment, meta, client, user, scope="openid", browser=browser)
        assert session_is_live(meta, client, browser)
        r = browser.get(meta["end_session_endpoint"], params={
            "id_token_hint": tokens["id_token"], "post_logout_redirect_uri": BYE, "state": "s1"})
        assert r.status_code == 302 and r.headers["location"] == BYE + "?state=s1"
        assert not session_is_live(meta, client, browser)


def test_end_session_without_id_token_hint_asks_before_logging_out(deployment, meta, shared_user):
    user = shared_user
    client = portal(deployment)
    with httpx.Client() as browser:
        code_tokens(deployment, meta, client, user, scope="openid", browser=browser)
        r = browser.get(meta["end_session_endpoint"], params={"client_id": client["client_id"],
                                                             "post_logout_redirect_uri": BYE, "state": "s2"})
        assert r.status_code == 200 and "location" not in r.headers
        assert session_is_live(meta, client, browser)  # a bare link does not log anyone out
        r = browser.post(meta["end_session_endpoint"], data={
            "csrfmiddlewaretoken": csrf(r.text), "confirm": "yes", "client_id": client["client_id"],
            "post_logout_redirect_uri": BYE, "state": "s2"})
        assert r.status_code == 302 and r.headers["location"] == BYE + "?state=s2"
        assert not session_is_live(meta, client, browser)
