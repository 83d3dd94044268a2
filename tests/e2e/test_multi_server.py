"""Two gunicorn processes on one database behave as one server (ARCHITECTURE.md §1)."""

from __future__ import annotations

import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.e2e.browser import authorize
from tests.e2e.oidc import PASSWORD, REDIRECT, auth_url, portal
from tests.e2e.server import free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def second_server(deployment):
    """A second gunicorn (its own 2 workers) on the shared Deployment's database."""
    return deployment.start_server(port=free_port())


def _client(deployment, *args):
    return deployment.create_client(f"multi-{secrets.token_hex(4)}", *args)


def _introspect(url, rs, token):
    r = httpx.post(url + "/introspect/", data={"token": token}, auth=(rs["client_id"], rs["client_secret"]))
    assert r.status_code == 200, r.text
    return r.json()


def test_token_from_one_server_is_introspected_and_revoked_through_the_other(deployment, second_server):
    one, two = deployment.url, second_server
    svc = _client(deployment, "--grant-type", "client_credentials")
    rs = _client(deployment, "--grant-type", "client_credentials", "--introspection")
    r = httpx.post(one + "/token/", data={"grant_type": "client_credentials"},
                   auth=(svc["client_id"], svc["client_secret"]))
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]

    on_two = _introspect(two, rs, token)
    assert on_two["active"] is True and on_two["client_id"] == svc["client_id"]
    assert on_two == _introspect(one, rs, token)

    r = httpx.post(two + "/revoke/", data={"token": token}, auth=(svc["client_id"], svc["client_secret"]))
    assert r.status_code == 200
    assert _introspect(one, rs, token) == {"active": False}
    assert _introspect(two, rs, token) == {"active": False}


def test_a_users_token_revoked_on_one_server_is_refused_by_userinfo_on_the_other(deployment, second_server):
    user = f"multi{secrets.token_hex(3)}"
    deployment.create_user(user, "e2e-Multi-Password-1")
    client = _client(deployment, "--grant-type", "password", "--grant-type", "refresh_token")
    rs = _client(deployment, "--grant-type", "client_credentials", "--introspection")
    auth = (client["client_id"], client["client_secret"])
    tokens = httpx.post(deployment.url + "/token/", data={
        "grant_type": "password", "username": user, "password": "e2e-Multi-Password-1",
        "scope": "openid profile offline_access"}, auth=auth).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert httpx.get(second_server + "/userinfo/", headers=bearer).status_code == 200
    # Revoking the refresh token on one server revokes its family's access tokens everywhere.
    revoked = httpx.post(deployment.url + "/revoke/", data={"token": tokens["refresh_token"]}, auth=auth)
    assert revoked.status_code == 200
    assert httpx.get(second_server + "/userinfo/", headers=bearer).status_code == 401
    assert _introspect(second_server, rs, tokens["access_token"]) == {"active": False}


def test_tokens_of_a_client_disabled_or_rotated_by_the_cli_are_inactive_on_every_server(deployment, second_server):
    """The not-before epoch a CLI process writes is read by both servers' workers at once."""
    svc = _client(deployment, "--grant-type", "client_credentials")
    rs = _client(deployment, "--grant-type", "client_credentials", "--introspection")

    def token(secret):
        r = httpx.post(deployment.url + "/token/", data={"grant_type": "client_credentials"},
                       auth=(svc["client_id"], secret))
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    first = token(svc["client_secret"])
    assert _introspect(second_server, rs, first)["active"] is True
    rotated = deployment.manage_json("updateclient", svc["client_id"], "--rotate-secret", "--json")
    for url in (deployment.url, second_server):
        assert _introspect(url, rs, first) == {"active": False}
    second = token(rotated["client_secret"])  # minted right after the epoch: active
    assert _introspect(second_server, rs, second)["active"] is True
    deployment.manage("updateclient", svc["client_id"], "--disable")
    for url in (deployment.url, second_server):
        assert _introspect(url, rs, second) == {"active": False}
        refused = httpx.post(url + "/token/", data={"grant_type": "client_credentials"},
                             auth=(svc["client_id"], rotated["client_secret"]))
        assert refused.status_code == 401


def test_both_servers_publish_the_same_issuer_and_keys(deployment, second_server):
    # Same issuer, same signing keys (kept in the database): a token signed by one server
    # verifies against the other's JWKS.
    meta_one = httpx.get(deployment.url + "/.well-known/openid-configuration").json()
    meta_two = httpx.get(second_server + "/.well-known/openid-configuration").json()
    assert meta_one["issuer"] == meta_two["issuer"] == deployment.issuer
    svc = _client(deployment, "--grant-type", "client_credentials")
    r = httpx.post(deployment.url + "/token/", data={"grant_type": "client_credentials"},
                   auth=(svc["client_id"], svc["client_secret"]))
    keys_two = KeySet.import_key_set(httpx.get(second_server + "/jwks/").json())
    assert jwt.decode(r.json()["access_token"], keys_two).claims["client_id"] == svc["client_id"]


def test_refresh_token_rotation_is_shared_across_servers(deployment, second_server):
    # A refresh token rotated on one server is spent on the other: reusing it there is
    # detected as reuse (invalid_grant) and revokes the family everywhere.
    user = f"multi{secrets.token_hex(3)}"
    deployment.create_user(user, "e2e-Multi-Password-1")
    client = _client(deployment, "--grant-type", "password", "--grant-type", "refresh_token")
    auth = (client["client_id"], client["client_secret"])
    first = httpx.post(deployment.url + "/token/", data={
        "grant_type": "password", "username": user, "password": "e2e-Multi-Password-1",
        "scope": "openid offline_access"}, auth=auth)
    assert first.status_code == 200, first.text
    old = first.json()["refresh_token"]
    rotated = httpx.post(second_server + "/token/", data={"grant_type": "refresh_token", "refresh_token": old},
                         auth=auth)
    assert rotated.status_code == 200, rotated.text
    reused = httpx.post(deployment.url + "/token/", data={"grant_type": "refresh_token", "refresh_token": old},
                        auth=auth)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    newest = httpx.post(second_server + "/token/", data={"grant_type": "refresh_token",
                                                         "refresh_token": rotated.json()["refresh_token"]}, auth=auth)
    assert newest.status_code == 400 and newest.json()["error"] == "invalid_grant"


# -- races: the same one-time credential sent to both servers at once -----------------------------

def _race(requests):
    """Send the (url, data, auth) token requests at the same moment; the responses, in order."""
    barrier = threading.Barrier(len(requests))

    def send(args):
        url, data, auth = args
        with httpx.Client(timeout=30) as http:
            barrier.wait()
            return http.post(url + "/token/", data=data, auth=auth)

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(send, requests))


def _exactly_one_winner(responses):
    assert all(r.status_code in (200, 400) for r in responses), [(r.status_code, r.text[:200]) for r in responses]
    winners = [r.json() for r in responses if r.status_code == 200]
    assert len(winners) == 1, [r.text[:200] for r in responses]
    assert all(r.json()["error"] == "invalid_grant" for r in responses if r.status_code == 400)
    assert winners[0]["access_token"] and winners[0].get("refresh_token", "x")
    return winners[0]


@pytest.mark.parametrize("round_", [1, 2])
def test_concurrent_refreshes_of_one_token_rotate_it_once_and_revoke_the_family(deployment, second_server,
                                                                               resource_server, round_):
    user = f"race{secrets.token_hex(3)}"
    deployment.create_user(user, "e2e-Race-Password-1")
    client = _client(deployment, "--grant-type", "password", "--grant-type", "refresh_token")
    auth = (client["client_id"], client["client_secret"])
    first = httpx.post(deployment.url + "/token/", data={
        "grant_type": "password", "username": user, "password": "e2e-Race-Password-1",
        "scope": "openid offline_access"}, auth=auth)
    assert first.status_code == 200, first.text
    data = {"grant_type": "refresh_token", "refresh_token": first.json()["refresh_token"]}
    winner = _exactly_one_winner(_race([(url, data, auth) for url in (deployment.url, second_server) * 3]))
    # The losers used a spent refresh token: that is reuse, and the family is revoked.
    assert _introspect(deployment.url, resource_server, winner["access_token"]) == {"active": False}
    assert _introspect(second_server, resource_server, winner["refresh_token"]) == {"active": False}


def test_concurrent_redemptions_of_one_code_issue_tokens_once(deployment, second_server, resource_server,
                                                              shared_user, meta):
    client = portal(deployment)
    url, verifier, _ = auth_url(meta, client, scope="openid")
    with httpx.Client() as browser:
        location = authorize(deployment.url, browser, url, shared_user, PASSWORD).headers["location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier}
    auth = (client["client_id"], client["client_secret"])
    winner = _exactly_one_winner(_race([(url, data, auth) for url in (deployment.url, second_server) * 3]))
    # The other redemptions are replays of the code: what it issued is revoked.
    assert _introspect(second_server, resource_server, winner["access_token"]) == {"active": False}
    assert _introspect(deployment.url, resource_server, winner["refresh_token"]) == {"active": False}
