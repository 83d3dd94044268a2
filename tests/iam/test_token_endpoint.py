"""The token endpoint (RFC 6749 §3.2, §5): client authentication, grant policy, JWT access tokens."""

import time

import pytest
from joserfc import jwt

from iam.models import Application
from tests.factories import make_client, make_user
from tests.iam.oauth import ISSUER, REDIRECT, at_hash, basic, code_flow_tokens, keyset

pytestmark = pytest.mark.django_db


@pytest.fixture
def service(signing_key):
    return make_client("svc", grant_types=["client_credentials"], scopes=["storage.read", "storage.write"])


def cc(client, app, secret, **data):
    return client.post("/token/", {"grant_type": "client_credentials", **data},
                       HTTP_AUTHORIZATION=basic(app.client_id, secret))


def test_client_credentials_issues_signed_at_jwt(client, service):
    app, secret = service
    r = cc(client, app, secret)
    assert r.status_code == 200, r.content
    assert r["Cache-Control"] == "no-store"
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    token = jwt.decode(body["access_token"], keyset(client))  # signature checked against /jwks/
    assert token.header["typ"] == "at+jwt" and token.header["alg"] == "RS256"
    assert token.header["kid"] in {k["kid"] for k in client.get("/jwks/").json()["keys"]}
    claims = token.claims
    assert claims["iss"] == ISSUER and claims["sub"] == app.client_id and claims["client_id"] == app.client_id
    assert claims["aud"] == app.client_id
    assert claims["scope"] == "storage.read storage.write"
    now = int(time.time())
    assert claims["iat"] <= now + 1 and claims["exp"] == claims["iat"] + 3600 and claims["jti"]


def test_tampered_access_token_does_not_verify(client, service):
    from joserfc.errors import BadSignatureError

    from iam.keys import b64url

    app, secret = service
    header, _payload, signature = cc(client, app, secret).json()["access_token"].split(".")
    forged = b64url(b'{"iss":"%s","sub":"admin","scope":"storage.write"}' % ISSUER.encode())
    with pytest.raises(BadSignatureError):
        jwt.decode(f"{header}.{forged}.{signature}", keyset(client))


def test_client_secret_basic_authenticates(client, service):
    app, secret = service
    assert cc(client, app, secret).status_code == 200


def test_client_secret_post_authenticates(client, service):
    app, secret = service
    r = client.post("/token/", {"grant_type": "client_credentials", "client_id": app.client_id,
                                "client_secret": secret})
    assert r.status_code == 200 and r.json()["token_type"] == "Bearer"


def test_wrong_secret_is_invalid_client_with_www_authenticate(client, service):
    app, secret = service
    r = cc(client, app, secret + "x")
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert r["WWW-Authenticate"].startswith("Basic ")
    posted = client.post("/token/", {"grant_type": "client_credentials", "client_id": app.client_id,
                                     "client_secret": "wrong"})
    assert posted.status_code == 401 and posted.json()["error"] == "invalid_client"
    assert "WWW-Authenticate" in posted


def test_unknown_client_is_invalid_client(client, service):
    r = client.post("/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic("nobody", "secret"))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_disabled_client_is_invalid_client(client, service):
    app, secret = service
    Application.objects.filter(pk=app.pk).update(is_active=False)
    r = cc(client, app, secret)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_unknown_grant_type_is_unsupported_grant_type(client, service):
    app, secret = service
    r = client.post("/token/", {"grant_type": "urn:example:magic"}, HTTP_AUTHORIZATION=basic(app.client_id, secret))
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"


def test_missing_grant_type_is_invalid_request(client, service):
    app, secret = service
    r = client.post("/token/", {}, HTTP_AUTHORIZATION=basic(app.client_id, secret))
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_grant_not_allowed_for_client_is_unauthorized_client(client, signing_key):
    from tests.factories import DEFAULT_PASSWORD

    make_user("paul")
    app, secret = make_client("cli", grant_types=["client_credentials"])
    # Right or wrong password, the answer is the same: such a client cannot test passwords.
    for password in ("wrong password", DEFAULT_PASSWORD):
        r = client.post("/token/", {"grant_type": "password", "username": "paul", "password": password},
                        HTTP_AUTHORIZATION=basic(app.client_id, secret))
        assert r.status_code == 400 and r.json()["error"] == "unauthorized_client", password


def test_client_credentials_refused_for_a_client_without_that_grant(client, signing_key):
    app, secret = make_client("portal", grant_types=["authorization_code"], redirect_uris=[REDIRECT])
    r = cc(client, app, secret)
    assert r.status_code == 400 and r.json()["error"] == "unauthorized_client"


def test_password_grant_works_for_a_client_registered_for_it(client, signing_key):
    from tests.factories import DEFAULT_PASSWORD

    user = make_user("pia")
    app, secret = make_client("legacy", grant_types=["password"], scopes=["openid", "profile"])
    r = client.post("/token/", {"grant_type": "password", "username": "pia", "password": DEFAULT_PASSWORD,
                                "scope": "openid"}, HTTP_AUTHORIZATION=basic(app.client_id, secret))
    assert r.status_code == 200, r.content
    assert jwt.decode(r.json()["access_token"], keyset(client)).claims["sub"] == str(user.pk)
    wrong = client.post("/token/", {"grant_type": "password", "username": "pia", "password": "nope"},
                        HTTP_AUTHORIZATION=basic(app.client_id, secret))
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"


def test_password_grant_with_openid_returns_an_id_token(client, signing_key):
    from tests.factories import DEFAULT_PASSWORD

    user = make_user("pia")
    app, secret = make_client("legacy", grant_types=["password"], scopes=["openid", "profile"])

    def password_grant(scope):
        r = client.post("/token/", {"grant_type": "password", "username": "pia", "password": DEFAULT_PASSWORD,
                                    "scope": scope}, HTTP_AUTHORIZATION=basic(app.client_id, secret))
        assert r.status_code == 200, r.content
        return r.json()

    body = password_grant("openid profile")
    idt = jwt.decode(body["id_token"], keyset(client)).claims
    assert idt["iss"] == ISSUER and idt["sub"] == str(user.pk) and idt["aud"] == app.client_id
    assert idt["amr"] == ["pwd"] and abs(idt["auth_time"] - time.time()) < 10
    assert idt["at_hash"] == at_hash(body["access_token"]) and idt["preferred_username"] == "pia"
    assert "id_token" not in password_grant("profile")


def test_scope_not_registered_for_client_is_invalid_scope(client, service):
    app, secret = service
    r = cc(client, app, secret, scope="storage.read admin")
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"
    ok = cc(client, app, secret, scope="storage.read")
    assert ok.status_code == 200 and ok.json()["scope"] == "storage.read"


def test_client_credentials_default_scopes_exclude_user_scopes(client, signing_key):
    app, secret = make_client("svc", grant_types=["client_credentials"],
                              scopes=["openid", "profile", "email", "groups", "offline_access", "compute"])
    r = cc(client, app, secret)
    assert r.status_code == 200 and r.json()["scope"] == "compute"
    assert jwt.decode(r.json()["access_token"], keyset(client)).claims["scope"] == "compute"


def test_audience_not_registered_is_invalid_target(client, signing_key):
    app, secret = make_client("svc", grant_types=["client_credentials"], audiences=["https://storage.example"])
    for name in ("audience", "resource"):
        r = cc(client, app, secret, **{name: "https://other.example"})
        assert r.status_code == 400 and r.json()["error"] == "invalid_target", name


def test_registered_audience_is_granted_and_is_the_default(client, signing_key):
    app, secret = make_client("svc", grant_types=["client_credentials"],
                              audiences=["https://storage.example", "https://compute.example"])
    ks = keyset(client)
    one = cc(client, app, secret, audience="https://compute.example")
    assert one.status_code == 200
    assert jwt.decode(one.json()["access_token"], ks).claims["aud"] == "https://compute.example"
    default = jwt.decode(cc(client, app, secret).json()["access_token"], ks).claims["aud"]
    assert default == ["https://storage.example", "https://compute.example"]


def test_client_without_audiences_gets_its_own_id_as_audience(client, service):
    app, secret = service
    r = cc(client, app, secret, audience=app.client_id)
    assert r.status_code == 200
    assert jwt.decode(r.json()["access_token"], keyset(client)).claims["aud"] == app.client_id


def test_per_client_access_token_lifetime(client, signing_key):
    app, secret = make_client("svc", grant_types=["client_credentials"])
    app.access_token_lifetime = 90
    app.save()
    r = cc(client, app, secret)
    assert r.status_code == 200 and r.json()["expires_in"] == 90
    claims = jwt.decode(r.json()["access_token"], keyset(client)).claims
    assert claims["exp"] - claims["iat"] == 90


def test_refresh_tokens_only_for_clients_with_refresh_token_grant(client, signing_key):
    user = make_user("rita")
    without, s1 = make_client("no-rt", grant_types=["authorization_code"], redirect_uris=[REDIRECT])
    with_rt, s2 = make_client("rt", grant_types=["authorization_code", "refresh_token"], redirect_uris=[REDIRECT])
    assert "refresh_token" not in code_flow_tokens(client, without, s1, user)
    tokens = code_flow_tokens(client, with_rt, s2, user)
    assert tokens["refresh_token"]
    r = client.post("/token/", {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                    HTTP_AUTHORIZATION=basic(with_rt.client_id, s2))
    assert r.status_code == 200 and r.json()["refresh_token"] != tokens["refresh_token"]  # rotated


def test_refresh_grant_refused_for_client_without_it(client, signing_key):
    app, secret = make_client("no-rt", grant_types=["client_credentials"])
    r = client.post("/token/", {"grant_type": "refresh_token", "refresh_token": "whatever"},
                    HTTP_AUTHORIZATION=basic(app.client_id, secret))
    assert r.status_code == 400 and r.json()["error"] == "unauthorized_client"


def test_used_refresh_token_is_refused_and_revokes_the_family(client, signing_key):
    user = make_user("ron")
    app, secret = make_client("rt", grant_types=["authorization_code", "refresh_token"], redirect_uris=[REDIRECT])
    first = code_flow_tokens(client, app, secret, user)
    auth = basic(app.client_id, secret)
    second = client.post("/token/", {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
                         HTTP_AUTHORIZATION=auth).json()
    replay = client.post("/token/", {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
                         HTTP_AUTHORIZATION=auth)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    after = client.post("/token/", {"grant_type": "refresh_token", "refresh_token": second["refresh_token"]},
                        HTTP_AUTHORIZATION=auth)
    assert after.status_code == 400 and after.json()["error"] == "invalid_grant"
