from django.apps import AppConfig


class IamConfig(AppConfig):
    name = "iam"
    verbose_name = "IAM authorization server"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from iam import checks  # noqa: F401  (registers system checks)
