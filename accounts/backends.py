"""Login backends. One per method; the password one is throttled."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from accounts import throttle
from accounts.models import normalise_username

# Set on the request by PasswordBackend when sign-in is refused for too many failures, or when
# this failure used up the last try: the pages say "locked", not "wrong password".
REQUEST_LOCKED = "iam_login_locked"


class PasswordBackend(ModelBackend):
    """Username and password (Argon2id-hashed), with per-account and per-address lockout.

    The typed name is normalised (NFKC, case folding) and matched exactly against each
    account's normalised username; the account counter is keyed on that normalised name, so
    every spelling that reaches an account counts against the same budget, and names that
    reach no account still count (under their own normalised form).
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        name = normalise_username(username)
        address = throttle.client_address(getattr(request, "META", {}) or {}) if request is not None else ""
        # Reserved before the password hash runs: parallel guesses cannot all pass a check made
        # before any of them failed.
        attempt = throttle.reserve_login(name, address)
        if not attempt.allowed:
            _mark_locked(request)
            # Stops the chain: a locked account is not tried against other backends either.
            raise PermissionDenied("too many failed logins")
        user = self._find_user(name, username)
        if user is None:
            get_user_model()().set_password(password)  # as slow as a wrong password (ModelBackend does the same)
        elif user.check_password(password) and self.user_can_authenticate(user):
            throttle.login_succeeded(attempt, name)
            if request is not None:
                request.iam_amr = ["pwd"]
            return user
        if attempt.exhausted:
            _mark_locked(request)
        return None

    @staticmethod
    def _find_user(name: str, typed: str):
        """The account whose normalised username is ``name``.

        Usernames are unique regardless of case (accounts.services.users); should two older
        accounts still share a normalised name, only the exact spelling reaches either.
        """
        candidates = list(get_user_model()._default_manager.filter(username_normalised=name)[:10])
        if len(candidates) == 1:
            return candidates[0]
        return next((user for user in candidates if user.username == typed), None)


def _mark_locked(request) -> None:
    if request is not None:
        setattr(request, REQUEST_LOCKED, True)
