"""Remembered consent: the scopes a user agreed to give a client."""

from django.db import transaction

from accounts.services import audit
from iam.models import Consent


@transaction.atomic
def remember_consent(*, actor, user, application, scopes) -> Consent:
    consent, _ = Consent.objects.select_for_update().get_or_create(user=user, application=application)
    consent.scopes = sorted(set(consent.scopes) | set(scopes))
    consent.save()
    audit.record(actor=actor, action="consent.grant", target=application, user=str(user.pk), scopes=consent.scopes)
    return consent


@transaction.atomic
def revoke_consent(*, actor, user, application) -> None:
    deleted, _ = Consent.objects.filter(user=user, application=application).delete()
    if deleted:
        audit.record(actor=actor, action="consent.revoke", target=application, user=str(user.pk))
