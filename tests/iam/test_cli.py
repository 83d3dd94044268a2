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
    # a keyed hash: without SECRET_KEY a stolen column cannot even check a guess
    import hashlib
    import hmac

    from django.test import override_settings

    digest = stored.removeprefix("hmac-sha256$")
    assert len(digest) == 64 and digest != hashlib.sha256(data["client_secret"].encode()).hexdigest()
    assert not hmac.compare_digest(digest, hmac.new(b"", data["client_secret"].encode(), hashlib.sha256).hexdigest())
    with override_settings(SECRET_KEY="a different secret key, long enough to be plausible"):
        assert not check_client_secret(data["client_secret"], stored)


def test_createclient_repeated_options_and_policy_fields():
    data = json.loads(run(
        "createclient", "rs", "--grant-type", "client_credentials", "--grant-type", "refresh_token",
        "--scope", "read", "--scope", "write", "--audience", "a1", "--audience", "a2", "--introspection", "--json"))
    app = Application.objects.get(client_id=data["client_id"])
    assert app.grant_types == ["client_credentials", "refresh_token"]
    assert app.allowed_scopes == ["read", "write"] and app.audiences == ["a1", "a2"]
    assert app.may_introspect_any_token is True
    assert AuditEvent.objects.filter(action="client.create", target_id=str(app.pk)).exists()


@pytest.mark.parametrize("args, message", [
    (["--grant-type", "implicit"], "unknown grant type 'implicit'"),
    (["--grant-type", "authorization_code"], "needs at least one redirect URI"),
    (["--public", "--grant-type", "client_credentials"], "public client cannot use client_credentials"),
    (["--grant-type", "authorization_code", "--redirect-uri", "http://example.org/cb"], "only allowed on loopback"),
    (["--grant-type", "authorization_code", "--redirect-uri", "https://example.org/cb#frag"], "fragment"),
])
def test_createclient_refuses_unsafe_or_impossible_registrations(args, message):
    with pytest.raises(CommandError, match=message):
        run("createclient", "bad", *args)
    assert not Application.objects.filter(name="bad").exists()


GRANT_TYPE_CHOICES = ("authorization_code", "refresh_token", "client_credentials", "password",
                      "urn:ietf:params:oauth:grant-type:device_code")


@pytest.mark.parametrize("args", [
    [],
    ["--public", "--redirect-uri", "http://127.0.0.1:9/cb"],
    ["--grant-type", "client-credentials"],
])
def test_createclient_without_a_known_grant_type_is_refused_with_the_choices(args):
    with pytest.raises(CommandError) as failure:
        run("createclient", "svc", *args)
    message = str(failure.value)
    assert "grant type" in message and all(g in message for g in GRANT_TYPE_CHOICES)
    assert not Application.objects.exists()


def test_create_client_service_has_no_default_grant_type():
    from iam.services.clients import ClientError, create_client

    with pytest.raises(ClientError, match="at least one grant type"):
        create_client(actor="tests", name="svc", grant_types=[])
    with pytest.raises(TypeError):
        create_client(actor="tests", name="svc")  # the missing argument is the point


def test_createclient_refuses_a_scope_the_operator_has_not_defined(monkeypatch):
    import dataclasses

    from iam.services import clients

    with pytest.raises(CommandError) as failure:
        run("createclient", "svc", "--grant-type", "client_credentials", "--scope", "telescope.point")
    message = str(failure.value)
    assert "unknown scope 'telescope.point'" in message and "IAM_SCOPES" in message and "openid" in message
    assert not Application.objects.exists()
    monkeypatch.setattr(clients, "config", dataclasses.replace(clients.config, scopes=("telescope.point",)))
    data = json.loads(run("createclient", "svc", "--grant-type", "client_credentials", "--scope", "telescope.point",
                          "--scope", "openid", "--json"))
    assert data["scope"] == "telescope.point openid"


def test_iam_scopes_are_read_from_the_environment_and_listed_in_discovery(tmp_path, monkeypatch, client):
    import dataclasses

    from iam import conf
    from iam.services import clients

    monkeypatch.setenv("IAM_VAR_DIR", str(tmp_path))
    cfg = conf.load({"SECRET_KEY": "k" * 50, "IAM_SCOPES": "  storage.read:/ api\tapi  compute "})
    assert cfg.scopes == ("storage.read:/", "api", "compute")
    assert conf.load({"SECRET_KEY": "k" * 50}).scopes == ()
    with pytest.raises(ValueError, match="IAM_SCOPES"):
        conf.load({"SECRET_KEY": "k" * 50, "IAM_SCOPES": 'ok "quoted"'})
    monkeypatch.setattr(clients, "config", dataclasses.replace(clients.config, scopes=cfg.scopes))
    supported = client.get("/.well-known/openid-configuration").json()["scopes_supported"]
    assert supported == ["openid", "profile", "email", "groups", "offline_access", "storage.read:/", "api", "compute"]


def test_createclient_sets_the_clients_token_lifetimes():
    data = json.loads(run("createclient", "svc", "--grant-type", "client_credentials", "--grant-type",
                          "refresh_token", "--access-token-lifetime", "600", "--refresh-token-lifetime", "86400",
                          "--json"))
    app = Application.objects.get(client_id=data["client_id"])
    assert (app.access_token_lifetime, app.refresh_token_lifetime) == (600, 86400)
    assert (data["access_token_lifetime"], data["refresh_token_lifetime"]) == (600, 86400)
    plain = json.loads(run("createclient", "plain", "--grant-type", "client_credentials", "--json"))
    app = Application.objects.get(client_id=plain["client_id"])
    assert app.access_token_lifetime is None and plain["access_token_lifetime"] == 3600  # the server's default


@pytest.mark.parametrize("option", ["--access-token-lifetime", "--refresh-token-lifetime"])
@pytest.mark.parametrize("value", ["0", "-60", "ten", "1.5", str(2**31)])
def test_createclient_refuses_a_lifetime_that_is_not_a_positive_number_of_seconds(option, value):
    with pytest.raises(CommandError) as failure:
        run("createclient", "svc", "--grant-type", "client_credentials", option, value)
    assert option in str(failure.value) and "whole number of seconds" in str(failure.value)
    assert not Application.objects.exists()


def test_create_client_service_refuses_a_bad_lifetime():
    from iam.services.clients import ClientError, create_client

    for bad in (0, -1, 1.5, "600", True):
        with pytest.raises(ClientError, match="access token lifetime"):
            create_client(actor="tests", name="svc", grant_types=["client_credentials"], access_token_lifetime=bad)


def test_createclient_refuses_a_duplicate_name_ignoring_case():
    first = json.loads(run("createclient", "Portal", "--grant-type", "client_credentials", "--json"))
    for name in ("Portal", "portal", "PORTAL", " portal "):
        with pytest.raises(CommandError) as failure:
            run("createclient", name, "--grant-type", "client_credentials")
        assert f"a client named 'Portal' already exists (client_id {first['client_id']})" in str(failure.value)
    assert Application.objects.count() == 1
    run("createclient", "portal-2", "--grant-type", "client_credentials")
    assert Application.objects.count() == 2


def test_createclient_signing_alg_choices_are_checked():
    with pytest.raises(CommandError, match="invalid choice: 'HS256'"):
        run("createclient", "svc", "--grant-type", "client_credentials", "--signing-alg", "HS256")


def test_bootstrap_is_idempotent_and_prints_password_once(pooled_keys):
    first = run("bootstrap")
    second = run("bootstrap")
    assert "password:" in first and "password:" not in second
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.password.startswith("argon2")
    assert User.objects.filter(is_superuser=True).count() == 1


def test_createuser_json_output_fields(monkeypatch):
    data = json.loads(run("createuser", "dora", "--email", "dora@example.org", "--group", "lab", "--json"))
    assert set(data) == {"id", "username", "email", "groups"}
    assert data["username"] == "dora" and data["groups"] == ["lab"]
    user = User.objects.get(pk=data["id"])
    assert not user.has_usable_password()  # no --password-stdin: external login only


def test_createuser_password_stdin_is_stored_with_argon2id(monkeypatch):
    run("createuser", "erin", "--email", "erin@example.org", "--password-stdin",
        stdin="a long enough password\n", monkeypatch=monkeypatch)
    user = User.objects.get(username="erin")
    assert user.password.startswith("argon2$argon2id$") and "a long enough password" not in user.password


def test_createuser_refuses_duplicate_username_case_insensitively():
    run("createuser", "frank", "--email", "frank@example.org")
    with pytest.raises(CommandError):
        run("createuser", "FRANK", "--email", "frank2@example.org")


def test_createclient_public_client_with_redirect_uris():
    data = json.loads(run("createclient", "spa", "--public", "--grant-type", "authorization_code",
                          "--grant-type", "refresh_token", "--redirect-uri", "http://127.0.0.1:9/cb",
                          "--redirect-uri", "https://app.example.org/cb", "--scope", "openid", "--json"))
    assert data["redirect_uris"] == ["http://127.0.0.1:9/cb", "https://app.example.org/cb"]
    assert data["grant_types"] == ["authorization_code", "refresh_token"] and data["scope"] == "openid"
    app = Application.objects.get(client_id=data["client_id"])
    assert app.is_public and app.client_secret == "" and app.redirect_uri_allowed("https://app.example.org/cb")


def test_createclient_without_json_prints_secret_once():
    out = run("createclient", "svc", "--grant-type", "client_credentials")
    assert "client_id:" in out and "client_secret:" in out


def test_rotatekeys_moves_keys_next_active_retiring(client, pooled_keys):
    from iam.keys import key_store
    from iam.models import SigningKey

    def states():
        key_store.invalidate()
        return dict(SigningKey.objects.values_list("kid", "state"))

    def published():
        return {k["kid"] for k in client.get("/jwks/").json()["keys"]}

    first = json.loads(run("rotatekeys", "--json"))
    assert states() == {first["added"]: "active"}  # first run: active at once
    second = json.loads(run("rotatekeys", "--json"))
    assert states() == {first["added"]: "active", second["added"]: "next"}
    assert published() == {first["added"], second["added"]}
    third = json.loads(run("rotatekeys", "--json"))
    assert states() == {first["added"]: "retiring", second["added"]: "active", third["added"]: "next"}
    assert published() == {first["added"], second["added"], third["added"]}
    assert key_store.signing_key("RS256").kid == second["added"]
    # once the retiring key can no longer verify live tokens it is retired and leaves JWKS
    from datetime import timedelta

    from django.utils import timezone

    SigningKey.objects.filter(kid=first["added"]).update(retiring_at=timezone.now() - timedelta(days=1))
    fourth = json.loads(run("rotatekeys", "--json"))
    assert states()[first["added"]] == "retired"
    assert first["added"] not in published() and fourth["added"] in published()


def test_createsuperuser_noinput_from_environment_makes_a_staff_administrator(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "operator")
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "operator@example.org")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long operator password")
    run("createsuperuser", "--noinput")
    user = User.objects.get(username="operator")
    assert user.is_superuser and user.is_staff and user.email == "operator@example.org"
    assert user.check_password("a long operator password")
    assert identify_hasher(user.password).algorithm == "argon2"


def _cc(client, cid, secret):
    from tests.iam.oauth import basic

    return client.post("/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(cid, secret))


def test_updateclient_disable_and_rotate_secret_end_the_clients_tokens(client, signing_key):
    from iam.access_tokens import active_access_token

    made = json.loads(run("createclient", "svc", "--grant-type", "client_credentials", "--scope", "api", "--json"))
    cid, secret = made["client_id"], made["client_secret"]
    token = _cc(client, cid, secret).json()["access_token"]
    rotated = json.loads(run("updateclient", cid, "--rotate-secret", "--json"))
    assert active_access_token(token) is None
    assert _cc(client, cid, secret).status_code == 401
    fresh = _cc(client, cid, rotated["client_secret"]).json()["access_token"]
    assert active_access_token(fresh) is not None
    out = json.loads(run("updateclient", cid, "--disable", "--json"))
    assert out["active"] is False and "client_secret" not in out
    assert active_access_token(fresh) is None
    assert _cc(client, cid, rotated["client_secret"]).status_code == 401
    run("updateclient", cid, "--enable")
    assert _cc(client, cid, rotated["client_secret"]).status_code == 200
    assert active_access_token(fresh) is None  # re-enabling does not revive old tokens


def test_updateclient_list_options_replace_and_rules_still_apply(signing_key):
    made = json.loads(run("createclient", "portal", "--grant-type", "client_credentials", "--json"))
    out = json.loads(run("updateclient", made["client_id"], "--scope", "api", "--scope", "openid",
                         "--access-token-lifetime", "600", "--introspection", "--name", "Portal 2", "--json"))
    assert out["scope"] == "api openid" and out["access_token_lifetime"] == 600 and out["introspection"] is True
    assert out["name"] == "Portal 2"
    with pytest.raises(CommandError, match="redirect URI"):
        run("updateclient", made["client_id"], "--grant-type", "authorization_code")
    with pytest.raises(CommandError, match="unknown scope"):
        run("updateclient", made["client_id"], "--scope", "nope")
    with pytest.raises(CommandError, match="no client"):
        run("updateclient", "no-such-client", "--disable")
    with pytest.raises(CommandError, match="nothing to change"):
        run("updateclient", made["client_id"])


def test_listclients_and_deleteclient(client, signing_key):
    from iam.access_tokens import active_access_token

    made = json.loads(run("createclient", "svc", "--grant-type", "client_credentials", "--scope", "api", "--json"))
    listed = json.loads(run("listclients", "--json"))
    assert [c["client_id"] for c in listed] == [made["client_id"]] and "client_secret" not in listed[0]
    token = _cc(client, made["client_id"], made["client_secret"]).json()["access_token"]
    assert "deleted" in run("deleteclient", made["client_id"])
    assert not Application.objects.exists() and active_access_token(token) is None
    assert AuditEvent.objects.filter(action="client.delete").count() == 1
    with pytest.raises(CommandError):
        run("deleteclient", made["client_id"])


def test_clients_require_pkce_unless_registered_with_no_pkce(signing_key):
    secure = json.loads(run("createclient", "portal", "--grant-type", "authorization_code",
                            "--redirect-uri", "https://p.example/cb", "--json"))
    legacy = json.loads(run("createclient", "legacy", "--grant-type", "authorization_code",
                            "--redirect-uri", "https://l.example/cb", "--no-pkce", "--json"))
    assert secure["pkce_required"] is True and legacy["pkce_required"] is False
    assert json.loads(run("updateclient", legacy["client_id"], "--pkce", "--json"))["pkce_required"] is True
    with pytest.raises(CommandError, match="public client always needs PKCE"):
        run("createclient", "spa", "--public", "--grant-type", "authorization_code",
            "--redirect-uri", "https://s.example/cb", "--no-pkce")
