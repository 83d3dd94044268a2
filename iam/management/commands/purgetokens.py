import json

from django.core.management.base import BaseCommand

from iam.services.housekeeping import purge_expired


class Command(BaseCommand):
    help = (
        "Delete expired or dead refresh tokens and their families, codes, device codes, replay records "
        "and revocations nothing can concern any more (access tokens are not stored). Safe to run "
        "from cron at any time."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **opts):
        counts = purge_expired(actor="cli:purgetokens")
        self.stdout.write(json.dumps(counts) if opts["json"] else ", ".join(f"{k}: {v}" for k, v in counts.items()))
