import argparse
import json

from django.core.management.base import BaseCommand, CommandError

from iam.models import SIGNING_ALGORITHMS, SUPPORTED_GRANT_TYPES
from iam.services.clients import MAX_LIFETIME, ClientError, create_client, known_scopes


def lifetime(value: str) -> int:
    """argparse type: a positive whole number of seconds."""
    try:
        seconds = int(value)
    except ValueError:
        seconds = 0
    if not 0 < seconds <= MAX_LIFETIME:
        raise argparse.ArgumentTypeError(
            f"must be a whole number of seconds between 1 and {MAX_LIFETIME}, not {value!r}"
        )
    return seconds


class Command(BaseCommand):
    help = "Register an OAuth 2 / OpenID Connect client. The secret is printed once; only a hash is kept."

    def add_arguments(self, parser):
        parser.add_argument("name", help="a name for operators, unique ignoring case")
        parser.add_argument("--public", action="store_true", help="a public client (no secret; PKCE required)")
        parser.add_argument("--grant-type", action="append", dest="grant_types", metavar="GT",
                            help=f"required; repeat for more: {', '.join(SUPPORTED_GRANT_TYPES)}")
        parser.add_argument("--redirect-uri", action="append", default=[], dest="redirect_uris", metavar="URI")
        parser.add_argument("--post-logout-redirect-uri", action="append", default=[],
                            dest="post_logout_redirect_uris", metavar="URI")
        parser.add_argument("--scope", action="append", dest="scopes", metavar="S",
                            help="a scope the client may request; repeat for more (default: the standard "
                                 f"ones). Known scopes (IAM_SCOPES adds more): {' '.join(known_scopes())}")
        parser.add_argument("--audience", action="append", default=[], dest="audiences", metavar="AUD",
                            help="an audience the client may ask for")
        parser.add_argument("--introspection", action="store_true",
                            help="a resource server that may introspect tokens issued to other clients")
        parser.add_argument("--skip-consent", action="store_true", help="trusted first-party client: no consent page")
        parser.add_argument("--signing-alg", default="RS256", choices=SIGNING_ALGORITHMS,
                            help="algorithm for this client's ID and access tokens (its first key is created "
                                 "if there is none)")
        parser.add_argument("--access-token-lifetime", type=lifetime, metavar="SECONDS",
                            help="this client's access token lifetime (default: IAM_ACCESS_TOKEN_LIFETIME)")
        parser.add_argument("--refresh-token-lifetime", type=lifetime, metavar="SECONDS",
                            help="this client's refresh token lifetime (default: IAM_REFRESH_TOKEN_LIFETIME)")
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
                access_token_lifetime=opts["access_token_lifetime"],
                refresh_token_lifetime=opts["refresh_token_lifetime"],
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
            "signing_alg": client.token_signing_alg,
            "access_token_lifetime": client.effective_access_token_lifetime(),
            "refresh_token_lifetime": client.effective_refresh_token_lifetime(),
        }
        if secret:
            result["client_secret"] = secret
        if opts["json"]:
            self.stdout.write(json.dumps(result))
        else:
            self.stdout.write(f"client_id:     {client.client_id}")
            if secret:
                self.stdout.write(f"client_secret: {secret}   (shown once)")
