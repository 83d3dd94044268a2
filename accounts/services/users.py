"""Creating and changing users, groups and memberships."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from accounts import signals
from accounts.models import Group, Membership, normalise_username
from accounts.services import audit

User = get_user_model()


class AccountError(ValueError):
    """A request to change accounts that cannot be honoured; the message is safe to show."""


def _clean_path(path: str) -> list[str]:
    names = [n.strip() for n in path.strip().strip("/").split("/")]
    if not names or any(not n for n in names):
        raise AccountError(f"invalid group path: {path!r}")
    for name in names:
        if len(name) > 100 or any(c.isspace() and c != " " for c in name):
            raise AccountError(f"invalid group name: {name!r}")
    return names


@transaction.atomic
def ensure_group(*, actor, path: str) -> Group:
    """Return the group at ``path``, creating it and any missing parents."""
    parent = None
    walked: list[str] = []
    for name in _clean_path(path):
        walked.append(name)
        full = "/".join(walked)
        group = Group.objects.filter(path=full).first()
        if group is None:
            group = Group.objects.create(name=name, parent=parent, path=full)
            audit.record(actor=actor, action="group.create", target=group, path=full)
        parent = group
    return parent


@transaction.atomic
def add_membership(*, actor, user, group: Group) -> Membership:
    membership, created = Membership.objects.get_or_create(user=user, group=group)
    if created:
        audit.record(actor=actor, action="group.member_add", target=group, user=str(user.pk))
    return membership


@transaction.atomic
def create_user(
    *,
    actor,
    username: str,
    email: str,
    password: str | None = None,
    given_name: str = "",
    family_name: str = "",
    groups: list[str] = (),
    is_staff: bool = False,
    is_superuser: bool = False,
    email_verified: bool = False,
):
    """Create an active local account; a password is optional (external login later)."""
    username = username.strip()
    if not username:
        raise AccountError("username is required")
    try:
        User.username_validator(username)
        validate_email(email)
    except ValidationError as exc:
        raise AccountError("; ".join(exc.messages)) from exc
    # Unique as sign-in finds them: NFKC + casefold ("ſam" is "sam"), not just case-insensitive.
    if User.objects.filter(username_normalised=normalise_username(username)).exists():
        raise AccountError(f"username {username!r} is taken")
    if User.objects.filter(email__iexact=email).exists():
        raise AccountError(f"email {email!r} is already used by another account")
    user = User(
        username=username,
        email=email,
        first_name=given_name,
        last_name=family_name,
        is_staff=is_staff,
        is_superuser=is_superuser,
        email_verified=email_verified,
    )
    if password:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise AccountError("; ".join(exc.messages)) from exc
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    audit.record(actor=actor, action="user.create", target=user, username=username)
    for path in groups:
        add_membership(actor=actor, user=user, group=ensure_group(actor=actor, path=path))
    return user


@transaction.atomic
def set_password(*, actor, user, password: str) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise AccountError("; ".join(exc.messages)) from exc
    user.set_password(password)
    user.save(update_fields=["password"])
    audit.record(actor=actor, action="user.set_password", target=user)
    # Whoever had the old password may hold tokens: they end with it.
    signals.user_tokens_withdrawn.send(sender=User, user=user, actor=actor, reason="password_changed")


@transaction.atomic
def set_user_active(*, actor, user, active: bool) -> bool:
    """Activate or deactivate an account; returns whether anything changed.

    Deactivation stops every login (backends refuse inactive users) and, through
    ``accounts.signals.user_tokens_withdrawn`` in this transaction, every token issued so far.
    """
    # Compare with what is stored, not with the caller's copy (a form may already have set it).
    current = User.objects.select_for_update().get(pk=user.pk)
    if current.is_active == active:
        user.is_active = active
        return False
    current.is_active = active
    current.save(update_fields=["is_active", "updated_at"])
    user.is_active = active
    audit.record(actor=actor, action="user.activate" if active else "user.deactivate", target=current)
    if not active:
        signals.user_tokens_withdrawn.send(sender=User, user=current, actor=actor, reason="deactivated")
    return True
