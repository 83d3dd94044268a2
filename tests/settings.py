"""Test settings: the real settings, with a throwaway var dir and fast password hashing."""

import os
import tempfile

os.environ.setdefault("IAM_VAR_DIR", tempfile.mkdtemp(prefix="iam-test-"))
# Operator-defined scopes the tests register clients with (only these and the standard ones are accepted).
os.environ["IAM_SCOPES"] = "api compute read write storage.read storage.write"

from iam.settings import *  # noqa: E402,F403

# Argon2 is what production uses (tests/accounts check it); most tests only need any hasher.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.MD5PasswordHasher",
]
