"""RFC 8628 polling rules and the authorization request's required redirect_uri."""

from urllib.parse import urlencode

import pytest
from joserfc import jwt
from oauth2_provider.models import get_device_grant_model

from tests.factories import make_client, make_user
from tests.iam.oauth import at_hash, keyset

pytestmark = pytest.mark.django_db
FORM = "application/x-www-form-urlencoded"


def post(client, path, data):
    return client.post(path, urlencode(data), content_type=FORM)


def start(client, app):
    r = post(client, "/device_authorization/", {"client_id": app.client_id, "scope": "openid"})
    assert r.status_code == 200, r.content
    return r.json()


def poll(client, app, device):
    return post(client, "/token/", {"grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                                    "device_code": device["device_code"], "client_id": app.client_id})


def test_first_poll_is_pending_and_fast_polls_slow_down_adding_five_seconds(client, signing_key):
    app, _ = make_client("cli", public=True, grant_types=["urn:ietf:params:oauth:grant-type:device_code"])
    device = start(client, app)
    assert device["interval"] == 5 and "scope" not in device
    assert poll(client, app, device).json()["error"] == "authorization_pending"
    assert poll(client, app, device).json()["error"] == "slow_down"
    grant = get_device_grant_model().objects.get(device_code=device["device_code"])
    assert grant.interval == 10


def test_device_flow_refused_to_clients_without_the_grant(client, signing_key):
    app, _ = make_client("portal", public=True, grant_types=["authorization_code"],
                         redirect_uris=["http://127.0.0.1:9/cb"])
    r = post(client, "/device_authorization/", {"client_id": app.client_id})
    assert r.status_code == 400 and r.json()["error"] == "unauthorized_client"
    assert not get_device_grant_model().objects.exists()


def test_approved_device_code_gives_tokens_once(client, signing_key):
    user = make_user("dora")
    app, _ = make_client("cli", public=True, grant_types=["urn:ietf:params:oauth:grant-type:device_code"])
    device = start(client, app)
    get_device_grant_model().objects.filter(device_code=device["device_code"]).update(user=user, status="authorized")
    first = poll(client, app, device)
    assert first.status_code == 200 and first.json()["scope"] == "openid"
    # openid was granted: an ID token for the user who approved, bound to this access token
    idt = jwt.decode(first.json()["id_token"], keyset(client)).claims
    assert idt["sub"] == str(user.pk) and idt["aud"] == app.client_id
    assert idt["at_hash"] == at_hash(first.json()["access_token"])
    assert poll(client, app, device).json()["error"] == "invalid_grant"


def test_authorization_request_without_redirect_uri_is_an_error_page(client, signing_key):
    user = make_user("rick")
    app, _ = make_client("portal", grant_types=["authorization_code"], redirect_uris=["http://127.0.0.1:9/cb"])
    client.force_login(user)
    r = client.get("/authorize/?" + urlencode({"response_type": "code", "client_id": app.client_id,
                                               "scope": "openid", "code_challenge": "c" * 43,
                                               "code_challenge_method": "S256"}))
    assert r.status_code == 400 and "Location" not in r and b"redirect_uri" in r.content


def test_user_code_is_accepted_in_any_case_with_spaces_or_dashes(client, signing_key):
    user = make_user("uma")
    app, _ = make_client("cli", public=True, grant_types=["urn:ietf:params:oauth:grant-type:device_code"])
    device = start(client, app)
    code = device["user_code"]
    typed = f" {code[:4].lower()}-{code[4:].lower()} "
    client.force_login(user)
    r = client.post("/device/", {"user_code": typed})
    assert r.status_code == 302 and code in r["Location"]
    assert get_device_grant_model().objects.get(device_code=device["device_code"]).user == user


def test_user_code_entry_is_rate_limited(client, signing_key):
    from iam.views.device import USER_CODE_MAX_FAILURES_PER_USER

    user = make_user("gus")
    app, _ = make_client("cli", public=True, grant_types=["urn:ietf:params:oauth:grant-type:device_code"])
    device = start(client, app)
    client.force_login(user)
    for _ in range(USER_CODE_MAX_FAILURES_PER_USER):
        wrong = client.post("/device/", {"user_code": "WRONGCODE"})
        assert wrong.status_code == 200 and b"Incorrect user code" in wrong.content
    # Locked: even the right code is refused now, and nothing is bound to the user.
    r = client.post("/device/", {"user_code": device["user_code"]})
    assert r.status_code == 429 and b"Too many incorrect codes" in r.content
    assert get_device_grant_model().objects.get(device_code=device["device_code"]).user is None


DEVICE = "urn:ietf:params:oauth:grant-type:device_code"


def test_device_authorization_accepts_client_secret_basic(client, signing_key):
    from tests.iam.oauth import basic

    app, secret = make_client("box", grant_types=[DEVICE])
    r = client.post("/device_authorization/", urlencode({"scope": "openid"}), content_type=FORM,
                    HTTP_AUTHORIZATION=basic(app.client_id, secret))
    assert r.status_code == 200, r.content
    assert get_device_grant_model().objects.filter(client_id=app.client_id).count() == 1


def test_device_authorization_bad_secret_is_invalid_client_with_basic_challenge(client, signing_key):
    from tests.iam.oauth import basic

    app, _ = make_client("box", grant_types=[DEVICE])
    r = client.post("/device_authorization/", urlencode({"scope": "openid"}), content_type=FORM,
                    HTTP_AUTHORIZATION=basic(app.client_id, "wrong"))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert r["WWW-Authenticate"].startswith("Basic ")
    confidential_without_secret = post(client, "/device_authorization/", {"client_id": app.client_id})
    assert confidential_without_secret.status_code == 401


def test_device_codes_live_the_configured_lifetime(client, signing_key):
    from datetime import timedelta

    from django.utils import timezone

    from iam.conf import config

    app, _ = make_client("cli", public=True, grant_types=[DEVICE])
    device = start(client, app)
    assert device["expires_in"] == config.device_code_lifetime == 600
    grant = get_device_grant_model().objects.get(device_code=device["device_code"])
    assert abs(grant.expires - (timezone.now() + timedelta(seconds=600))) < timedelta(seconds=5)


def test_device_response_has_verification_uri_complete_that_fills_in_the_code(client, signing_key):
    from tests.iam.oauth import ISSUER, sign_in

    app, _ = make_client("cli", public=True, grant_types=[DEVICE])
    device = start(client, app)
    complete = device["verification_uri_complete"]
    assert complete.startswith(f"{ISSUER}/device/?user_code=") and device["user_code"] in complete
    sign_in(client, make_user("dev"))
    page = client.get(complete[len(ISSUER):])
    assert page.status_code == 200 and device["user_code"] in page.content.decode()
