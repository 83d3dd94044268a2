import json

from django.core.management.base import BaseCommand

from iam.services.housekeeping import purge_expired


class Command(BaseCommand):
    help = (
        "Delete expired access, ID and refresh tokens, codes and device codes, and the replay and "
        "token-family records nothing can use any more. Safe to run from cron at any time."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **opts):
        counts = purge_expired(actor="cli:purgetokens")
        self.stdout.write(json.dumps(counts) if opts["json"] else ", ".join(f"{k}: {v}" for k, v in counts.items()))
