"""A refreshed access token keeps the audience its family was issued for."""

import base64
import json

import pytest

from iam import keys
from tests.factories import DEFAULT_PASSWORD, make_client, make_user

pytestmark = pytest.mark.django_db


def basic(app, secret):
    return "Basic " + base64.b64encode(f"{app.client_id}:{secret}".encode()).decode()


def aud(token):
    return json.loads(keys.b64url_decode(token.split(".")[1]))["aud"]


def test_refresh_keeps_the_original_audience_and_can_only_narrow_it(client, signing_key):
    make_user("amy")
    app, secret = make_client("cli", grant_types=["password", "refresh_token"], audiences=["storage", "compute"])
    first = client.post("/token/", {"grant_type": "password", "username": "amy", "password": DEFAULT_PASSWORD,
                                    "scope": "openid", "audience": "storage"}, HTTP_AUTHORIZATION=basic(app, secret))
    assert first.status_code == 200, first.content
    assert aud(first.json()["access_token"]) == "storage"
    second = client.post("/token/", {"grant_type": "refresh_token", "refresh_token": first.json()["refresh_token"]},
                         HTTP_AUTHORIZATION=basic(app, secret))
    assert second.status_code == 200 and aud(second.json()["access_token"]) == "storage"
    wider = client.post("/token/", {"grant_type": "refresh_token", "refresh_token": second.json()["refresh_token"],
                                    "audience": "compute"}, HTTP_AUTHORIZATION=basic(app, secret))
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_target"
    # The refused request changed nothing: the refresh token still works.
    again = client.post("/token/", {"grant_type": "refresh_token", "refresh_token": second.json()["refresh_token"]},
                        HTTP_AUTHORIZATION=basic(app, secret))
    assert again.status_code == 200 and aud(again.json()["access_token"]) == "storage"
