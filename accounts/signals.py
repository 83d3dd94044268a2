"""Signals other apps listen to. ``accounts`` imports neither ``iam`` nor ``scim``; they connect here.

Each is sent from ``transaction.on_commit``: a listener sees only changes that were committed.
"""

from django.dispatch import Signal

# A user was deactivated (is_active went from True to False). Arguments: ``user``, ``actor``.
# The authorization server listens to revoke what the user's tokens still allow.
user_deactivated = Signal()
