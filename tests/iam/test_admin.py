"""The Django admin writes through the services, and is mounted only where it is asked for."""

import pytest

from accounts import signals
from accounts.models import AuditEvent
from accounts.services.users import set_user_active
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
