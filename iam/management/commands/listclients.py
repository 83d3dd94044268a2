import json

from django.core.management.base import BaseCommand

from iam.management.clients import describe
from iam.models import Application


class Command(BaseCommand):
    help = "List the registered clients (never their secrets)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="a JSON list, one object per client")

    def handle(self, *args, **opts):
        clients = [describe(c) for c in Application.objects.order_by("name")]
        if opts["json"]:
            self.stdout.write(json.dumps(clients))
            return
        for c in clients:
            state = "" if c["active"] else "  (disabled)"
            self.stdout.write(f"{c['client_id']}  {c['name']}  {c['client_type']}  {' '.join(c['grant_types'])}{state}")
