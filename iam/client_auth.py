"""Client authentication for endpoints we serve ourselves (introspection).

The token endpoint authenticates through the validator; both end in iam.secrets.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote_plus

from iam.errors import InvalidClient, InvalidRequest
from iam.models import Application
from iam.secrets import check_client_secret


def load_client(client_id: str) -> Application | None:
    """The Application for ``client_id`` (active or not), or None.

    Read from the database on every request, never from a per-worker cache: a client
    disabled, deleted or given a new secret stops working at once on every worker and host."""
    try:
        return Application.objects.filter(client_id=client_id).first()
    except ValueError:  # e.g. a NUL byte, which PostgreSQL cannot be asked about
        return None


def authenticate_confidential_client(request) -> Application:
    """``client_secret_basic`` or ``client_secret_post``; anything else is invalid_client."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
            client_id, secret = (unquote_plus(part) for part in decoded.split(":", 1))
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise InvalidClient("malformed Basic credentials") from None
        if "client_secret" in request.POST:
            raise InvalidRequest("use one client authentication method, not two")
    else:
        client_id = request.POST.get("client_id", "")
        secret = request.POST.get("client_secret", "")
    if not client_id or not secret:
        raise InvalidClient("client authentication is required")
    client = load_client(client_id)
    # Hash even when the client is unknown, so timing does not tell which ids exist.
    stored = client.client_secret if client is not None else None
    ok = check_client_secret(secret, stored or "hmac-sha256$0")
    if client is None or not ok or not client.is_active or client.is_public:
        raise InvalidClient("client authentication failed")
    return client
