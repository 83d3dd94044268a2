"""Removing what can no longer be used: expired refresh tokens and families, codes, device codes,
replay records and deny-list entries."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from oauth2_provider.models import get_device_grant_model, get_grant_model, get_refresh_token_model

from accounts.services import audit
from iam import revocation
from iam.conf import config
from iam.models import Application, RedeemedCode, TokenFamily


def purge_expired(*, actor) -> dict:
    """Delete what nothing can use any more; what a live refresh token depends on stays."""
    now = timezone.now()
    counts: dict[str, int] = {}
    RefreshToken = get_refresh_token_model()
    # Refresh tokens live per client (created + lifetime); DOT does not know that rule.
    lifetimes: dict[int, list[int]] = {}
    for pk, lifetime in Application.objects.values_list("pk", "refresh_token_lifetime"):
        lifetimes.setdefault(lifetime or config.refresh_token_lifetime, []).append(pk)
    expired_refresh = 0
    for lifetime, app_ids in lifetimes.items():
        cutoff = now - timedelta(seconds=lifetime)
        expired_refresh += RefreshToken.objects.filter(application_id__in=app_ids, created__lt=cutoff).delete()[0]
    # A rotated or revoked refresh token is kept while its family lives: presenting it again
    # is how reuse is detected. A family with no live refresh token left is dead.
    live_families = RefreshToken.objects.filter(revoked__isnull=True, token_family__isnull=False).values(
        "token_family"
    )
    dead = TokenFamily.objects.filter(created__lt=now - timedelta(minutes=5)).exclude(id__in=live_families)
    counts["token_families"] = dead.count()
    expired_refresh += RefreshToken.objects.filter(token_family__in=dead.values("id")).delete()[0]
    dead.delete()
    counts["refresh_tokens"] = expired_refresh
    counts["codes"] = get_grant_model().objects.filter(expires__lt=now).delete()[0]
    counts["device_codes"] = get_device_grant_model().objects.filter(expires__lt=now).delete()[0]
    longest = max([config.refresh_token_lifetime, *lifetimes.keys()])
    counts["redeemed_codes"] = RedeemedCode.objects.filter(created__lt=now - timedelta(seconds=longest)).delete()[0]
    counts["revocations"] = revocation.purge_expired()
    audit.record(actor=actor, action="tokens.purge", **counts)
    return counts
