import json
import sys

from django.core.management.base import BaseCommand, CommandError

from accounts.services.users import AccountError, create_user


class Command(BaseCommand):
    help = "Create a local user account (and any groups named with --group)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", required=True)
        parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
        parser.add_argument("--given-name", default="")
        parser.add_argument("--family-name", default="")
        parser.add_argument("--group", action="append", default=[], metavar="PATH",
                            help="group path, e.g. cms/analysis (created if missing); repeat for more")
        parser.add_argument("--json", action="store_true", help="print the new user as JSON")

    def handle(self, *args, **opts):
        password = None
        if opts["password_stdin"]:
            password = sys.stdin.readline().rstrip("\r\n")
            if not password:
                raise CommandError("no password on standard input")
        try:
            user = create_user(
                actor="cli:createuser",
                username=opts["username"],
                email=opts["email"],
                password=password,
                given_name=opts["given_name"],
                family_name=opts["family_name"],
                groups=opts["group"],
                email_verified=True,
            )
        except AccountError as exc:
            raise CommandError(str(exc)) from exc
        result = {
            "id": str(user.pk),
            "username": user.username,
            "email": user.email,
            "groups": user.active_group_paths(),
        }
        if opts["json"]:
            self.stdout.write(json.dumps(result))
        else:
            self.stdout.write(f"created user {user.username} (sub {user.pk})")
