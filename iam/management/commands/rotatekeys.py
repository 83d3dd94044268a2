import json

from django.core.management.base import BaseCommand

from iam.services.keys import rotate_keys


class Command(BaseCommand):
    help = (
        "One signing-key rotation step: the published 'next' key becomes active, the old active key "
        "keeps verifying (retiring) until its tokens expire, and a new 'next' key is published."
    )

    def add_arguments(self, parser):
        parser.add_argument("--alg", default="RS256", choices=["RS256", "ES256"])
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **opts):
        changes = rotate_keys(actor="cli:rotatekeys", alg=opts["alg"])
        if opts["json"]:
            self.stdout.write(json.dumps(changes))
        else:
            for name, value in changes.items():
                if value:
                    self.stdout.write(f"{name}: {value}")
