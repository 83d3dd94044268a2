from django.apps import AppConfig


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
