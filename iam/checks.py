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
    """No active signing key: a warning on a loopback first run (`make run` creates one), an
    error for a public issuer, which would answer every token request with a failure."""
    from django.db import DatabaseError

    from iam.models import SigningKey

    try:
        if not SigningKey.objects.filter(state=SigningKey.ACTIVE).exists():
            level, check_id = (Warning, "iam.W002") if config.issuer_is_loopback else (Error, "iam.E003")
            return [
                level(
                    "No active signing key: tokens cannot be issued.",
                    hint="Run `python manage.py rotatekeys`.",
                    id=check_id,
                )
            ]
    except DatabaseError:
        return []  # not migrated yet
    return []
