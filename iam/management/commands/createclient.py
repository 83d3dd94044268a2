import json

from django.core.management.base import BaseCommand, CommandError

from iam.services.clients import ClientError, create_client


class Command(BaseCommand):
    help = "Register an OAuth 2 / OpenID Connect client. The secret is printed once; only a hash is kept."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--public", action="store_true", help="a public client (no secret; PKCE required)")
        parser.add_argument("--grant-type", action="append", dest="grant_types", metavar="GT",
                            help="RFC grant type name; repeat for more")
        parser.add_argument("--redirect-uri", action="append", default=[], dest="redirect_uris", metavar="URI")
        parser.add_argument("--post-logout-redirect-uri", action="append", default=[],
                            dest="post_logout_redirect_uris", metavar="URI")
        parser.add_argument("--scope", action="append", dest="scopes", metavar="S",
                            help="a scope the client may request; repeat for more (default: the standard ones)")
        parser.add_argument("--audience", action="append", default=[], dest="audiences", metavar="AUD",
                            help="an audience the client may ask for")
        parser.add_argument("--introspection", action="store_true",
                            help="a resource server that may introspect tokens issued to other clients")
        parser.add_argument("--skip-consent", action="store_true", help="trusted first-party client: no consent page")
        parser.add_argument("--signing-alg", default="RS256", choices=["RS256", "ES256"],
                            help="algorithm for this client's ID and access tokens")
        parser.add_argument("--json", action="store_true", help="print the client (and its secret) as JSON")

    def handle(self, *args, **opts):
        try:
            client, secret = create_client(
                actor="cli:createclient",
                name=opts["name"],
                public=opts["public"],
                grant_types=opts["grant_types"],
                redirect_uris=opts["redirect_uris"],
                post_logout_redirect_uris=opts["post_logout_redirect_uris"],
                scopes=opts["scopes"],
                audiences=opts["audiences"],
                introspection=opts["introspection"],
                skip_consent=opts["skip_consent"],
                token_signing_alg=opts["signing_alg"],
            )
        except ClientError as exc:
            raise CommandError(str(exc)) from exc
        result = {
            "client_id": client.client_id,
            "name": client.name,
            "client_type": client.client_type,
            "grant_types": client.grant_types,
            "redirect_uris": client.redirect_uris.split(),
            "scope": " ".join(client.allowed_scopes),
            "audiences": client.audiences,
            "introspection": client.may_introspect_any_token,
        }
        if secret:
            result["client_secret"] = secret
        if opts["json"]:
            self.stdout.write(json.dumps(result))
        else:
            self.stdout.write(f"client_id:     {client.client_id}")
            if secret:
                self.stdout.write(f"client_secret: {secret}   (shown once)")
