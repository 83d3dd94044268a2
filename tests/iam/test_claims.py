"""One claims module feeds the ID token, userinfo, JWT access tokens and introspection."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from joserfc import jwt

from accounts.models import Group, Membership
from iam import claims
from tests.factories import make_client, make_user
from tests.iam.oauth import ISSUER, REDIRECT, at_hash, basic, keyset, obtain_code, pkce_pair, redeem_code, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def portal(signing_key):
    return make_client("portal", grant_types=["authorization_code"], redirect_uris=[REDIRECT])


def test_claims_released_by_scope():
    user = make_user("alice", groups=["cms"])
    assert claims.user_claims(user, ["openid"]) == {"sub": str(user.pk)}
    profile = claims.user_claims(user, ["openid", "profile"])
    assert profile["preferred_username"] == "alice" and profile["name"] == "Test Alice"
    assert profile["given_name"] == "Test" and profile["family_name"] == "Alice"
    assert profile["groups"] == ["cms"] and "email" not in profile
    email = claims.user_claims(user, ["openid", "email"])
    assert email["email"] == "alice@example.org" and email["email_verified"] is False
    assert "groups" not in email and "name" not in email
    assert claims.user_claims(user, ["groups"]) == {"sub": str(user.pk), "groups": ["cms"]}


def test_sub_is_the_user_uuid():
    user = make_user("uma")
    assert claims.user_claims(user, ["openid"])["sub"] == user.sub == str(user.id)


def test_groups_claim_lists_active_memberships_only():
    user = make_user("bob", groups=["live", "old", "later"])
    now = timezone.now()
    Membership.objects.filter(user=user, group=Group.objects.get(path="old")).update(
        expires_at=now - timedelta(seconds=1))
    Membership.objects.filter(user=user, group=Group.objects.get(path="later")).update(
        expires_at=now + timedelta(days=1))
    assert claims.user_claims(user, ["profile"])["groups"] == ["later", "live"]


def test_groups_claim_uses_full_paths():
    user = make_user("carl", groups=["cms/analysis"])
    assert claims.user_claims(user, ["groups"])["groups"] == ["cms/analysis"]  # not its parent


def test_access_token_claims_for_a_user_carry_groups_and_auth_time(signing_key):
    user = make_user("dina", groups=["atlas"])
    app, _ = make_client("svc", grant_types=["client_credentials"])
    auth_time = timezone.now() - timedelta(minutes=5)
    payload = claims.access_token_claims(client=app, user=user, scopes=["openid", "profile"], audience=["a"],
                                         now=1000, lifetime=60, auth_time=auth_time, jti="j1")
    assert payload["sub"] == str(user.pk) and payload["aud"] == "a" and payload["exp"] == 1060
    assert payload["groups"] == ["atlas"] and payload["auth_time"] == int(auth_time.timestamp())
    bare = claims.access_token_claims(client=app, user=user, scopes=["openid"], audience=["a", "b"], now=1000,
                                      lifetime=60, jti="j2")
    assert "groups" not in bare and bare["aud"] == ["a", "b"]


def test_id_token_claims(client, portal):
    user = make_user("carol", groups=["atlas/ops"])
    app, secret = portal
    auth_time = int(time.time()) - 30
    sign_in(client, user, auth_time=auth_time, amr=["pwd"])
    verifier, challenge = pkce_pair()
    code = obtain_code(client, app, scope="openid profile email", nonce="n-123", challenge=challenge)
    r = redeem_code(client, app, secret, code, verifier=verifier)
    assert r.status_code == 200, r.content
    body = r.json()
    ks = keyset(client)
    id_token = jwt.decode(body["id_token"], ks)
    assert id_token.header["typ"] == "JWT" and id_token.header["alg"] == "RS256"
    idt = id_token.claims
    assert idt["iss"] == ISSUER and idt["aud"] == app.client_id and idt["sub"] == str(user.pk)
    assert idt["nonce"] == "n-123" and idt["amr"] == ["pwd"] and idt["groups"] == ["atlas/ops"]
    assert idt["auth_time"] == auth_time
    now = int(time.time())
    assert idt["iat"] <= now + 1 and idt["exp"] == idt["iat"] + 3600
    assert idt["at_hash"] == at_hash(body["access_token"])
    assert idt["email"] == "carol@example.org" and idt["preferred_username"] == "carol"
    access = jwt.decode(body["access_token"], ks)
    assert access.header["typ"] == "at+jwt" and access.claims["sub"] == str(user.pk)
    assert access.claims["auth_time"] == auth_time and access.claims["groups"] == ["atlas/ops"]


def test_id_token_with_openid_only_carries_no_profile_claims(client, portal):
    app, secret = portal
    sign_in(client, make_user("dave", groups=["g"]))
    code = obtain_code(client, app, scope="openid")
    idt = jwt.decode(redeem_code(client, app, secret, code).json()["id_token"], keyset(client)).claims
    assert "nonce" not in idt
    for name in ("email", "name", "preferred_username", "groups"):
        assert name not in idt


def test_id_token_lifetime_is_per_client(client, portal):
    app, secret = portal
    app.id_token_lifetime = 300
    app.save()
    sign_in(client, make_user("fred"))
    code = obtain_code(client, app, scope="openid")
    idt = jwt.decode(redeem_code(client, app, secret, code).json()["id_token"], keyset(client)).claims
    assert idt["exp"] - idt["iat"] == 300


def test_userinfo_introspection_and_id_token_agree(client, portal):
    user = make_user("gail", groups=["cms", "atlas"])
    app, secret = portal
    sign_in(client, user)
    code = obtain_code(client, app, scope="openid profile email")
    body = redeem_code(client, app, secret, code).json()
    idt = jwt.decode(body["id_token"], keyset(client)).claims
    info = client.get("/userinfo/", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}").json()
    intro = client.post("/introspect/", {"token": body["access_token"]},
                        HTTP_AUTHORIZATION=basic(app.client_id, secret)).json()
    for name in ("sub", "groups", "email", "preferred_username", "name"):
        assert info[name] == idt[name] == intro[name], name
    assert idt["groups"] == ["atlas", "cms"]


def test_expired_membership_leaves_tokens_issued_afterwards(client, portal):
    user = make_user("hal", groups=["cms", "old"])
    Membership.objects.filter(user=user, group__path="old").update(expires_at=timezone.now() - timedelta(seconds=1))
    app, secret = portal
    sign_in(client, user)
    body = redeem_code(client, app, secret, obtain_code(client, app, scope="openid groups")).json()
    assert jwt.decode(body["id_token"], keyset(client)).claims["groups"] == ["cms"]
    assert client.get("/userinfo/", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}").json()["groups"] == ["cms"]
