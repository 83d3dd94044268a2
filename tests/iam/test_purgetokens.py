"""purgetokens removes only what nothing can use any more."""

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from iam.models import RedeemedCode
from tests.factories import make_client, make_user

pytestmark = pytest.mark.django_db
AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()


def purge():
    out = io.StringIO()
    call_command("purgetokens", "--json", stdout=out)
    return json.loads(out.getvalue())


def test_purge_keeps_live_refresh_chains_and_drops_expired_tokens(signing_key):
    import uuid

    from iam.models import TokenFamily

    user = make_user("pat")
    app, _ = make_client("portal", grant_types=["authorization_code", "refresh_token"],
                         redirect_uris=["http://127.0.0.1:9/cb"])
    live_family = TokenFamily.objects.create(id=uuid.uuid4(), user=user, application=app, scope="openid")
    live_rt = RefreshToken.objects.create(user=user, application=app, token="r1", token_family=live_family.id)
    old_family = TokenFamily.objects.create(id=uuid.uuid4(), user=user, application=app, scope="openid")
    old_rt = RefreshToken.objects.create(user=user, application=app, token="r2", token_family=old_family.id)
    RefreshToken.objects.filter(pk=old_rt.pk).update(created=timezone.now() - timedelta(days=400))
    TokenFamily.objects.update(created=timezone.now() - timedelta(days=400))
    RedeemedCode.objects.create(code_checksum="x" * 64, application=app, access_token_jti="y")
    RedeemedCode.objects.filter(code_checksum="x" * 64).update(created=timezone.now() - timedelta(days=400))

    counts = purge()

    assert RefreshToken.objects.filter(pk=live_rt.pk).exists()
    assert TokenFamily.objects.filter(pk=live_family.pk).exists()
    assert not RefreshToken.objects.filter(pk=old_rt.pk).exists()
    assert not TokenFamily.objects.filter(pk=old_family.pk).exists()
    assert not RedeemedCode.objects.exists()
    assert counts["refresh_tokens"] == 1 and counts["redeemed_codes"] == 1 and counts["token_families"] == 1
    assert AccessToken.objects.count() == 0
