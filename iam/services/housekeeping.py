"""Removing what can no longer be used: expired tokens, codes, device codes and their traces."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import (
    clear_expired,
    get_access_token_model,
    get_device_grant_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

from accounts.services import audit
from iam.conf import config
from iam.models import Application, RedeemedCode, TokenFamily


def purge_expired(*, actor) -> dict:
    now = timezone.now()
    counts: dict[str, int] = {}
    RefreshToken = get_refresh_token_model()
    AccessToken = get_access_token_model()
    # Refresh tokens live per client (created + lifetime); DOT does not know that rule.
    lifetimes: dict[int, list[int]] = {}
    for pk, lifetime in Application.objects.values_list("pk", "refresh_token_lifetime"):
        lifetimes.setdefault(lifetime or config.refresh_token_lifetime, []).append(pk)
    expired_refresh = 0
    for lifetime, app_ids in lifetimes.items():
        with transaction.atomic():
            cutoff = now - timedelta(seconds=lifetime)
            stale = RefreshToken.objects.filter(application_id__in=app_ids, created__lt=cutoff)
            AccessToken.objects.filter(pk__in=stale.values("access_token_id")).delete()
            expired_refresh += stale.delete()[0]
    counts["refresh_tokens"] = expired_refresh
    # An expired access token still bound to a live refresh token must stay: DOT refuses a
    # refresh token whose access token is gone.
    counts["access_tokens"] = (
        AccessToken.objects.filter(expires__lt=now)
        .exclude(pk__in=RefreshToken.objects.filter(revoked__isnull=True).values("access_token_id"))
        .delete()[0]
    )
    # Deleting an ID token cascades to its access token: only unbound ones go.
    counts["id_tokens"] = get_id_token_model().objects.filter(expires__lt=now, access_token__isnull=True).delete()[0]
    counts["codes"] = get_grant_model().objects.filter(expires__lt=now).delete()[0]
    counts["device_codes"] = get_device_grant_model().objects.filter(expires__lt=now).delete()[0]
    longest = max([config.refresh_token_lifetime, *lifetimes.keys()])
    counts["redeemed_codes"] = RedeemedCode.objects.filter(created__lt=now - timedelta(seconds=longest)).delete()[0]
    counts["token_families"] = (
        TokenFamily.objects.filter(created__lt=now - timedelta(days=1))
        .exclude(id__in=RefreshToken.objects.filter(token_family__isnull=False).values("token_family"))
        .delete()[0]
    )
    clear_expired()  # DOT's own sweep of revoked refresh tokens
    audit.record(actor=actor, action="tokens.purge", **counts)
    return counts
