"""Revoking tokens: one access token, a refresh-token family, or everything of a user or client.

Each writes its deny-list entries or epoch in the caller's transaction, with an audit event,
so a revocation is committed (and seen by every worker and host) together with the change
that caused it -- a disabled user, a rotated secret -- or not at all.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import get_refresh_token_model

from accounts.services import audit
from iam import revocation
from iam.conf import config
from iam.models import Application, TokenFamily


def longest_token_lifetime() -> int:
    """The longest any token (access, ID or refresh) of any client can live, in seconds."""
    longest = max(config.access_token_lifetime, config.id_token_lifetime, config.refresh_token_lifetime)
    for row in Application.objects.values_list("access_token_lifetime", "id_token_lifetime", "refresh_token_lifetime"):
        longest = max(longest, *(v or 0 for v in row))
    return longest


@transaction.atomic
def revoke_access_token(*, actor, jti: str, exp: int, reason: str = "revoked") -> None:
    """RFC 7009: this access token is inactive from now on."""
    revocation.deny_access_tokens([(jti, exp)])
    audit.record(actor=actor, action="token.access_revoked", target_type="iam.accesstoken", target_id=jti,
                 reason=reason)


@transaction.atomic
def revoke_family(*, actor, family_id, reason: str) -> None:
    """Every refresh token of the family, and every unexpired access token issued from it."""
    if not family_id:
        return
    now = timezone.now()
    get_refresh_token_model().objects.filter(token_family=family_id, revoked__isnull=True).update(
        revoked=now, updated=now
    )
    family = TokenFamily.objects.select_for_update().filter(id=family_id).first()
    denied = 0
    if family is not None:
        denied = revocation.deny_access_tokens(family.access_tokens)
        family.access_tokens = []
        family.save(update_fields=["access_tokens"])
    audit.record(actor=actor, action="token.family_revoked", target_type="iam.tokenfamily",
                 target_id=str(family_id), reason=reason, access_tokens=denied)


@transaction.atomic
def revoke_user_tokens(*, actor, user, reason: str) -> None:
    """Every token issued to ``user`` so far (access, refresh, for every client) is inactive."""
    revocation.set_epoch(user_id=str(user.pk), lifetime=longest_token_lifetime())
    audit.record(actor=actor, action="token.user_tokens_revoked", target=user, reason=reason)


@transaction.atomic
def revoke_client_tokens(*, actor, client, reason: str) -> None:
    """Every token issued to ``client`` so far (its own and its users') is inactive."""
    revocation.set_epoch(client_id=client.client_id, lifetime=longest_token_lifetime())
    audit.record(actor=actor, action="token.client_tokens_revoked", target=client, reason=reason)


def withdraw_user_tokens(sender=None, *, user, actor, reason: str, **kwargs) -> None:
    """Receiver of accounts' ``user_tokens_withdrawn`` (deactivation, password change)."""
    revoke_user_tokens(actor=actor, user=user, reason=reason)
