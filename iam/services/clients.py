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
from iam.services.revocation import revoke_client_tokens


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
    pkce_required: bool = True,
) -> tuple[Application, str | None]:
    """Create a client; returns it and its secret in clear (shown once; only a hash is kept).

    Its signing algorithm gets an active key now if it has none (audited as ``key.create``):
    a client is never registered for an algorithm the server would have to substitute.
    """
    grant_types, scopes = check_client_settings(
        public=public, grant_types=grant_types, redirect_uris=redirect_uris,
        post_logout_redirect_uris=post_logout_redirect_uris,
        scopes=list(STANDARD_SCOPES) if scopes is None else scopes,
        introspection=introspection, token_signing_alg=token_signing_alg, pkce_required=pkce_required,
    )
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
        pkce_required=pkce_required,
    )
    client.save()
    audit.record(
        actor=actor, action="client.create", target=client, client_id=client.client_id,
        grant_types=client.grant_types, public=public,
    )
    ensure_active_key(actor=actor, alg=token_signing_alg)
    return client, secret


# -- changing a client ---------------------------------------------------------------------------
# update_client() takes create_client()'s argument names (plus ``active``); each maps to a column.
_CHANGEABLE = {
    "name": "name",
    "grant_types": "grant_types",
    "redirect_uris": "redirect_uris",
    "post_logout_redirect_uris": "post_logout_redirect_uris",
    "scopes": "allowed_scopes",
    "audiences": "audiences",
    "introspection": "may_introspect_any_token",
    "skip_consent": "skip_authorization",
    "token_signing_alg": "token_signing_alg",
    "access_token_lifetime": "access_token_lifetime",
    "refresh_token_lifetime": "refresh_token_lifetime",
    "pkce_required": "pkce_required",
    "active": "is_active",
}
_SPACE_SEPARATED = ("redirect_uris", "post_logout_redirect_uris")
_LISTS = ("grant_types", "redirect_uris", "post_logout_redirect_uris", "scopes", "audiences")


def check_client_settings(
    *,
    public: bool,
    grant_types: list[str],
    redirect_uris: list[str] = (),
    post_logout_redirect_uris: list[str] = (),
    scopes: list[str] = (),
    introspection: bool = False,
    token_signing_alg: str = "RS256",
    pkce_required: bool = True,
) -> tuple[list[str], list[str]]:
    """The rules for a client's complete settings, for create_client(), update_client() and the
    admin's client form; raises ClientError. Returns the grant types and scopes, cleaned."""
    grant_types = _check_grant_types(grant_types)
    if GRANT_AUTHORIZATION_CODE in grant_types and not redirect_uris:
        raise ClientError("authorization_code needs at least one redirect URI (--redirect-uri)")
    if public and GRANT_CLIENT_CREDENTIALS in grant_types:
        raise ClientError("a public client cannot use client_credentials (it has no secret)")
    if public and GRANT_PASSWORD in grant_types:
        raise ClientError("a public client cannot use the password grant")
    if public and introspection:
        raise ClientError("a resource server that introspects must be confidential")
    if public and not pkce_required:
        raise ClientError("a public client always needs PKCE (it has no secret to bind the code to)")
    if token_signing_alg not in SIGNING_ALGORITHMS:
        raise ClientError(
            f"unknown signing algorithm {token_signing_alg!r}: choose from {', '.join(SIGNING_ALGORITHMS)}"
        )
    for uri in list(redirect_uris) + list(post_logout_redirect_uris):
        _check_redirect_uri(uri)
    return grant_types, _check_scopes(scopes)


def _client_settings(client: Application) -> dict:
    settings = {name: getattr(client, column) for name, column in _CHANGEABLE.items()}
    for name in _SPACE_SEPARATED:
        settings[name] = settings[name].split()
    return settings


@transaction.atomic
def update_client(
    *, actor, client: Application, rotate_secret: bool = False, **changes
) -> tuple[Application, str | None]:
    """Change a client's settings under create_client()'s rules, and/or give it a new secret.

    ``changes`` use create_client()'s names (``grant_types``, ``redirect_uris``, ``scopes``,
    ``audiences``, ``introspection``, ``skip_consent``, ...) plus ``active``; a client's type
    (public or confidential) does not change. Returns the client, re-read from the database,
    and with ``rotate_secret`` its new secret in clear (shown once; only a hash is kept; the old
    secret stops working at once).
    """
    unknown = sorted(set(changes) - set(_CHANGEABLE))
    if unknown:
        raise ClientError(f"cannot change {', '.join(unknown)}")
    for name in _LISTS:
        if name in changes:
            changes[name] = list(dict.fromkeys(v.strip() for v in changes[name] if v and v.strip()))
    # Compare with what is stored, not with the caller's copy (an admin form may have edited it).
    current = Application.objects.select_for_update().get(pk=client.pk)
    before = _client_settings(current)
    after = {**before, **changes}
    after["grant_types"], after["scopes"] = check_client_settings(
        public=current.is_public,
        grant_types=after["grant_types"],
        redirect_uris=after["redirect_uris"],
        post_logout_redirect_uris=after["post_logout_redirect_uris"],
        scopes=after["scopes"],
        introspection=after["introspection"],
        token_signing_alg=after["token_signing_alg"],
        pkce_required=after["pkce_required"],
    )
    for name in ("access_token_lifetime", "refresh_token_lifetime"):
        after[name] = _check_lifetime(name.replace("_", " "), after[name])
    changed = [name for name in _CHANGEABLE if after[name] != before[name]]
    if "name" in changed:
        after["name"] = _check_name(after["name"], exclude_pk=current.pk)
    if "token_signing_alg" in changed:
        ensure_active_key(actor=actor, alg=after["token_signing_alg"])
    if rotate_secret and current.is_public:
        raise ClientError("a public client has no secret")
    for name in changed:
        value = after[name]
        setattr(current, _CHANGEABLE[name], " ".join(value) if name in _SPACE_SEPARATED else value)
    secret = None
    if rotate_secret:
        secret = new_client_secret()
        current.hash_client_secret = False  # our own keyed hash, see iam.secrets
        current.client_secret = hash_client_secret(secret)
    if changed or rotate_secret:
        current.save()
    if changed:
        audit.record(
            actor=actor, action="client.update", target=current, client_id=current.client_id,
            changed={name: after[name] for name in changed},
        )
    if rotate_secret:
        audit.record(actor=actor, action="client.rotate_secret", target=current, client_id=current.client_id)
    # A disabled client, or one whose secret may have leaked, keeps no token issued so far.
    if rotate_secret or ("active" in changed and not after["active"]):
        revoke_client_tokens(actor=actor, client=current,
                             reason="secret_rotated" if rotate_secret else "client_disabled")
    return current, secret


@transaction.atomic
def delete_client(*, actor, client: Application) -> None:
    """Delete a client with everything it holds (refresh tokens, codes, consents); the access
    tokens issued to it, which are not stored, become inactive through its epoch."""
    revoke_client_tokens(actor=actor, client=client, reason="client_deleted")
    audit.record(actor=actor, action="client.delete", target=client, client_id=client.client_id, name=client.name)
    client.delete()
