"""Client authentication for endpoints we serve ourselves (introspection).

The token endpoint authenticates through the validator; both end in iam.secrets.
"""

from __future__ import annotations

import base64
import binascii
import copy
import time
from urllib.parse import unquote_plus

from django.conf import settings
from django.db import connection
from django.db.models.signals import post_delete, post_save

from iam.errors import InvalidClient, InvalidRequest
from iam.models import Application
from iam.secrets import check_client_secret

# Every token and introspection request reads its client's Application row, which costs
# more than the rest of client authentication. Each worker keeps the rows it has read for a
# few seconds: a client disabled, deleted or given a new secret elsewhere stops working on
# every worker within IAM_CLIENT_CACHE_SECONDS (at once on the worker that saved it).
# Inside a transaction the database is read, so a caller always sees its own writes.
CLIENT_CACHE_SECONDS = 5.0
_CLIENT_CACHE_MAX = 1024
_client_cache: dict[str, tuple[float, Application]] = {}


def load_client(client_id: str) -> Application | None:
    """The Application for ``client_id`` (active or not), or None; a private copy per call."""
    ttl = getattr(settings, "IAM_CLIENT_CACHE_SECONDS", CLIENT_CACHE_SECONDS)
    use_cache = ttl > 0 and not connection.in_atomic_block
    now = time.monotonic()
    if use_cache:
        hit = _client_cache.get(client_id)
        if hit is not None and now - hit[0] < ttl:
            return copy.copy(hit[1])
    client = Application.objects.filter(client_id=client_id).first()
    if use_cache and client is not None:  # unknown ids are not kept: no memory for random ids
        if len(_client_cache) >= _CLIENT_CACHE_MAX:
            _client_cache.clear()
        _client_cache[client_id] = (now, copy.copy(client))
    return client


def forget_client(sender=None, instance=None, **kwargs) -> None:
    _client_cache.pop(getattr(instance, "client_id", None), None)


post_save.connect(forget_client, sender=Application, dispatch_uid="iam.client_auth.forget_client.save")
post_delete.connect(forget_client, sender=Application, dispatch_uid="iam.client_auth.forget_client.delete")


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
