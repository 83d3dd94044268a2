"""Signing keys: encrypted at rest, published while they may verify, rotated in steps."""

import io
import json

import pytest
from django.core.management import call_command
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
