"""Registering OAuth clients."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.db import transaction

from accounts.services import audit
from iam.claims import STANDARD_SCOPES
from iam.models import (
    GRANT_AUTHORIZATION_CODE,
    GRANT_CLIENT_CREDENTIALS,
    GRANT_DEVICE_CODE,
    GRANT_PASSWORD,
    GRANT_REFRESH_TOKEN,
    SIGNING_ALGORITHMS,
    SUPPORTED_GRANT_TYPES,
    Application,
)
from iam.secrets import hash_client_secret, new_client_secret


class ClientError(ValueError):
    """The client registration is not acceptable; the message says why."""


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
    public: bool = False,
    grant_types: list[str] | None = None,
    redirect_uris: list[str] = (),
    post_logout_redirect_uris: list[str] = (),
    scopes: list[str] | None = None,
    audiences: list[str] = (),
    introspection: bool = False,
    skip_consent: bool = False,
    token_signing_alg: str = "RS256",
) -> tuple[Application, str | None]:
    """Create a client; returns it and its secret in clear (shown once; only a hash is kept)."""
    if not grant_types:
        grant_types = [GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN] if redirect_uris else (
            [GRANT_DEVICE_CODE, GRANT_REFRESH_TOKEN] if public else [GRANT_CLIENT_CREDENTIALS]
        )
    unknown = [g for g in grant_types if g not in SUPPORTED_GRANT_TYPES]
    if unknown:
        raise ClientError(f"unsupported grant type(s): {', '.join(unknown)}")
    if GRANT_AUTHORIZATION_CODE in grant_types and not redirect_uris:
        raise ClientError("authorization_code needs at least one --redirect-uri")
    if public and GRANT_CLIENT_CREDENTIALS in grant_types:
        raise ClientError("a public client cannot use client_credentials (it has no secret)")
    if public and GRANT_PASSWORD in grant_types:
        raise ClientError("a public client cannot use the password grant")
    if public and introspection:
        raise ClientError("a resource server that introspects must be confidential")
    if token_signing_alg not in SIGNING_ALGORITHMS:
        raise ClientError(f"token signing algorithm must be one of {', '.join(SIGNING_ALGORITHMS)}")
    for uri in list(redirect_uris) + list(post_logout_redirect_uris):
        _check_redirect_uri(uri)
    if scopes is None:
        scopes = list(STANDARD_SCOPES)
    scopes = list(dict.fromkeys(s for s in scopes if s))
    if any(" " in s or '"' in s or "\\" in s for s in scopes):
        raise ClientError("scope names cannot contain spaces, quotes or backslashes")

    secret = None if public else new_client_secret()
    client = Application(
        name=name,
        client_type=Application.CLIENT_PUBLIC if public else Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type="",
        grant_types=list(dict.fromkeys(grant_types)),
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
    )
    client.save()
    audit.record(
        actor=actor, action="client.create", target=client, client_id=client.client_id,
        grant_types=client.grant_types, public=public,
    )
    return client, secret
