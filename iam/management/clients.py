"""What the client commands (createclient, updateclient, listclients) share: their options and
how a client is printed."""

from __future__ import annotations

import argparse

from iam.models import SIGNING_ALGORITHMS, SUPPORTED_GRANT_TYPES
from iam.services.clients import MAX_LIFETIME, known_scopes


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


def add_client_options(parser, *, update: bool = False) -> None:
    """createclient's options; for updateclient a list option, when given, replaces the list."""
    replaces = " (replaces the registered ones)" if update else ""
    parser.add_argument("--grant-type", action="append", dest="grant_types", metavar="GT",
                        help=("" if update else "required; ") + f"repeat for more{replaces}: "
                        + ", ".join(SUPPORTED_GRANT_TYPES))
    parser.add_argument("--redirect-uri", action="append", dest="redirect_uris", metavar="URI",
                        help=f"repeat for more{replaces}")
    parser.add_argument("--post-logout-redirect-uri", action="append", dest="post_logout_redirect_uris",
                        metavar="URI", help=f"repeat for more{replaces}")
    parser.add_argument("--scope", action="append", dest="scopes", metavar="S",
                        help=f"a scope the client may request; repeat for more{replaces}"
                        + ("" if update else " (default: the standard ones)")
                        + f". Known scopes (IAM_SCOPES adds more): {' '.join(known_scopes())}")
    parser.add_argument("--audience", action="append", dest="audiences", metavar="AUD",
                        help=f"an audience the client may ask for; repeat for more{replaces}")
    parser.add_argument("--introspection", action=argparse.BooleanOptionalAction if update else "store_true",
                        default=None if update else False,
                        help="a resource server that may introspect tokens issued to other clients")
    parser.add_argument("--skip-consent", action=argparse.BooleanOptionalAction if update else "store_true",
                        default=None if update else False, help="trusted first-party client: no consent page")
    if update:
        parser.add_argument("--pkce", action=argparse.BooleanOptionalAction, default=None, dest="pkce_required",
                            help="require PKCE in authorization requests (--no-pkce only for a legacy "
                                 "confidential client that cannot send it)")
    else:
        parser.add_argument("--no-pkce", action="store_false", dest="pkce_required",
                            help="a legacy confidential client that cannot send PKCE (default: required)")
    parser.add_argument("--signing-alg", default=None if update else "RS256", choices=SIGNING_ALGORITHMS,
                        help="algorithm for this client's ID and access tokens (its first key is created "
                             "if there is none)")
    parser.add_argument("--access-token-lifetime", type=lifetime, metavar="SECONDS",
                        help="this client's access token lifetime (default: IAM_ACCESS_TOKEN_LIFETIME)")
    parser.add_argument("--refresh-token-lifetime", type=lifetime, metavar="SECONDS",
                        help="this client's refresh token lifetime (default: IAM_REFRESH_TOKEN_LIFETIME)")
    parser.add_argument("--json", action="store_true", help="print the client (and any new secret) as JSON")


# Option destinations and the service's names for them.
SETTINGS = {
    "grant_types": "grant_types",
    "redirect_uris": "redirect_uris",
    "post_logout_redirect_uris": "post_logout_redirect_uris",
    "scopes": "scopes",
    "audiences": "audiences",
    "introspection": "introspection",
    "skip_consent": "skip_consent",
    "signing_alg": "token_signing_alg",
    "access_token_lifetime": "access_token_lifetime",
    "refresh_token_lifetime": "refresh_token_lifetime",
    "pkce_required": "pkce_required",
}


def describe(client, secret: str | None = None) -> dict:
    result = {
        "client_id": client.client_id,
        "name": client.name,
        "client_type": client.client_type,
        "active": client.is_active,
        "grant_types": client.grant_types,
        "redirect_uris": client.redirect_uris.split(),
        "post_logout_redirect_uris": client.post_logout_redirect_uris.split(),
        "scope": " ".join(client.allowed_scopes),
        "audiences": client.audiences,
        "introspection": client.may_introspect_any_token,
        "skip_consent": client.skip_authorization,
        "pkce_required": client.is_public or client.pkce_required,
        "signing_alg": client.token_signing_alg,
        "access_token_lifetime": client.effective_access_token_lifetime(),
        "refresh_token_lifetime": client.effective_refresh_token_lifetime(),
    }
    if secret:
        result["client_secret"] = secret
    return result
