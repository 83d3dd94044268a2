"""Only services write, and every service writes its audit event in the same transaction."""

import pytest

from accounts.models import AuditEvent, Group, User
from accounts.services import audit
from accounts.services.users import create_user
from iam.models import Application, Consent, SigningKey
from iam.services.clients import create_client
from iam.services.consents import remember_consent
from iam.services.keys import rotate_keys
from tests.factories import make_client, make_user
from tests.iam.oauth import REDIRECT, authorize_url, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def audit_fails(monkeypatch):
    """Make the audit write fail: the change it records must not survive without it."""

    def broken(**kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(audit, "record", broken)


@pytest.fixture
def fast_keys(pooled_keys):
    return None


def test_create_user_writes_audit_event():
    user = create_user(actor="tests", username="alice", email="alice@example.org", groups=["cms/analysis"])
    event = AuditEvent.objects.get(action="user.create")
    assert event.actor == "tests" and event.target_type == "accounts.user" and event.target_id == str(user.pk)
    assert AuditEvent.objects.filter(action="group.create").count() == 2
    assert AuditEvent.objects.filter(action="group.member_add", data__user=str(user.pk)).exists()


def test_create_user_rolls_back_without_its_audit_event(audit_fails):
    with pytest.raises(RuntimeError):
        create_user(actor="tests", username="bob", email="bob@example.org", groups=["g"])
    assert not User.objects.filter(username="bob").exists() and not Group.objects.exists()


def test_create_client_writes_audit_event():
    app, _ = create_client(actor="tests", name="svc", grant_types=["client_credentials"])
    event = AuditEvent.objects.get(action="client.create")
    assert event.target_id == str(app.pk) and event.data["client_id"] == app.client_id
    assert "secret" not in str(event.data).lower()


def test_create_client_rolls_back_without_its_audit_event(audit_fails):
    with pytest.raises(RuntimeError):
        create_client(actor="tests", name="svc", grant_types=["client_credentials"])
    assert not Application.objects.exists()


def test_rotate_keys_writes_audit_event(fast_keys):
    changes = rotate_keys(actor="cli:rotatekeys")
    event = AuditEvent.objects.get(action="key.rotate")
    assert event.actor == "cli:rotatekeys" and event.target_id == changes["added"]
    assert event.data["alg"] == "RS256"


def test_rotate_keys_rolls_back_without_its_audit_event(fast_keys, audit_fails):
    with pytest.raises(RuntimeError):
        rotate_keys(actor="tests")
    assert not SigningKey.objects.exists()


def test_consent_writes_audit_event(signing_key):
    user = make_user("carol")
    app, _ = make_client("portal", grant_types=["authorization_code"], redirect_uris=[REDIRECT])
    remember_consent(actor=user, user=user, application=app, scopes=["openid"])
    event = AuditEvent.objects.get(action="consent.grant")
    assert event.actor == "user:carol" and event.target_id == str(app.pk) and event.data["scopes"] == ["openid"]


def test_consent_rolls_back_without_its_audit_event(signing_key, monkeypatch):
    user = make_user("dan")
    app, _ = make_client("portal", grant_types=["authorization_code"], redirect_uris=[REDIRECT])
    monkeypatch.setattr(audit, "record", lambda **kw: (_ for _ in ()).throw(RuntimeError("down")))
    with pytest.raises(RuntimeError):
        remember_consent(actor=user, user=user, application=app, scopes=["openid"])
    assert not Consent.objects.exists()


def test_remembered_consent_on_the_authorize_page_is_audited(client, signing_key):
    user = make_user("erin")
    app, _ = make_client("portal", grant_types=["authorization_code"], redirect_uris=[REDIRECT])
    sign_in(client, user)
    url = authorize_url(response_type="code", client_id=app.client_id, redirect_uri=REDIRECT, scope="openid")
    assert client.post(url, {"decision": "allow", "remember": "1"}).status_code == 302
    assert AuditEvent.objects.filter(action="consent.grant", actor="user:erin", target_id=str(app.pk)).exists()
