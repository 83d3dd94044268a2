import json

from django.core.management.base import BaseCommand, CommandError

from iam.management.clients import SETTINGS, add_client_options, describe
from iam.services.clients import ClientError, create_client


class Command(BaseCommand):
    help = "Register an OAuth 2 / OpenID Connect client. The secret is printed once; only a hash is kept."

    def add_arguments(self, parser):
        parser.add_argument("name", help="a name for operators, unique ignoring case")
        parser.add_argument("--public", action="store_true", help="a public client (no secret; PKCE required)")
        add_client_options(parser)

    def handle(self, *args, **opts):
        settings = {service: opts[option] for option, service in SETTINGS.items()}
        for name in ("redirect_uris", "post_logout_redirect_uris", "audiences"):
            settings[name] = settings[name] or []
        try:
            client, secret = create_client(actor="cli:createclient", name=opts["name"], public=opts["public"],
                                           **settings)
        except ClientError as exc:
            raise CommandError(str(exc)) from exc
        if opts["json"]:
            self.stdout.write(json.dumps(describe(client, secret)))
        else:
            self.stdout.write(f"client_id:     {client.client_id}")
            if secret:
                self.stdout.write(f"client_secret: {secret}   (shown once)")
