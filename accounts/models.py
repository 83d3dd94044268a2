"""Identities: users, groups and memberships, and the audit trail of changes to them.

Only ``accounts.services`` writes these models (see ARCHITECTURE.md, "Only services write").
"""

import unicodedata
import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone


def normalise_username(value: str) -> str:
    """The form in which two usernames are the same name: NFKC, then case folding.

    Sign-in and the login throttle compare usernames this way, exactly, in Python, rather than
    with the database's case-insensitive match: PostgreSQL's UPPER() also maps look-alikes
    (``ı`` to ``I``, ``ſ`` to ``S``), which would let one account be reached under names the
    throttle counts separately.
    """
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())


class User(AbstractUser):
    """A person. ``id`` is a UUID: it is the OpenID ``sub`` and the SCIM ``id``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email_verified = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)
    # normalise_username(username), kept by save(): sign-in looks accounts up by it.
    username_normalised = models.TextField(default="", editable=False)

    class Meta(AbstractUser.Meta):
        indexes = [models.Index(fields=["username_normalised"], name="user_username_normalised")]

    def save(self, *args, **kwargs):
        self.username_normalised = normalise_username(self.username)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "username" in update_fields:
            kwargs["update_fields"] = {*update_fields, "username_normalised"}
        super().save(*args, **kwargs)

    @property
    def sub(self) -> str:
        return str(self.id)

    def active_group_paths(self) -> list[str]:
        now = timezone.now()
        return sorted(
            Membership.objects.filter(user=self, group__isnull=False)
            .exclude(expires_at__lte=now)
            .values_list("group__path", flat=True)
        )


class Group(models.Model):
    """A node of the group tree; ``path`` is the slash-joined chain of names (``cms/analysis``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    path = models.CharField(max_length=512, unique=True)
    description = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["parent", "name"], name="group_name_unique_in_parent")]

    def __str__(self):
        return self.path


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    created = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "group"], name="membership_unique")]


class AuditEvent(models.Model):
    """One state change: who did what to what. Written in the same transaction as the change."""

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.CharField(max_length=255)
    action = models.CharField(max_length=100, db_index=True)
    target_type = models.CharField(max_length=50, blank=True)
    target_id = models.CharField(max_length=255, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.at:%Y-%m-%dT%H:%M:%SZ} {self.actor} {self.action} {self.target_type}:{self.target_id}"


class AttemptCounter(models.Model):
    """One rate-limit counter (login failures, device user-code guesses) when there is no Redis.

    Written only by ``accounts.throttle``, like a cache entry: counting a failed attempt is not
    a change to anyone's identity, so it has no service and no audit event. ``key`` is a hash
    (``accounts.throttle.hashed_key``): no username or address is stored in clear. The count is
    forgotten at ``expires_at``, a fixed time after the first attempt of the window.
    """

    key = models.CharField(max_length=100, primary_key=True)
    count = models.IntegerField(default=0)
    window_start = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"{self.key}={self.count} until {self.expires_at:%Y-%m-%dT%H:%M:%SZ}"
