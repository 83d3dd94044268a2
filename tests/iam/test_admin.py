"""The Django admin writes through the services, and is mounted only where it is asked for."""

import importlib
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import Resolver404, clear_url_caches, resolve

from accounts import signals
from accounts.models import AuditEvent
from accounts.services.users import set_user_active
from iam import conf
from iam.management.commands import bootstrap
from iam.models import Application
from iam.services.clients import ClientError, create_client, update_client
from tests.factories import make_client, make_user

pytestmark = pytest.mark.django_db


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


def test_set_user_active_is_audited_once_and_signals_only_deactivation(django_capture_on_commit_callbacks):
    user = make_user("ivy")
    seen = []
    signals.user_deactivated.connect(lambda sender, user, actor, **kw: seen.append(user.pk), weak=False,
                                     dispatch_uid="test-listener")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert set_user_active(actor="tests", user=user, active=False)
            assert not set_user_active(actor="tests", user=user, active=False)  # already inactive
            assert set_user_active(actor="tests", user=user, active=True)
    finally:
        signals.user_deactivated.disconnect(dispatch_uid="test-listener")
    assert seen == [user.pk]
    assert list(AuditEvent.objects.filter(target_id=str(user.pk)).exclude(action="user.create")
                .values_list("action", flat=True)) == ["user.deactivate", "user.activate"]


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
