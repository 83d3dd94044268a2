from django.apps import AppConfig
from django.db.models.signals import post_migrate

FIRST_SIGNING_KEY_UID = "iam.first_signing_key"


def create_first_signing_key(sender, using="default", verbosity=1, stdout=None, **kwargs):
    """After ``migrate``: an active key for RS256 and for every algorithm a client is registered
    with, so that `migrate` then gunicorn (the usual Django way) can sign tokens at once.

    Skipped while migrations are still pending (``migrate iam 0001``, ``migrate iam zero``):
    the models may not match the tables yet. Key store and token endpoint create a missing key
    at first use anyway; this only makes it happen before the first request.
    """
    from django.db import DEFAULT_DB_ALIAS, connections
    from django.db.migrations.executor import MigrationExecutor

    if using != DEFAULT_DB_ALIAS:
        return
    executor = MigrationExecutor(connections[using])
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        return

    from iam.models import Application, SigningKey
    from iam.services.keys import ensure_active_key

    algs = {"RS256", *Application.objects.values_list("token_signing_alg", flat=True).distinct()}
    had = set(SigningKey.objects.filter(state=SigningKey.ACTIVE).values_list("alg", flat=True))
    for alg in sorted(algs):
        key = ensure_active_key(actor="system:migrate", alg=alg)
        if alg not in had and verbosity >= 1 and stdout is not None:
            stdout.write(f"  Created the first {alg} signing key (kid {key.kid}).")


class IamConfig(AppConfig):
    name = "iam"
    verbose_name = "IAM authorization server"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from accounts.signals import user_tokens_withdrawn
        from iam import (
            checks,  # noqa: F401  (registers system checks)
            metrics,
        )
        from iam.services.revocation import withdraw_user_tokens

        user_tokens_withdrawn.connect(withdraw_user_tokens, dispatch_uid="iam.revocation.user_tokens_withdrawn")
        # accounts emits Django's sign-in signals and knows nothing of metrics.
        user_logged_in.connect(metrics.count_login, dispatch_uid="iam.metrics.login")
        user_login_failed.connect(metrics.count_failed_login, dispatch_uid="iam.metrics.login_failed")
        # Sent once per app after every migrate; ours runs when iam's own turn comes.
        post_migrate.connect(create_first_signing_key, sender=self, dispatch_uid=FIRST_SIGNING_KEY_UID)
