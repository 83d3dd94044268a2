"""Login backends. One per method; the password one is throttled."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from accounts import throttle


class PasswordBackend(ModelBackend):
    """Username and password (Argon2id-hashed), with per-account and per-address lockout."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        address = throttle.client_address(getattr(request, "META", {}) or {}) if request is not None else ""
        if throttle.is_locked(username, address):
            # Stops the chain: a locked account is not tried against other backends either.
            raise PermissionDenied("too many failed logins")
        # Usernames are unique regardless of case (accounts.services.users), so sign-in is too.
        exact = get_user_model().objects.filter(username__iexact=username).values_list("username", flat=True).first()
        user = super().authenticate(request, username=exact or username, password=password, **kwargs)
        if user is None:
            throttle.record_failure(username, address)
            return None
        throttle.record_success(username)
        if request is not None:
            request.iam_amr = ["pwd"]
        return user
