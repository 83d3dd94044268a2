"""Access tokens are not stored (RFC 9068 JWTs verified on use); what can revoke them is a
deny-list of jtis and "not before" epochs per user and per client (iam.revocation)."""

import json
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.apps import apps
from django.db import connection

from iam import keys, revocation
from iam.models import Application
from iam.services.revocation import revoke_client_tokens, revoke_user_tokens
from tests.factories import DEFAULT_PASSWORD, make_client, make_user
from tests.iam.oauth import REDIRECT, basic, code_flow_tokens

pytestmark = pytest.mark.django_db


@pytest.fixture
def portal(signing_key):
    return make_client("portal", grant_types=["authorization_code", "refresh_token", "password"],
                       redirect_uris=[REDIRECT])


@pytest.fixture
def user():
    return make_user("alice", groups=["cms"])


def cc_token(client, app, secret) -> str:
    r = client.post("/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(app.client_id, secret))
    assert r.status_code == 200, r.content
    return r.json()["access_token"]


def password_tokens(client, app, secret, scope="openid profile email offline_access"):
    r = client.post("/token/", {"grant_type": "password", "username": "alice", "password": DEFAULT_PASSWORD,
                                "scope": scope}, HTTP_AUTHORIZATION=basic(app.client_id, secret))
    assert r.status_code == 200, r.content
    return r.json()


def refresh(client, app, secret, rt, **extra):
    return client.post("/token/", {"grant_type": "refresh_token", "refresh_token": rt, **extra},
                       HTTP_AUTHORIZATION=basic(app.client_id, secret))


def introspect(client, rs, token) -> dict:
    app, secret = rs
    r = client.post("/introspect/", {"token": token}, HTTP_AUTHORIZATION=basic(app.client_id, secret))
    assert r.status_code == 200, r.content
    return r.json()


def userinfo_status(client, token) -> int:
    return client.get("/userinfo/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code


def token_rows() -> dict[str, int]:
    """Rows in every table that keeps token state."""
    names = ["oauth2_provider.AccessToken", "oauth2_provider.IDToken", "oauth2_provider.RefreshToken",
             "iam.TokenFamily", "iam.RedeemedCode", "iam.Revocation", "iam.Grant"]
    return {n: apps.get_model(n).objects.count() for n in names}


# -- nothing stored per access token ------------------------------------------------------------

def test_no_access_token_row_is_written_for_any_grant(client, portal, service, user):
    app, secret = portal
    code_flow_tokens(client, app, secret, user, scope="openid profile")
    tokens = password_tokens(client, app, secret)
    assert refresh(client, app, secret, tokens["refresh_token"]).status_code == 200
    cc_token(client, *service)
    rows = token_rows()
    assert rows["oauth2_provider.AccessToken"] == 0 and rows["oauth2_provider.IDToken"] == 0


def test_token_tables_do_not_grow_with_access_tokens_issued(client, service, resource_server):
    cc_token(client, *service)
    before = token_rows()
    for _ in range(40):
        token = cc_token(client, *service)
        assert introspect(client, resource_server, token)["active"] is True
    assert token_rows() == before


# -- what makes a signed token inactive -----------------------------------------------------------

def _jwt(header: dict, claims: dict, private_key) -> str:
    signing_input = keys.b64url(json.dumps(header).encode()) + "." + keys.b64url(json.dumps(claims).encode())
    return signing_input + "." + keys.b64url(keys._sign(private_key, "RS256", signing_input.encode()))


def test_access_token_signed_by_a_key_we_do_not_publish_is_inactive(client, service, resource_server):
    genuine = cc_token(client, *service)
    header = json.loads(keys.b64url_decode(genuine.split(".")[0]))
    claims = json.loads(keys.b64url_decode(genuine.split(".")[1]))
    stranger = rsa.generate_private_key(65537, 2048)
    forged = _jwt(header, claims, stranger)  # same kid, other key
    assert introspect(client, resource_server, forged) == {"active": False}


def test_tampered_access_token_is_inactive(client, service, resource_server):
    genuine = cc_token(client, *service)
    header, payload, signature = genuine.split(".")
    claims = json.loads(keys.b64url_decode(payload))
    claims["scope"] = "api admin"
    tampered = f"{header}.{keys.b64url(json.dumps(claims).encode())}.{signature}"
    assert introspect(client, resource_server, tampered) == {"active": False}


def test_expired_access_token_is_inactive(client, service, resource_server, monkeypatch):
    token = cc_token(client, *service)
    real = time.time
    monkeypatch.setattr("iam.access_tokens.time.time", lambda: real() + 3601)
    assert introspect(client, resource_server, token) == {"active": False}


def test_access_token_from_another_issuer_is_inactive(client, service, resource_server):
    token = cc_token(client, *service)
    claims = json.loads(keys.b64url_decode(token.split(".")[1]))
    claims["iss"] = "https://elsewhere.example"
    other = keys.key_store.sign(claims, alg="RS256", typ="at+jwt")  # our key, their issuer
    assert introspect(client, resource_server, other) == {"active": False}


def test_id_token_is_not_an_access_token(client, portal, user, resource_server):
    app, secret = portal
    tokens = code_flow_tokens(client, app, secret, user, scope="openid profile")
    assert introspect(client, resource_server, tokens["id_token"]) == {"active": False}
    assert userinfo_status(client, tokens["id_token"]) == 401


def test_malformed_jws_header_is_an_invalid_token_not_an_error(client, service, resource_server):
    """A kid or alg that is not a string (a list, an object) is simply not our token."""
    genuine = cc_token(client, *service)
    _, payload, signature = genuine.split(".")
    for header in ({"alg": "RS256", "kid": ["a"]}, {"alg": ["RS256"], "kid": "a"}, {"alg": "RS256", "kid": {}}, []):
        token = keys.b64url(json.dumps(header).encode()) + f".{payload}.{signature}"
        assert introspect(client, resource_server, token) == {"active": False}
        assert userinfo_status(client, token) == 401
        assert client.get("/end_session/", {"id_token_hint": token}).status_code == 400


# -- revocation ---------------------------------------------------------------------------------

def test_revoked_access_token_is_inactive(client, portal, user, resource_server):
    app, secret = portal
    tokens = code_flow_tokens(client, app, secret, user, scope="openid profile")
    assert introspect(client, resource_server, tokens["access_token"])["active"] is True
    r = client.post("/revoke/", {"token": tokens["access_token"], "token_type_hint": "access_token"},
                    HTTP_AUTHORIZATION=basic(app.client_id, secret))
    assert r.status_code == 200
    assert introspect(client, resource_server, tokens["access_token"]) == {"active": False}
    assert userinfo_status(client, tokens["access_token"]) == 401


def test_a_client_cannot_revoke_another_clients_access_token(client, service, resource_server):
    token = cc_token(client, *service)
    rs, rs_secret = resource_server
    r = client.post("/revoke/", {"token": token}, HTTP_AUTHORIZATION=basic(rs.client_id, rs_secret))
    assert r.status_code == 200  # RFC 7009 §2.2: no disclosure
    assert introspect(client, resource_server, token)["active"] is True


def test_revoking_a_refresh_token_revokes_its_familys_access_tokens(client, portal, user, resource_server):
    app, secret = portal
    tokens = password_tokens(client, app, secret)
    second = refresh(client, app, secret, tokens["refresh_token"]).json()
    r = client.post("/revoke/", {"token": second["refresh_token"], "token_type_hint": "refresh_token"},
                    HTTP_AUTHORIZATION=basic(app.client_id, secret))
    assert r.status_code == 200
    for access_token in (tokens["access_token"], second["access_token"]):
        assert introspect(client, resource_server, access_token) == {"active": False}
    assert refresh(client, app, secret, second["refresh_token"]).json()["error"] == "invalid_grant"


def test_refresh_token_reuse_revokes_the_familys_access_tokens(client, portal, user, resource_server):
    app, secret = portal
    tokens = password_tokens(client, app, secret)
    second = refresh(client, app, secret, tokens["refresh_token"]).json()
    assert introspect(client, resource_server, second["access_token"])["active"] is True
    reuse = refresh(client, app, secret, tokens["refresh_token"])
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    assert introspect(client, resource_server, second["access_token"]) == {"active": False}
    assert refresh(client, app, secret, second["refresh_token"]).json()["error"] == "invalid_grant"


def test_code_replay_revokes_the_access_token_it_issued(client, portal, user, resource_server):
    from tests.iam.oauth import obtain_code, pkce_pair, redeem_code, sign_in

    app, secret = make_client("no-refresh", grant_types=["authorization_code"], redirect_uris=[REDIRECT])
    sign_in(client, user)
    verifier, challenge = pkce_pair()
    code = obtain_code(client, app, scope="openid", challenge=challenge)
    first = redeem_code(client, app, secret, code, verifier=verifier)
    assert first.status_code == 200
    assert introspect(client, resource_server, first.json()["access_token"])["active"] is True
    replay = redeem_code(client, app, secret, code, verifier=verifier)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert introspect(client, resource_server, first.json()["access_token"]) == {"active": False}


def test_user_epoch_makes_every_earlier_token_of_the_user_inactive(client, portal, user, resource_server):
    app, secret = portal
    tokens = password_tokens(client, app, secret)
    revoke_user_tokens(actor="tests", user=user, reason="test")
    assert introspect(client, resource_server, tokens["access_token"]) == {"active": False}
    assert userinfo_status(client, tokens["access_token"]) == 401
    assert refresh(client, app, secret, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    # A token minted right after the epoch (the same second) is active.
    fresh = password_tokens(client, app, secret)
    assert introspect(client, resource_server, fresh["access_token"])["active"] is True


def test_client_epoch_makes_every_earlier_token_of_the_client_inactive(client, service, resource_server):
    app, secret = service
    token = cc_token(client, app, secret)
    revoke_client_tokens(actor="tests", client=app, reason="test")
    assert introspect(client, resource_server, token) == {"active": False}
    assert introspect(client, resource_server, cc_token(client, app, secret))["active"] is True


def test_jti_carries_its_issue_time_to_the_millisecond():
    before = int(time.time() * 1000)
    jti = revocation.new_jti()
    after = int(time.time() * 1000)
    assert before <= revocation.issued_ms({"jti": jti, "iat": 1}) <= after
    assert revocation.issued_ms({"jti": "not-a-uuid", "iat": 12}) == 12000
    assert len({revocation.new_jti(before) for _ in range(1000)}) == 1000


def test_revocation_check_is_one_statement(client, portal, user, resource_server):
    from django.test.utils import CaptureQueriesContext

    app, secret = portal
    token = password_tokens(client, app, secret)["access_token"]
    with CaptureQueriesContext(connection) as queries:
        assert introspect(client, resource_server, token)["active"] is True
    revocation_queries = [q["sql"] for q in queries if "iam_revocation" in q["sql"]]
    assert len(revocation_queries) == 1


@pytest.mark.django_db(transaction=True)  # outside a transaction, where a per-worker cache would serve
def test_disabled_client_stops_at_once_even_after_a_queryset_update(client, signing_key):
    app, secret = make_client("svc", grant_types=["client_credentials"], scopes=["api"])
    cc_token(client, app, secret)
    Application.objects.filter(pk=app.pk).update(is_active=False)
    r = client.post("/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(app.client_id, secret))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


# -- refresh keeps the family's scope (RFC 6749 §6) -----------------------------------------------

def test_refresh_with_narrower_scope_keeps_the_refresh_tokens_scope(client, portal, user):
    app, secret = portal
    tokens = password_tokens(client, app, secret)
    narrow = refresh(client, app, secret, tokens["refresh_token"], scope="openid")
    assert narrow.status_code == 200 and narrow.json()["scope"] == "openid"
    wider = refresh(client, app, secret, narrow.json()["refresh_token"], scope="openid email")
    assert wider.status_code == 200, wider.content
    assert wider.json()["scope"] == "openid email"
    full = refresh(client, app, secret, wider.json()["refresh_token"])
    assert set(full.json()["scope"].split()) == {"openid", "profile", "email", "offline_access"}
    assert refresh(client, app, secret, full.json()["refresh_token"], scope="openid groups").json()["error"] == (
        "invalid_scope")


# -- userinfo audience (security review item 12) ---------------------------------------------------

def test_userinfo_refuses_a_token_for_another_audience(client, signing_key, user):
    app, secret = make_client("portal2", grant_types=["password"], audiences=["storage"])
    r = client.post("/token/", {"grant_type": "password", "username": "alice", "password": DEFAULT_PASSWORD,
                                "scope": "openid profile", "audience": "storage"},
                    HTTP_AUTHORIZATION=basic(app.client_id, secret))
    assert r.status_code == 200, r.content
    assert userinfo_status(client, r.json()["access_token"]) == 401
    own = client.post("/token/", {"grant_type": "password", "username": "alice",
                                  "password": DEFAULT_PASSWORD, "scope": "openid profile",
                                  "audience": app.client_id}, HTTP_AUTHORIZATION=basic(app.client_id, secret))
    assert userinfo_status(client, own.json()["access_token"]) == 200


def test_userinfo_with_a_client_token_says_it_has_no_user(client, service):
    r = client.get("/userinfo/", HTTP_AUTHORIZATION=f"Bearer {cc_token(client, *service)}")
    assert r.status_code == 401 and "no user" in r.json()["error_description"]


# -- purge ------------------------------------------------------------------------------------------

def test_purgetokens_drops_expired_deny_list_entries_and_dead_families(client, portal, user):
    from datetime import timedelta

    from django.utils import timezone

    from iam.models import Revocation, TokenFamily
    from iam.services.housekeeping import purge_expired

    app, secret = portal
    live = password_tokens(client, app, secret)
    dead = password_tokens(client, app, secret)
    client.post("/revoke/", {"token": dead["refresh_token"]}, HTTP_AUTHORIZATION=basic(app.client_id, secret))
    TokenFamily.objects.update(created=timezone.now() - timedelta(hours=1))
    Revocation.objects.create(key="jti:old", expires=timezone.now() - timedelta(seconds=1))
    counts = purge_expired(actor="tests")
    assert counts["token_families"] == 1 and counts["revocations"] == 1
    assert TokenFamily.objects.count() == 1
    assert Revocation.objects.filter(key="jti:old").count() == 0
    assert refresh(client, app, secret, live["refresh_token"]).status_code == 200
    # The dead family's access token stays deny-listed until it expires.
    assert Revocation.objects.filter(key__startswith="jti:").count() == 1


def test_password_change_makes_earlier_tokens_inactive(client, portal, user, resource_server):
    from accounts.services.users import set_password

    app, secret = portal
    tokens = password_tokens(client, app, secret)
    set_password(actor="tests", user=user, password="a whole new passphrase 42")
    assert introspect(client, resource_server, tokens["access_token"]) == {"active": False}
    assert refresh(client, app, secret, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_a_portal_with_registered_audiences_still_reads_userinfo_with_its_sign_in_token(client, signing_key, user):
    """Its sign-in token (openid, no audience asked) is also for the portal itself."""
    app, secret = make_client("portal3", grant_types=["authorization_code"], redirect_uris=[REDIRECT],
                              audiences=["storage"])
    tokens = code_flow_tokens(client, app, secret, user, scope="openid profile")
    assert userinfo_status(client, tokens["access_token"]) == 200
    aud = json.loads(keys.b64url_decode(tokens["access_token"].split(".")[1]))["aud"]
    assert aud == [app.client_id, "storage"]
