"""Every OAuth error answer is RFC 6749 §5.2 JSON with an error_description, in one voice."""

import json

import pytest

from tests.factories import make_client
from tests.iam.oauth import REDIRECT, basic

pytestmark = pytest.mark.django_db
ENDPOINTS = ["/token/", "/introspect/", "/revoke/", "/device_authorization/"]


def assert_described(r, error, status=400):
    assert r.status_code == status, r.content
    assert r["Content-Type"] == "application/json"
    body = r.json()
    assert body["error"] == error
    description = body["error_description"]
    assert description and not description.endswith(".")
    assert not (description[0].isupper() and not description[1].isupper()), description
    return description


@pytest.mark.parametrize("path", ENDPOINTS)
def test_wrong_method_is_json_405_with_allow(client, path, signing_key):
    r = client.get(path)
    assert_described(r, "invalid_request", 405)
    assert r["Allow"] == "POST"


@pytest.mark.parametrize("path", ENDPOINTS)
def test_json_body_is_refused_saying_the_endpoint_takes_form_encoding(client, path, service):
    app, secret = service
    r = client.post(path, json.dumps({"grant_type": "client_credentials", "token": "x"}),
                    content_type="application/json", HTTP_AUTHORIZATION=basic(app.client_id, secret))
    assert "application/x-www-form-urlencoded" in assert_described(r, "invalid_request")


def test_unsupported_grant_type_is_described(client, service):
    app, secret = service
    r = client.post("/token/", {"grant_type": "urn:example:nope"}, HTTP_AUTHORIZATION=basic(app.client_id, secret))
    assert_described(r, "unsupported_grant_type")


def test_unauthorized_client_is_described(client, service):
    app, secret = service
    r = client.post("/token/", {"grant_type": "password", "username": "a", "password": "b"},
                    HTTP_AUTHORIZATION=basic(app.client_id, secret))
    assert_described(r, "unauthorized_client")


def test_invalid_grant_is_described(client, signing_key):
    app, secret = make_client("portal", grant_types=["authorization_code"], redirect_uris=[REDIRECT])
    r = client.post("/token/", {"grant_type": "authorization_code", "code": "nope", "redirect_uri": REDIRECT},
                    HTTP_AUTHORIZATION=basic(app.client_id, secret))
    assert_described(r, "invalid_grant")


def test_invalid_client_at_revocation_is_described_with_basic_challenge(client, service):
    app, _ = service
    r = client.post("/revoke/", {"token": "x"}, HTTP_AUTHORIZATION=basic(app.client_id, "wrong"))
    assert_described(r, "invalid_client", 401)
    assert r["WWW-Authenticate"].startswith("Basic ")


def test_library_messages_speak_in_our_voice(client, signing_key):
    app, secret = make_client("portal", grant_types=["authorization_code"], redirect_uris=[REDIRECT])
    r = client.post("/token/", {"grant_type": "authorization_code", "redirect_uri": REDIRECT},
                    HTTP_AUTHORIZATION=basic(app.client_id, secret))
    assert assert_described(r, "invalid_request") == "missing code parameter"  # oauthlib: "Missing code parameter."


def test_token_endpoint_missing_redirect_uri_is_invalid_request(client, signing_key, django_user_model):
    from tests.factories import make_user
    from tests.iam.oauth import obtain_code, pkce_pair, sign_in

    app, secret = make_client("portal", grant_types=["authorization_code"], redirect_uris=[REDIRECT])
    sign_in(client, make_user("bob"))
    verifier, challenge = pkce_pair()
    code = obtain_code(client, app, challenge=challenge)
    r = client.post("/token/", {"grant_type": "authorization_code", "code": code, "code_verifier": verifier},
                    HTTP_AUTHORIZATION=basic(app.client_id, secret))
    assert "redirect" in assert_described(r, "invalid_request").lower()


def test_pkce_downgrade_verifier_without_challenge_is_invalid_grant(client, signing_key):
    from tests.factories import make_user
    from tests.iam.oauth import obtain_code, pkce_pair, redeem_code, sign_in

    app, secret = make_client("portal", grant_types=["authorization_code"], redirect_uris=[REDIRECT],
                              pkce_required=False)  # a legacy client
    sign_in(client, make_user("bob"))
    code = obtain_code(client, app, challenge=None)
    verifier, _ = pkce_pair()
    r = redeem_code(client, app, secret, code, verifier=verifier)
    assert "code_challenge" in assert_described(r, "invalid_grant")
