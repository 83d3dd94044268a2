"""System checks that refuse unsafe production configuration."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from iam.conf import config


@register(Tags.security, deploy=True)
def production_settings(app_configs, **kwargs):
    problems = []
    if not config.issuer_is_https and not config.issuer_is_loopback:
        problems.append(
            Error(
                f"IAM_ISSUER {config.issuer} is not https: tokens and cookies would travel in clear.",
                hint="Set IAM_ISSUER=https://your.host (TLS ends at your proxy).",
                id="iam.E001",
            )
        )
    if settings.DEBUG and not config.issuer_is_loopback:
        problems.append(
            Error("DEBUG is on with a public issuer: it leaks settings and stack traces.", id="iam.E002")
        )
    if config.secret_key_generated and not config.issuer_is_loopback:
        problems.append(
            Warning(
                "SECRET_KEY is generated into var/secret_key; several hosts need one shared SECRET_KEY.",
                hint="Set SECRET_KEY in the environment of every host.",
                id="iam.W001",
            )
        )
    return problems


@register(Tags.security, deploy=True)
def signing_key_present(app_configs, **kwargs):
    """The signing keys this server would sign with can be decrypted with its SECRET_KEY.

    A missing key is no problem: `migrate` creates the first one, and so does the first token
    request on a database without one. A key this host cannot decrypt (another host's
    generated SECRET_KEY, a changed SECRET_KEY) would fail every token request: refuse.
    """
    from django.db import DatabaseError

    from iam import keys
    from iam.models import SigningKey

    try:
        rows = list(
            SigningKey.objects.filter(state__in=[SigningKey.ACTIVE, SigningKey.NEXT]).values_list(
                "kid", "alg", "private_key_encrypted"
            )
        )
    except DatabaseError:
        return []  # not migrated yet
    unreadable = []
    for kid, alg, encrypted in rows:
        try:
            keys.decrypt_private_key(encrypted)
        except (keys.SigningKeyError, ValueError):
            unreadable.append(f"{kid} ({alg})")
    if unreadable:
        return [
            Error(
                f"Signing key(s) {', '.join(unreadable)} cannot be decrypted with this SECRET_KEY: "
                "tokens cannot be signed.",
                hint="Every host needs the SECRET_KEY the keys were created with (set SECRET_KEY in the "
                "environment of every host; it must never change).",
                id="iam.E003",
            )
        ]
    return []
