import json

from django.core.management.base import BaseCommand, CommandError

from iam.management.clients import SETTINGS, add_client_options, describe
from iam.models import Application
from iam.services.clients import ClientError, update_client


class Command(BaseCommand):
    help = (
        "Change a client: createclient's options (a list option replaces the registered list), "
        "--disable / --enable, --rotate-secret (printed once). Disabling a client or rotating its "
        "secret makes every token issued to it so far inactive at once."
    )

    def add_arguments(self, parser):
        parser.add_argument("client_id")
        parser.add_argument("--name", help="a new name, unique ignoring case")
        state = parser.add_mutually_exclusive_group()
        state.add_argument("--disable", action="store_true", help="no more tokens; issued ones become inactive")
        state.add_argument("--enable", action="store_true")
        parser.add_argument("--rotate-secret", action="store_true",
                            help="a new secret (printed once); the old one and tokens issued so far stop working")
        add_client_options(parser, update=True)

    def handle(self, *args, **opts):
        client = Application.objects.filter(client_id=opts["client_id"]).first()
        if client is None:
            raise CommandError(f"no client with client_id {opts['client_id']!r} (see listclients)")
        changes = {service: opts[option] for option, service in SETTINGS.items() if opts[option] is not None}
        if opts["name"] is not None:
            changes["name"] = opts["name"]
        if opts["disable"] or opts["enable"]:
            changes["active"] = bool(opts["enable"])
        if not changes and not opts["rotate_secret"]:
            raise CommandError("nothing to change: give an option (see --help)")
        try:
            client, secret = update_client(actor="cli:updateclient", client=client,
                                           rotate_secret=opts["rotate_secret"], **changes)
        except ClientError as exc:
            raise CommandError(str(exc)) from exc
        if opts["json"]:
            self.stdout.write(json.dumps(describe(client, secret)))
        else:
            self.stdout.write(f"client_id:     {client.client_id} ({'active' if client.is_active else 'disabled'})")
            if secret:
                self.stdout.write(f"client_secret: {secret}   (shown once)")
