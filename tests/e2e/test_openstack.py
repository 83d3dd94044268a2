"""OpenStack's keystoneauth1 OIDC plugins, unchanged, against IAM and a Keystone stand-in."""

from __future__ import annotations

import logging
import re
import threading
import time

import httpx
import pytest
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import loading, session

from tests.e2e.browser import csrf, login
from tests.e2e.keystone_federation import KeystoneStandIn

pytestmark = pytest.mark.e2e
PASSWORD = "e2e-keystone-pass-1"


@pytest.fixture(scope="module")
def keystone(deployment):
    meta = httpx.get(deployment.url + "/.well-known/openid-configuration").json()
    rs = deployment.create_client("keystone", "--grant-type", "client_credentials", "--introspection")
    standin = KeystoneStandIn(meta["introspection_endpoint"], rs["client_id"], rs["client_secret"])
    yield standin
    standin.close()


def plugin(name: str, deployment, keystone, **options):
    loader = loading.get_plugin_loader(name)
    return loader.load_from_options(
        auth_url=keystone.url, identity_provider="iam", protocol="openid",
        discovery_endpoint=deployment.url + "/.well-known/openid-configuration", **options)


def test_v3oidcpassword_gets_a_keystone_token_for_the_user(deployment, keystone):
    user = deployment.create_user("ks-alice", PASSWORD, "openstack/admins")
    client = deployment.create_client("ks-cli", "--grant-type", "password", "--grant-type", "refresh_token")
    auth = plugin("v3oidcpassword", deployment, keystone, client_id=client["client_id"],
                  client_secret=client["client_secret"], username="ks-alice", password=PASSWORD,
                  scope="openid profile")
    token = session.Session(auth=auth).get_token()
    assert token.startswith("ks-")
    seen = keystone.seen[-1]
    assert seen["active"] is True and seen["sub"] == user["id"]
    assert seen["groups"] == ["openstack/admins"] and seen["client_id"] == client["client_id"]


def test_v3oidcclientcredentials_gets_a_keystone_token_for_the_service(deployment, keystone):
    client = deployment.create_client("ks-svc", "--grant-type", "client_credentials")
    auth = plugin("v3oidcclientcredentials", deployment, keystone, client_id=client["client_id"],
                  client_secret=client["client_secret"], scope="openid profile")
    assert session.Session(auth=auth).get_token().startswith("ks-")
    assert keystone.seen[-1]["sub"] == client["client_id"]


def test_v3oidcaccesstoken_presents_an_iam_token(deployment, keystone):
    client = deployment.create_client("ks-at", "--grant-type", "client_credentials")
    access = httpx.post(deployment.url + "/token/", data={"grant_type": "client_credentials"},
                        auth=(client["client_id"], client["client_secret"])).json()["access_token"]
    auth = loading.get_plugin_loader("v3oidcaccesstoken").load_from_options(
        auth_url=keystone.url, identity_provider="iam", protocol="openid", access_token=access)
    assert session.Session(auth=auth).get_token().startswith("ks-")
    assert keystone.seen[-1]["client_id"] == client["client_id"]


def test_v3oidcdeviceauthz_with_a_person_approving_in_the_browser(deployment, keystone, caplog):
    user = deployment.create_user("ks-dev", PASSWORD)
    client = deployment.create_client("ks-device", "--public", "--grant-type",
                                      "urn:ietf:params:oauth:grant-type:device_code")
    auth = plugin("v3oidcdeviceauthz", deployment, keystone, client_id=client["client_id"],
                  scope="openid profile")
    result: dict = {}

    def run():
        try:
            result["token"] = session.Session(auth=auth).get_token()
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            result["error"] = exc

    caplog.set_level(logging.WARNING, logger="keystoneauth1")
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    user_code = None
    for _ in range(100):  # the plugin tells the person where to go, in its log
        # "... enter the code X" or, with verification_uri_complete, "... /device/?user_code=X"
        match = re.search(r"(?:enter the code |user_code=)(\S+)", caplog.text)
        if match:
            user_code = match.group(1)
            break
        time.sleep(0.1)
    assert user_code, caplog.text
    with httpx.Client() as browser:
        r = login(deployment.url, browser, "/login/?next=/device/", "ks-dev", PASSWORD)
        page = browser.get(deployment.url + r.headers["location"])
        r = browser.post(deployment.url + "/device/", data={"csrfmiddlewaretoken": csrf(page.text),
                                                            "user_code": user_code})
        assert r.status_code == 302, r.text
        confirm = browser.get(deployment.url + r.headers["location"])
        browser.post(deployment.url + r.headers["location"],
                     data={"csrfmiddlewaretoken": csrf(confirm.text), "action": "accept"})
    worker.join(timeout=30)
    assert "error" not in result, result.get("error")
    assert result["token"].startswith("ks-") and keystone.seen[-1]["sub"] == user["id"]


def test_wrong_password_never_reaches_keystone(deployment, keystone):
    deployment.create_user("ks-bob", PASSWORD)
    client = deployment.create_client("ks-cli2", "--grant-type", "password")
    before = len(keystone.seen)
    auth = plugin("v3oidcpassword", deployment, keystone, client_id=client["client_id"],
                  client_secret=client["client_secret"], username="ks-bob", password="not-it",
                  scope="openid profile")
    with pytest.raises(ks_exceptions.ClientException):
        session.Session(auth=auth).get_token()
    assert len(keystone.seen) == before


def test_revoked_token_is_refused_by_keystone(deployment, keystone):
    client = deployment.create_client("ks-rev", "--grant-type", "client_credentials")
    creds = (client["client_id"], client["client_secret"])
    access = httpx.post(deployment.url + "/token/", data={"grant_type": "client_credentials"},
                        auth=creds).json()["access_token"]
    assert httpx.post(deployment.url + "/revoke/", data={"token": access}, auth=creds).status_code == 200
    auth = loading.get_plugin_loader("v3oidcaccesstoken").load_from_options(
        auth_url=keystone.url, identity_provider="iam", protocol="openid", access_token=access)
    with pytest.raises(ks_exceptions.Unauthorized):
        session.Session(auth=auth).get_token()
    assert keystone.seen[-1] == {"active": False}
