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
    user = make_user("pat")
    app, _ = make_client("portal", grant_types=["authorization_code", "refresh_token"],
                         redirect_uris=["http://127.0.0.1:9/cb"])
    past = timezone.now() - timedelta(hours=2)
    live_at = AccessToken.objects.create(user=user, application=app, token="a1", expires=past, scope="openid")
    live_rt = RefreshToken.objects.create(user=user, application=app, token="r1", access_token=live_at)
    lone_at = AccessToken.objects.create(user=user, application=app, token="a2", expires=past, scope="openid")
    fresh_at = AccessToken.objects.create(user=user, application=app, token="a3",
                                          expires=timezone.now() + timedelta(hours=1), scope="openid")
    old_rt_at = AccessToken.objects.create(user=user, application=app, token="a4", expires=past, scope="openid")
    old_rt = RefreshToken.objects.create(user=user, application=app, token="r2", access_token=old_rt_at)
    RefreshToken.objects.filter(pk=old_rt.pk).update(created=timezone.now() - timedelta(days=400))
    RedeemedCode.objects.create(code_checksum="x" * 64, application=app, access_token_checksum="y" * 64)
    RedeemedCode.objects.filter(code_checksum="x" * 64).update(created=timezone.now() - timedelta(days=400))

    counts = purge()

    assert AccessToken.objects.filter(pk=live_at.pk).exists()  # still backs a live refresh token
    assert RefreshToken.objects.filter(pk=live_rt.pk).exists()
    assert AccessToken.objects.filter(pk=fresh_at.pk).exists()
    assert not AccessToken.objects.filter(pk__in=[lone_at.pk, old_rt_at.pk]).exists()
    assert not RefreshToken.objects.filter(pk=old_rt.pk).exists()
    assert not RedeemedCode.objects.exists()
    assert counts["refresh_tokens"] == 1 and counts["redeemed_codes"] == 1
