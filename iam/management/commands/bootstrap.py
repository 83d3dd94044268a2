import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from accounts.services.users import create_user
from iam.conf import config
from iam.services.keys import ensure_active_key


class Command(BaseCommand):
    help = (
        "First-run setup (idempotent): once, an administrator with a printed password; and a signing "
        "key if there is none (`migrate` already makes the first one)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--admin-username", default="admin")
        parser.add_argument("--admin-email", default="admin@localhost.localdomain")

    def handle(self, *args, **opts):
        ensure_active_key(actor="cli:bootstrap", alg="RS256")
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            return
        password = secrets.token_urlsafe(12)
        create_user(
            actor="cli:bootstrap",
            username=opts["admin_username"],
            email=opts["admin_email"],
            password=password,
            is_staff=True,
            is_superuser=True,
            email_verified=True,
        )
        bar = "=" * 72
        if config.admin_enabled:
            admin = f"(Django admin: {config.issuer}/admin/)"
        else:
            admin = "(Django admin off on this server: IAM_ADMIN_ENABLED=1 mounts it, see the README)"
        self.stdout.write(
            f"\n{bar}\nFirst administrator created (this is shown only once):\n"
            f"  sign in at {config.issuer}/login/  {admin}\n"
            f"  username: {opts['admin_username']}\n  password: {password}\n{bar}\n"
        )
