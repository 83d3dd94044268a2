"""Signing keys: encrypted at rest, published while they may verify, rotated in steps."""

import io
import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from iam import keys
from iam.models import SigningKey
from iam.services.keys import ensure_active_key, rotate_keys

pytestmark = pytest.mark.django_db


def kids(client):
    return {k["kid"] for k in client.get("/jwks/").json()["keys"]}


def test_private_key_is_encrypted_at_rest(signing_key):
    row = SigningKey.objects.get(pk=signing_key.pk)
    assert "PRIVATE KEY" not in row.private_key_encrypted
    assert keys.decrypt_private_key(row.private_key_encrypted) is not None
    with override_settings(SECRET_KEY="another secret entirely, 50 characters long....."):
        with pytest.raises(keys.SigningKeyError):
            keys.decrypt_private_key(row.private_key_encrypted)


def test_rotation_publishes_next_then_promotes_and_keeps_retiring(client, pooled_keys):
    active = ensure_active_key(actor="tests")
    first = rotate_keys(actor="tests")
    nxt = SigningKey.objects.get(kid=first["added"])
    assert nxt.state == SigningKey.NEXT
    assert kids(client) == {active.kid, nxt.kid}
    # Still signing with the active key.
    assert keys.key_store.signing_key("RS256").kid == active.kid
    second = rotate_keys(actor="tests")
    assert second["promoted"] == nxt.kid and second["retiring"] == [active.kid]
    keys.key_store.invalidate()
    assert keys.key_store.signing_key("RS256").kid == nxt.kid
    assert kids(client) == {active.kid, nxt.kid, second["added"]}


def test_retired_keys_leave_jwks_after_the_longest_token_lifetime(client, pooled_keys):
    from datetime import timedelta

    from django.utils import timezone

    active = ensure_active_key(actor="tests")
    rotate_keys(actor="tests")
    rotate_keys(actor="tests")  # active -> retiring
    SigningKey.objects.filter(kid=active.kid).update(retiring_at=timezone.now() - timedelta(days=2))
    changes = rotate_keys(actor="tests")
    assert active.kid in changes["retired"]
    keys.key_store.invalidate()
    assert active.kid not in kids(client)


def test_rotatekeys_command_es256_and_es256_client_tokens(client, signing_key):
    out = io.StringIO()
    call_command("rotatekeys", "--alg", "ES256", "--json", stdout=out)
    changes = json.loads(out.getvalue())
    assert changes["added_state"] == "active"  # the first ES256 key is active at once
    keys.key_store.invalidate()
    from tests.factories import make_client

    app, secret = make_client("es", grant_types=["client_credentials"], token_signing_alg="ES256")
    r = client.post("/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=_basic(app.client_id, secret))
    assert r.status_code == 200, r.content
    header = json.loads(keys.b64url_decode(r.json()["access_token"].split(".")[0]))
    assert header["alg"] == "ES256" and header["typ"] == "at+jwt"
    assert header["kid"] in kids(client)
    verified = keys.key_store.verify(r.json()["access_token"])
    assert verified is not None and verified[1]["client_id"] == app.client_id


def _basic(client_id, secret):
    import base64

    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def test_client_registered_with_es256_gets_es256_access_and_id_tokens(client, signing_key, pooled_keys):
    from joserfc import jwt
    from joserfc.jwk import KeySet

    from tests.factories import make_client, make_user
    from tests.iam.oauth import REDIRECT, code_flow_tokens

    call_command("rotatekeys", "--alg", "ES256", stdout=io.StringIO())
    out = io.StringIO()
    call_command("createclient", "es", "--grant-type", "authorization_code", "--redirect-uri", REDIRECT,
                 "--signing-alg", "ES256", "--json", stdout=out)
    data = json.loads(out.getvalue())
    from iam.models import Application

    app = Application.objects.get(client_id=data["client_id"])
    tokens = code_flow_tokens(client, app, data["client_secret"], make_user("esther"), scope="openid")
    published = KeySet.import_key_set(client.get("/jwks/").json())
    access = jwt.decode(tokens["access_token"], published)
    id_token = jwt.decode(tokens["id_token"], published)
    assert access.header["alg"] == id_token.header["alg"] == "ES256"
    assert access.header["typ"] == "at+jwt" and id_token.claims["aud"] == app.client_id
    # an RS256 client keeps RS256 while both algorithms have active keys
    other, secret = make_client("rs", grant_types=["client_credentials"])
    r = client.post("/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=_basic(other.client_id, secret))
    assert jwt.decode(r.json()["access_token"], published).header["alg"] == "RS256"


def test_encrypted_key_column_holds_no_pem_for_keys_made_by_rotation(pooled_keys):
    changes = rotate_keys(actor="tests", alg="ES256")
    row = SigningKey.objects.get(kid=changes["added"])
    assert "BEGIN" not in row.private_key_encrypted and "PRIVATE" not in row.private_key_encrypted
    assert row.public_jwk["kid"] == row.kid and "d" not in row.public_jwk
    with override_settings(SECRET_KEY="x" * 50):
        with pytest.raises(keys.SigningKeyError):
            keys.decrypt_private_key(row.private_key_encrypted)
    assert keys.decrypt_private_key(row.private_key_encrypted).private_numbers().private_value > 0


# -- a server never lacks a signing key ---------------------------------------------------------


@pytest.fixture
def first_key_at_migrate():
    """The handler `migrate` runs (tests/conftest.py keeps it out of the test database's setup)."""
    from django.apps import apps
    from django.db.models.signals import post_migrate

    from iam.apps import FIRST_SIGNING_KEY_UID, create_first_signing_key

    sender = apps.get_app_config("iam")
    post_migrate.connect(create_first_signing_key, sender=sender, dispatch_uid=FIRST_SIGNING_KEY_UID)
    yield
    post_migrate.disconnect(create_first_signing_key, sender=sender, dispatch_uid=FIRST_SIGNING_KEY_UID)


def _active(alg="RS256"):
    return list(SigningKey.objects.filter(alg=alg, state=SigningKey.ACTIVE))


def _cc_token(client, app, secret):
    auth = _basic(app.client_id, secret)
    return client.post("/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=auth)


def test_migrate_alone_gives_a_working_token_endpoint(client, pooled_keys, first_key_at_migrate):
    from accounts.models import AuditEvent
    from tests.factories import make_client

    app, secret = make_client("svc", grant_types=["client_credentials"])
    es_app, es_secret = make_client("es", grant_types=["client_credentials"], token_signing_alg="ES256")
    SigningKey.objects.all().delete()  # a database as `migrate` left it before this rule
    keys.key_store.invalidate()
    out = io.StringIO()
    call_command("migrate", "--noinput", stdout=out)
    (rs256,), (es256,) = _active("RS256"), _active("ES256")  # also for the algorithm a client uses
    assert f"Created the first RS256 signing key (kid {rs256.kid})" in out.getvalue()
    assert AuditEvent.objects.filter(action="key.create", actor="system:migrate", target_id=str(rs256.pk)).exists()
    assert kids(client) == {rs256.kid, es256.kid}
    for application, sec, key in ((app, secret, rs256), (es_app, es_secret, es256)):
        r = _cc_token(client, application, sec)
        assert r.status_code == 200, r.content
        header = json.loads(keys.b64url_decode(r.json()["access_token"].split(".")[0]))
        assert header["kid"] == key.kid and header["alg"] == key.alg
    call_command("migrate", "--noinput", stdout=io.StringIO())  # again: nothing new
    assert SigningKey.objects.count() == 2


def test_first_token_request_without_a_key_creates_one_instead_of_failing(client, pooled_keys):
    from accounts.models import AuditEvent
    from tests.factories import make_client

    app, secret = make_client("svc", grant_types=["client_credentials"])
    SigningKey.objects.all().delete()
    keys.key_store.invalidate()
    r = _cc_token(client, app, secret)
    assert r.status_code == 200, r.content
    (key,) = _active()
    assert keys.key_store.verify(r.json()["access_token"])[0]["kid"] == key.kid
    assert kids(client) == {key.kid}
    assert AuditEvent.objects.filter(action="key.create", actor="system:first-use", target_id=str(key.pk)).exists()


def test_discovery_on_a_database_without_keys_advertises_a_key_that_exists(client, pooled_keys):
    meta = client.get("/.well-known/openid-configuration").json()
    assert meta["id_token_signing_alg_values_supported"] == ["RS256"]
    (key,) = _active()
    assert kids(client) == {key.kid}


def test_signing_key_never_substitutes_another_algorithm(signing_key, pooled_keys):
    assert keys.key_store.signing_key("RS256").kid == signing_key.kid
    es = keys.key_store.signing_key("ES256")  # no ES256 key: made now, not RS256 handed out
    assert es.alg == "ES256"
    (row,) = _active("ES256")
    assert row.kid == es.kid and keys.key_store.signing_key("ES256").kid == es.kid
    with pytest.raises(keys.SigningKeyError):
        keys.key_store.signing_key("HS256")
    assert set(SigningKey.objects.values_list("alg", flat=True)) == {"RS256", "ES256"}


def test_es256_client_gets_its_key_created_through_the_service(client, signing_key, pooled_keys):
    from accounts.models import AuditEvent
    from iam.models import Application

    assert not _active("ES256")
    out = io.StringIO()
    call_command("createclient", "es", "--grant-type", "client_credentials", "--signing-alg", "ES256", "--json",
                 stdout=out)
    data = json.loads(out.getvalue())
    (es,) = _active("ES256")
    assert AuditEvent.objects.filter(action="key.create", actor="cli:createclient", target_id=str(es.pk)).exists()
    app = Application.objects.get(client_id=data["client_id"])
    r = _cc_token(client, app, data["client_secret"])
    header = json.loads(keys.b64url_decode(r.json()["access_token"].split(".")[0]))
    assert header["alg"] == "ES256" and header["kid"] == es.kid
    # a second ES256 client reuses it
    call_command("createclient", "es2", "--grant-type", "client_credentials", "--signing-alg", "ES256",
                 stdout=io.StringIO())
    assert _active("ES256") == [es]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL: the test database of SQLite is in memory (shared cache), whose locking is not the "
    "file database's; there BEGIN IMMEDIATE (transaction_mode) serialises writers",
)
def test_processes_racing_to_create_the_first_key_end_with_exactly_one_per_algorithm(monkeypatch, pooled_keys):
    """Workers of a fresh server (or migrate on several hosts) all find no key at the same moment."""
    import threading
    import time

    from django.db import connections

    slow = keys.generate_private_key

    def slow_generate(alg):  # widen the window between "no key yet" and "key saved"
        time.sleep(0.2)
        return slow(alg)

    monkeypatch.setattr(keys, "generate_private_key", slow_generate)
    workers = 8
    barrier = threading.Barrier(workers)
    results: list[tuple[str, str]] = []
    errors: list[BaseException] = []

    def worker(i):
        alg = ("RS256", "ES256")[i % 2]
        try:
            barrier.wait()
            store = keys.KeyStore()  # each worker process has its own key cache
            results.append((alg, store.signing_key(alg).kid))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    for alg in ("RS256", "ES256"):
        (key,) = _active(alg)
        assert {kid for a, kid in results if a == alg} == {key.kid}
    assert SigningKey.objects.count() == 2


def test_jwks_on_a_database_without_keys_is_never_empty(client, pooled_keys):
    from iam.models import SigningKey

    assert not SigningKey.objects.exists()
    keys = client.get("/jwks/").json()["keys"]
    assert len(keys) == 1 and keys[0]["alg"] == "RS256"
