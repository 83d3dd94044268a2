"""Registering OAuth clients."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.db import transaction

from accounts.services import audit
from iam.claims import STANDARD_SCOPES
from iam.conf import config
from iam.models import (
    GRANT_AUTHORIZATION_CODE,
    GRANT_CLIENT_CREDENTIALS,
    GRANT_PASSWORD,
    SIGNING_ALGORITHMS,
    SUPPORTED_GRANT_TYPES,
    Application,
)
from iam.secrets import hash_client_secret, new_client_secret
from iam.services.keys import ensure_active_key
from iam.services.locks import serialise


class ClientError(ValueError):
    """The client registration is not acceptable; the message says why."""


# PositiveIntegerField: PostgreSQL's integer column holds no more.
MAX_LIFETIME = 2**31 - 1


def known_scopes() -> list[str]:
    """Scopes a client may be registered with: the standard ones, then the operator's (IAM_SCOPES)."""
    return list(dict.fromkeys([*STANDARD_SCOPES, *config.scopes]))


def _check_grant_types(grant_types) -> list[str]:
    choices = ", ".join(SUPPORTED_GRANT_TYPES)
    if not grant_types:
        raise ClientError(f"a client needs at least one grant type (--grant-type, repeat for more): {choices}")
    unknown = [g for g in grant_types if g not in SUPPORTED_GRANT_TYPES]
    if unknown:
        raise ClientError(f"unknown grant type {', '.join(map(repr, unknown))}: choose from {choices}")
    return list(dict.fromkeys(grant_types))


def _check_scopes(scopes) -> list[str]:
    scopes = list(dict.fromkeys(s for s in scopes if s))
    if any(" " in s or '"' in s or "\\" in s for s in scopes):
        raise ClientError("scope names cannot contain spaces, quotes or backslashes")
    known = known_scopes()
    unknown = [s for s in scopes if s not in known]
    if unknown:
        raise ClientError(
            f"unknown scope {', '.join(map(repr, unknown))}: known scopes are {' '.join(known)}; "
            "define your own in IAM_SCOPES (space-separated) in the server's environment"
        )
    return scopes


def _check_lifetime(option: str, seconds) -> int | None:
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 < seconds <= MAX_LIFETIME:
        raise ClientError(f"{option} must be a whole number of seconds between 1 and {MAX_LIFETIME}, not {seconds!r}")
    return seconds


def _check_name(name: str, *, exclude_pk=None) -> str:
    """A client's name is how operators tell clients apart: unique, ignoring case."""
    name = (name or "").strip()
    if not name:
        raise ClientError("a client needs a name")
    max_length = Application._meta.get_field("name").max_length
    if len(name) > max_length:
        raise ClientError(f"a client name has at most {max_length} characters")
    # No unique index on the name: serialise registrations so two at once cannot both pass.
    serialise("iam.client-names")
    taken = Application.objects.filter(name__iexact=name).exclude(pk=exclude_pk).first()
    if taken is not None:
        raise ClientError(
            f"a client named {taken.name!r} already exists (client_id {taken.client_id}); "
            "client names must be unique, ignoring case"
        )
    return name


def _check_redirect_uri(uri: str) -> None:
    parts = urlsplit(uri)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ClientError(f"redirect URI must be an absolute http(s) URI: {uri}")
    if parts.fragment or "#" in uri:
        raise ClientError(f"redirect URI must not have a fragment: {uri}")
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ClientError(f"plain http redirect URIs are only allowed on loopback: {uri}")


@transaction.atomic
def create_client(
    *,
    actor,
    name: str,
    grant_types: list[str],
    public: bool = False,
    redirect_uris: list[str] = (),
    post_logout_redirect_uris: list[str] = (),
    scopes: list[str] | None = None,
    audiences: list[str] = (),
    introspection: bool = False,
    skip_consent: bool = False,
    token_signing_alg: str = "RS256",
    access_token_lifetime: int | None = None,
    refresh_token_lifetime: int | None = None,
) -> tuple[Application, str | None]:
    """Create a client; returns it and its secret in clear (shown once; only a hash is kept).

    Its signing algorithm gets an active key now if it has none (audited as ``key.create``):
    a client is never registered for an algorithm the server would have to substitute.
    """
    grant_types = _check_grant_types(grant_types)
    if GRANT_AUTHORIZATION_CODE in grant_types and not redirect_uris:
        raise ClientError("authorization_code needs at least one --redirect-uri")
    if public and GRANT_CLIENT_CREDENTIALS in grant_types:
        raise ClientError("a public client cannot use client_credentials (it has no secret)")
    if public and GRANT_PASSWORD in grant_types:
        raise ClientError("a public client cannot use the password grant")
    if public and introspection:
        raise ClientError("a resource server that introspects must be confidential")
    if token_signing_alg not in SIGNING_ALGORITHMS:
        raise ClientError(
            f"unknown signing algorithm {token_signing_alg!r}: choose from {', '.join(SIGNING_ALGORITHMS)}"
        )
    for uri in list(redirect_uris) + list(post_logout_redirect_uris):
        _check_redirect_uri(uri)
    scopes = _check_scopes(list(STANDARD_SCOPES) if scopes is None else scopes)
    access_token_lifetime = _check_lifetime("access token lifetime", access_token_lifetime)
    refresh_token_lifetime = _check_lifetime("refresh token lifetime", refresh_token_lifetime)
    name = _check_name(name)

    secret = None if public else new_client_secret()
    client = Application(
        name=name,
        client_type=Application.CLIENT_PUBLIC if public else Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type="",
        grant_types=grant_types,
        redirect_uris=" ".join(redirect_uris),
        post_logout_redirect_uris=" ".join(post_logout_redirect_uris),
        allowed_scopes=scopes,
        audiences=list(dict.fromkeys(audiences)),
        may_introspect_any_token=introspection,
        skip_authorization=skip_consent,
        hash_client_secret=False,  # we store our own keyed hash, see iam.secrets
        client_secret=hash_client_secret(secret) if secret else "",
        algorithm=Application.RS256_ALGORITHM,
        token_signing_alg=token_signing_alg,
        access_token_lifetime=access_token_lifetime,
        refresh_token_lifetime=refresh_token_lifetime,
    )
    client.save()
    audit.record(
        actor=actor, action="client.create", target=client, client_id=client.client_id,
        grant_types=client.grant_types, public=public,
    )
    ensure_active_key(actor=actor, alg=token_signing_alg)
    return client, secret
