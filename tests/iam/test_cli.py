"""The operator commands, exactly as INTERFACES.md describes them."""

import io
import json

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.core.management import CommandError, call_command

from accounts.models import AuditEvent, Group, User
from iam.models import Application
from iam.secrets import check_client_secret

pytestmark = pytest.mark.django_db


def run(*args, stdin=None, monkeypatch=None):
    out = io.StringIO()
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    call_command(*args, stdout=out)
    return out.getvalue()


def test_createuser_creates_groups_with_parents_and_prints_json(monkeypatch):
    out = run("createuser", "alice", "--email", "alice@example.org", "--password-stdin", "--given-name", "Alice",
              "--family-name", "Liddell", "--group", "cms/analysis", "--group", "atlas", "--json",
              stdin="a long enough password\n", monkeypatch=monkeypatch)
    data = json.loads(out)
    user = User.objects.get(username="alice")
    assert data["id"] == str(user.pk) and data["email"] == "alice@example.org"
    assert sorted(data["groups"]) == ["atlas", "cms/analysis"]
    assert set(Group.objects.values_list("path", flat=True)) == {"cms", "cms/analysis", "atlas"}
    assert Group.objects.get(path="cms/analysis").parent.path == "cms"
    assert user.check_password("a long enough password") and user.first_name == "Alice"


def test_createuser_refuses_duplicate_username(monkeypatch):
    run("createuser", "bob", "--email", "bob@example.org")
    with pytest.raises(CommandError):
        run("createuser", "bob", "--email", "other@example.org")
    assert User.objects.filter(username="bob").count() == 1


def test_createuser_refuses_weak_password_and_changes_nothing(monkeypatch):
    with pytest.raises(CommandError):
        run("createuser", "carol", "--email", "c@example.org", "--password-stdin", "--group", "g1",
            stdin="short\n", monkeypatch=monkeypatch)
    assert not User.objects.filter(username="carol").exists()
    assert not Group.objects.filter(path="g1").exists()


def test_createclient_json_has_secret_only_for_confidential_clients():
    conf = json.loads(run("createclient", "svc", "--grant-type", "client_credentials", "--json"))
    pub = json.loads(run("createclient", "spa", "--public", "--redirect-uri", "http://127.0.0.1:9/cb",
                         "--grant-type", "authorization_code", "--json"))
    assert "client_secret" in conf and "client_secret" not in pub
    assert Application.objects.get(client_id=pub["client_id"]).client_type == "public"


def test_client_secret_stored_as_keyed_hash_not_password_hash():
    data = json.loads(run("createclient", "svc", "--grant-type", "client_credentials", "--json"))
    stored = Application.objects.get(client_id=data["client_id"]).client_secret
    assert data["client_secret"] not in stored
    assert stored.startswith("hmac-sha256$")
    with pytest.raises(ValueError):
        identify_hasher(stored)  # not one of Django's (slow) password hashers
    assert check_client_secret(data["client_secret"], stored)
    assert not check_client_secret(data["client_secret"] + "x", stored)
    assert len(data["client_secret"]) >= 43  # 256 bits, base64url


def test_createclient_repeated_options_and_policy_fields():
    data = json.loads(run(
        "createclient", "rs", "--grant-type", "client_credentials", "--grant-type", "refresh_token",
        "--scope", "read", "--scope", "write", "--audience", "a1", "--audience", "a2", "--introspection", "--json"))
    app = Application.objects.get(client_id=data["client_id"])
    assert app.grant_types == ["client_credentials", "refresh_token"]
    assert app.allowed_scopes == ["read", "write"] and app.audiences == ["a1", "a2"]
    assert app.may_introspect_any_token is True
    assert AuditEvent.objects.filter(action="client.create", target_id=str(app.pk)).exists()


@pytest.mark.parametrize("args", [
    ["--grant-type", "implicit"],
    ["--grant-type", "authorization_code"],  # no redirect URI
    ["--public", "--grant-type", "client_credentials"],
    ["--redirect-uri", "http://example.org/cb"],  # plain http off loopback
    ["--redirect-uri", "https://example.org/cb#frag"],
])
def test_createclient_refuses_unsafe_or_impossible_registrations(args):
    with pytest.raises(CommandError):
        run("createclient", "bad", *args)
    assert not Application.objects.filter(name="bad").exists()


def test_bootstrap_is_idempotent_and_prints_password_once():
    first = run("bootstrap")
    second = run("bootstrap")
    assert "password:" in first and "password:" not in second
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.password.startswith("argon2")
    assert User.objects.filter(is_superuser=True).count() == 1
