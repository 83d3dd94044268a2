from django.core.management.base import BaseCommand, CommandError

from iam.models import Application
from iam.services.clients import delete_client


class Command(BaseCommand):
    help = "Delete a client, its refresh tokens and consents; every token issued to it becomes inactive."

    def add_arguments(self, parser):
        parser.add_argument("client_id")

    def handle(self, *args, **opts):
        client = Application.objects.filter(client_id=opts["client_id"]).first()
        if client is None:
            raise CommandError(f"no client with client_id {opts['client_id']!r} (see listclients)")
        delete_client(actor="cli:deleteclient", client=client)
        self.stdout.write(f"deleted {client.client_id} ({client.name})")
