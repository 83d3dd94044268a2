"""Signals from accounts to the apps built on it (accounts imports neither iam nor scim)."""

from django.dispatch import Signal

# Sent inside the service's transaction when every token issued to ``user`` so far must stop
# working: deactivation, a password change (later: suspension, AUP expiry). The receiver's
# writes (iam's revocation epoch) commit or roll back with the change itself.
# Arguments: user, actor, reason.
user_tokens_withdrawn = Signal()
