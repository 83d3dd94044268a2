"""The Django admin writes through the services, and is mounted only where it is asked for."""

import importlib
import re
from html import unescape
from io import StringIO

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import Resolver404, clear_url_caches, resolve
from oauth2_provider.models import get_access_token_model, get_id_token_model, get_refresh_token_model

from accounts.models import AuditEvent, Group, User
from accounts.services.users import set_user_active
from iam import conf
from iam.management.commands import bootstrap
from iam.models import Application, Grant
from iam.secrets import check_client_secret
from iam.services.clients import ClientError, create_client, update_client
from tests.factories import DEFAULT_PASSWORD, make_client, make_user
from tests.iam.oauth import basic

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/iam/application/add/"
NEW_PASSWORD = "a brand new passphrase 42"


@pytest.fixture
def operator(client):
    user = make_user("operator", is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def cc(client, client_id, secret):
    return client.post("/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(client_id, secret))


def shown_secret(response) -> tuple[str, str]:
    html = response.content.decode()
    client_id = re.search(r'id="client_id"[^>]*value="([^"]*)"', html).group(1)
    secret = re.search(r'id="client_secret"[^>]*value="([^"]*)"', html).group(1)
    return unescape(client_id), unescape(secret)


def client_form(**overrides) -> dict:
    data = {
        "name": "batch",
        "client_kind": "confidential",
        "grant_types": ["client_credentials"],
        "redirect_uris": "",
        "post_logout_redirect_uris": "",
        "scopes": ["openid", "storage.read"],
        "audiences": "storage\n",
        "token_signing_alg": "RS256",
        "pkce_required": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def change_form(app: Application, **overrides) -> dict:
    data = client_form(
        name=app.name, client_kind=None, active="on" if app.is_active else None,
        pkce_required="on" if app.pkce_required else None,
        grant_types=app.grant_types, redirect_uris="\n".join(app.redirect_uris.split()),
        scopes=list(app.allowed_scopes),
        audiences="\n".join(app.audiences),
    )
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# -- the services the admin calls ------------------------------------------------------------------
# update_client: the same rules as create_client
BAD_SETTINGS = [
    {"grant_types": ["implicit"]},
    {"grant_types": ["authorization_code"], "redirect_uris": []},
    {"grant_types": ["authorization_code"], "redirect_uris": ["http://example.org/cb"]},
    {"grant_types": ["authorization_code"], "redirect_uris": ["https://example.org/cb#frag"]},
    {"grant_types": ["authorization_code"], "redirect_uris": ["https://ok.example/cb"],
     "post_logout_redirect_uris": ["ftp://example.org/"]},
    {"grant_types": ["client_credentials"], "scopes": ["has space"]},
    {"grant_types": ["client_credentials"], "token_signing_alg": "HS256"},
]
BAD_PUBLIC_SETTINGS = [
    {"grant_types": ["client_credentials"]},
    {"grant_types": ["password"]},
    {"grant_types": ["urn:ietf:params:oauth:grant-type:device_code"], "introspection": True},
]


@pytest.mark.parametrize("public, bad", [(False, b) for b in BAD_SETTINGS] + [(True, b) for b in BAD_PUBLIC_SETTINGS])
def test_update_client_refuses_what_create_client_refuses(public, bad):
    with pytest.raises(ClientError):
        create_client(actor="tests", name="new", public=public, **bad)
    grant = "urn:ietf:params:oauth:grant-type:device_code" if public else "client_credentials"
    app, _ = make_client("existing", public=public, grant_types=[grant])
    with pytest.raises(ClientError):
        update_client(actor="tests", client=app, **bad)
    assert Application.objects.get(pk=app.pk).grant_types == [grant]
    assert not AuditEvent.objects.filter(action="client.update").exists()


def test_update_client_records_what_changed_and_only_when_something_did():
    app, _ = make_client("svc", grant_types=["client_credentials"], audiences=["a"])
    update_client(actor="tests", client=app, audiences=["a"])
    assert not AuditEvent.objects.filter(action="client.update").exists()
    updated, secret = update_client(actor="tests", client=app, audiences=["a", "b"], name="svc2")
    assert secret is None and updated.audiences == ["a", "b"] and updated.name == "svc2"
    assert AuditEvent.objects.get(action="client.update").data["changed"] == {"audiences": ["a", "b"], "name": "svc2"}


def test_public_client_has_no_secret_to_rotate():
    app, _ = make_client("cli", public=True, grant_types=["urn:ietf:params:oauth:grant-type:device_code"])
    with pytest.raises(ClientError):
        update_client(actor="tests", client=app, rotate_secret=True)


def test_set_user_active_is_audited_once_and_withdraws_tokens_only_on_deactivation():
    from iam.models import Revocation

    user = make_user("ivy")
    assert set_user_active(actor="tests", user=user, active=False)
    assert not set_user_active(actor="tests", user=user, active=False)  # already inactive
    assert set_user_active(actor="tests", user=user, active=True)
    assert Revocation.objects.filter(key=f"user:{user.pk}").count() == 1
    assert AuditEvent.objects.filter(action="token.user_tokens_revoked", target_id=str(user.pk)).count() == 1
    assert list(AuditEvent.objects.filter(target_id=str(user.pk)).exclude(action="user.create")
                .values_list("action", flat=True)) == ["user.deactivate", "token.user_tokens_revoked",
                                                      "user.activate"]


# -- where the admin is mounted ----------------------------------------------------------------------
@pytest.mark.parametrize("env, mounted", [
    ({}, True),  # first run: http://127.0.0.1:8000
    ({"IAM_ISSUER": "http://localhost:8000"}, True),
    ({"IAM_ISSUER": "https://iam.example.org"}, False),
    ({"IAM_ISSUER": "https://iam.example.org", "IAM_ADMIN_ENABLED": "1"}, True),
    ({"IAM_ADMIN_ENABLED": "0"}, False),
])
def test_admin_is_mounted_by_default_only_for_a_loopback_issuer(tmp_path, monkeypatch, env, mounted):
    monkeypatch.setenv("IAM_VAR_DIR", str(tmp_path))
    assert conf.load({"SECRET_KEY": "k" * 50, **env}).admin_enabled is mounted


@pytest.fixture
def public_issuer_config(tmp_path, monkeypatch):
    """Reload the URLconf as a public server without IAM_ADMIN_ENABLED would build it."""
    import iam.urls

    monkeypatch.setenv("IAM_VAR_DIR", str(tmp_path))
    monkeypatch.setattr(conf, "config", conf.load({"SECRET_KEY": "k" * 50, "IAM_ISSUER": "https://iam.example.org"}))
    importlib.reload(iam.urls)
    clear_url_caches()
    yield conf.config
    monkeypatch.undo()
    importlib.reload(iam.urls)
    clear_url_caches()


def test_admin_is_not_routed_when_disabled(public_issuer_config):
    with pytest.raises(Resolver404):
        resolve("/admin/")
    with pytest.raises(Resolver404):
        resolve("/admin/login/")
    assert resolve("/token/").url_name == "token"


def test_home_page_links_the_admin_only_where_it_is_mounted(client, public_issuer_config):
    client.force_login(make_user("staff", is_staff=True))
    r = client.get("/")
    assert r.status_code == 200 and "/admin/" not in r.content.decode()


def test_bootstrap_says_so_when_the_admin_is_off(monkeypatch, pooled_keys, tmp_path):
    monkeypatch.setenv("IAM_VAR_DIR", str(tmp_path))
    monkeypatch.setattr(bootstrap, "config", conf.load({"SECRET_KEY": "k" * 50, "IAM_ISSUER": "https://iam.example.org"}))
    out = StringIO()
    call_command("bootstrap", stdout=out)
    assert "/admin/" not in out.getvalue() and "IAM_ADMIN_ENABLED=1" in out.getvalue()


# -- clients ---------------------------------------------------------------------------------------
def test_client_added_in_admin_works_at_the_token_endpoint(client, operator, signing_key):
    page = client.get(ADD_URL)
    assert page.status_code == 200
    r = client.post(ADD_URL, client_form())
    assert r.status_code == 200, r.content
    client_id, secret = shown_secret(r)
    app = Application.objects.get(client_id=client_id)
    assert app.grant_types == ["client_credentials"] and app.audiences == ["storage"]
    assert app.allowed_scopes == ["openid", "storage.read"]
    assert check_client_secret(secret, app.client_secret)  # our keyed hash, not DOT's
    token = cc(client, client_id, secret)
    assert token.status_code == 200 and token.json()["token_type"].lower() == "bearer"
    event = AuditEvent.objects.get(action="client.create", target_id=str(app.pk))
    assert event.actor == "user:operator"


def test_client_secret_is_shown_once_and_never_on_the_change_page(client, operator):
    app, secret = make_client("svc", grant_types=["client_credentials"])
    r = client.get(f"/admin/iam/application/{app.pk}/change/")
    html = r.content.decode()
    assert r.status_code == 200 and secret not in html and app.client_secret not in html
    assert "cannot be shown again" in html and 'name="client_secret"' not in html
    assert r["Cache-Control"] and "no-store" in r["Cache-Control"]


def test_admin_client_form_asks_nothing_dot_does_not_use(client, operator):
    html = client.get(ADD_URL).content.decode()
    for unused in ("authorization_grant_type", "algorithm", "hash_client_secret", "client_secret", "user",
                   "allowed_origins", "registration_source"):
        assert f'name="{unused}"' not in html
    for grant in ("authorization_code", "client_credentials", "urn:ietf:params:oauth:grant-type:device_code"):
        assert f'value="{grant}"' in html


@pytest.mark.parametrize("overrides, message", [
    ({"grant_types": ["authorization_code"]}, "authorization_code needs at least one"),
    ({"grant_types": ["authorization_code"], "redirect_uris": "http://example.org/cb"}, "only allowed on loopback"),
    ({"grant_types": ["authorization_code"], "redirect_uris": "https://example.org/cb#x"}, "fragment"),
    ({"client_kind": "public"}, "public client cannot use client_credentials"),
    ({"scopes": ["openid", "undefined.scope"]}, "not one of the available choices"),
    # A space inside a line would silently become two redirect URIs.
    ({"grant_types": ["authorization_code"], "redirect_uris": "https://a.example/c b"}, "without spaces"),
])
def test_admin_client_add_applies_create_client_rules(client, operator, overrides, message):
    r = client.post(ADD_URL, client_form(**overrides))
    assert r.status_code == 200 and message in unescape(r.content.decode())
    assert not Application.objects.exists() and not AuditEvent.objects.filter(action="client.create").exists()


def test_admin_client_change_goes_through_the_service(client, operator, signing_key):
    app, secret = make_client("portal", grant_types=["authorization_code"], redirect_uris=["https://a.example/cb"])
    url = f"/admin/iam/application/{app.pk}/change/"
    r = client.post(url, change_form(app, grant_types=["authorization_code", "client_credentials"],
                                     redirect_uris="https://a.example/cb\nhttps://b.example/cb"))
    assert r.status_code == 302, r.content
    app.refresh_from_db()
    assert app.redirect_uris.split() == ["https://a.example/cb", "https://b.example/cb"]
    event = AuditEvent.objects.get(action="client.update")
    assert event.actor == "user:operator" and set(event.data["changed"]) == {"grant_types", "redirect_uris"}
    assert cc(client, app.client_id, secret).status_code == 200  # the secret is untouched


def test_admin_client_change_applies_create_client_rules(client, operator):
    app, _ = make_client("portal", grant_types=["authorization_code"], redirect_uris=["https://a.example/cb"])
    r = client.post(f"/admin/iam/application/{app.pk}/change/",
                    change_form(app, redirect_uris="http://evil.example/cb"))
    assert r.status_code == 200 and "only allowed on loopback" in unescape(r.content.decode())
    app.refresh_from_db()
    assert app.redirect_uris == "https://a.example/cb"
    assert not AuditEvent.objects.filter(action="client.update").exists()


def test_client_disabled_in_admin_gets_no_tokens(client, operator, signing_key):
    app, secret = make_client("svc", grant_types=["client_credentials"])
    r = client.post(f"/admin/iam/application/{app.pk}/change/", change_form(app, active=None))
    assert r.status_code == 302
    assert cc(client, app.client_id, secret).status_code == 401
    assert AuditEvent.objects.get(action="client.update").data["changed"] == {"active": False}


def test_rotate_secret_in_admin_shows_a_new_working_secret_once(client, operator, signing_key):
    app, old = make_client("svc", grant_types=["client_credentials"])
    url = f"/admin/iam/application/{app.pk}/rotate-secret/"
    assert client.get(url).status_code == 200
    assert check_client_secret(old, Application.objects.get(pk=app.pk).client_secret)  # GET changes nothing
    r = client.post(url)
    assert r.status_code == 200 and "no-store" in r["Cache-Control"]
    client_id, new = shown_secret(r)
    assert client_id == app.client_id and new != old
    assert cc(client, app.client_id, old).status_code == 401
    assert cc(client, app.client_id, new).status_code == 200
    event = AuditEvent.objects.get(action="client.rotate_secret")
    assert event.actor == "user:operator" and new not in str(event.data)


def test_admin_deletes_clients_through_the_service(client, operator, signing_key):
    from iam.access_tokens import active_access_token

    app, secret = make_client("svc", grant_types=["client_credentials"])
    token = cc(client, app.client_id, secret).json()["access_token"]
    assert client.post(f"/admin/iam/application/{app.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Application.objects.filter(pk=app.pk).exists()
    assert active_access_token(token) is None  # its epoch outlives it
    assert AuditEvent.objects.get(action="client.delete").actor == "user:operator"


def test_token_admins_are_gone_or_read_only(rf, operator):
    for model in (get_access_token_model(), get_id_token_model(), Grant):
        assert not admin.site.is_registered(model)
    refresh_admin = admin.site._registry[get_refresh_token_model()]
    request = rf.get("/admin/")
    request.user = operator
    assert not refresh_admin.has_add_permission(request)
    assert not refresh_admin.has_change_permission(request)
    assert not refresh_admin.has_delete_permission(request)
    assert refresh_admin.has_view_permission(request)


def test_refresh_token_list_renders(client, operator):
    assert client.get("/admin/oauth2_provider/refreshtoken/").status_code == 200


# -- users -----------------------------------------------------------------------------------------
def test_user_added_in_admin_goes_through_create_user(client, operator):
    r = client.post("/admin/accounts/user/add/", {
        "username": "carol", "email": "carol@example.org", "first_name": "Carol", "last_name": "C",
        "password1": NEW_PASSWORD, "password2": NEW_PASSWORD,
    })
    assert r.status_code == 302, r.content
    carol = User.objects.get(username="carol")
    assert carol.check_password(NEW_PASSWORD) and carol.password.startswith("argon2")
    assert AuditEvent.objects.get(action="user.create", target_id=str(carol.pk)).actor == "user:operator"


def test_user_add_in_admin_applies_create_user_rules(client, operator):
    make_user("dave")
    r = client.post("/admin/accounts/user/add/", {"username": "DAVE", "email": "other@example.org"})
    assert r.status_code == 200 and "is taken" in unescape(r.content.decode())
    assert User.objects.filter(username__iexact="dave").count() == 1


def test_deactivating_a_user_in_admin_is_audited_and_ends_their_tokens(client, operator, signing_key):
    from tests.factories import DEFAULT_PASSWORD
    from tests.iam.oauth import basic

    user = make_user("erin")
    app, secret = make_client("cli", grant_types=["password"])
    token = client.post("/token/", {"grant_type": "password", "username": "erin", "password": DEFAULT_PASSWORD,
                                    "scope": "openid"}, HTTP_AUTHORIZATION=basic(app.client_id, secret))
    token = token.json()["access_token"]
    r = client.post(f"/admin/accounts/user/{user.pk}/change/", {})  # "Active" unticked
    assert r.status_code == 302, r.content
    from iam.access_tokens import active_access_token

    assert active_access_token(token) is None
    user.refresh_from_db()
    assert not user.is_active
    User.objects.filter(pk=user.pk).update(is_active=True)  # even re-enabled, the old token stays dead
    assert active_access_token(token) is None
    assert AuditEvent.objects.get(action="user.deactivate", target_id=str(user.pk)).actor == "user:operator"


def test_user_profile_and_privileges_are_read_only_in_admin(client, operator):
    user = make_user("frank")
    r = client.post(f"/admin/accounts/user/{user.pk}/change/", {
        "is_active": "on", "is_staff": "on", "is_superuser": "on", "email": "evil@example.org",
        "username": "root", "email_verified": "on",
    })
    assert r.status_code == 302
    user.refresh_from_db()
    assert (user.username, user.email, user.is_staff, user.is_superuser, user.email_verified) == (
        "frank", "frank@example.org", False, False, False)
    assert not AuditEvent.objects.filter(target_id=str(user.pk)).exclude(action="user.create").exists()


def test_password_set_in_admin_goes_through_set_password(client, operator):
    user = make_user("gina")
    url = f"/admin/accounts/user/{user.pk}/password/"
    assert client.get(url).status_code == 200
    r = client.post(url, {"new_password1": "short", "new_password2": "short"})
    assert r.status_code == 200 and not AuditEvent.objects.filter(action="user.set_password").exists()
    r = client.post(url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert r.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD) and not user.check_password(DEFAULT_PASSWORD)
    assert AuditEvent.objects.get(action="user.set_password").actor == "user:operator"


def test_admin_does_not_delete_users(client, operator):
    user = make_user("hank")
    assert client.post(f"/admin/accounts/user/{user.pk}/delete/", {"post": "yes"}).status_code == 403
    assert User.objects.filter(pk=user.pk).exists()


# -- groups ----------------------------------------------------------------------------------------
def test_groups_and_members_added_in_admin_go_through_the_services(client, operator):
    r = client.post("/admin/accounts/group/add/", {"path": "cms/analysis"})
    assert r.status_code == 302, r.content
    group = Group.objects.get(path="cms/analysis")
    assert AuditEvent.objects.filter(action="group.create").count() == 2  # cms and cms/analysis
    user = make_user("jack")
    prefix = "memberships"
    r = client.post(f"/admin/accounts/group/{group.pk}/change/", {
        f"{prefix}-TOTAL_FORMS": "1", f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000",
        f"{prefix}-0-user": str(user.pk), f"{prefix}-0-group": str(group.pk),
    })
    assert r.status_code == 302, r.content
    assert user.active_group_paths() == ["cms/analysis"]
    assert AuditEvent.objects.get(action="group.member_add").actor == "user:operator"


def test_admin_lists_authorizations_and_revokes_them_through_the_service(client, operator, signing_key):
    from iam.access_tokens import active_access_token
    from iam.models import TokenFamily
    from tests.factories import DEFAULT_PASSWORD
    from tests.iam.oauth import basic

    make_user("gus")
    app, secret = make_client("cli", grant_types=["password", "refresh_token"])
    tokens = client.post("/token/", {"grant_type": "password", "username": "gus", "password": DEFAULT_PASSWORD,
                                     "scope": "openid offline_access"},
                         HTTP_AUTHORIZATION=basic(app.client_id, secret)).json()
    family = TokenFamily.objects.get()
    listing = client.get("/admin/iam/tokenfamily/")
    assert listing.status_code == 200 and "gus" in listing.content.decode()
    r = client.post("/admin/iam/tokenfamily/", {"action": "revoke", "_selected_action": [str(family.pk)]})
    assert r.status_code == 302
    assert active_access_token(tokens["access_token"]) is None
    refreshed = client.post("/token/", {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                            HTTP_AUTHORIZATION=basic(app.client_id, secret))
    assert refreshed.json()["error"] == "invalid_grant"
    assert AuditEvent.objects.filter(action="token.family_revoked", actor="user:operator").count() == 1
