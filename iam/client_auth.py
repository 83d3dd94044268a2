"""Client authentication for endpoints we serve ourselves (introspection).

The token endpoint authenticates through the validator; both end in iam.secrets.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote_plus

from django.db import connection

from iam.errors import InvalidClient, InvalidRequest
from iam.models import Application
from iam.secrets import check_client_secret

_CLIENT_QUERY: tuple | None = None


def _client_query():
    """The Application row by client_id, prebuilt once: every token, introspection and device
    request runs it, and compiling the ORM query cost five times the database round trip
    (docs/performance.md)."""
    global _CLIENT_QUERY
    if _CLIENT_QUERY is None:
        qn = connection.ops.quote_name
        meta = Application._meta
        fields = meta.concrete_fields
        sql = (
            f"SELECT {', '.join(qn(f.column) for f in fields)} FROM {qn(meta.db_table)} "
            f"WHERE {qn(meta.get_field('client_id').column)} = %s"
        )
        converters = []
        for field in fields:
            column = field.get_col(meta.db_table)
            converters.append((column, connection.ops.get_db_converters(column) + field.get_db_converters(connection)))
        _CLIENT_QUERY = (sql, [f.attname for f in fields], converters)
    return _CLIENT_QUERY


def load_client(client_id: str) -> Application | None:
    """The Application for ``client_id`` (active or not), or None.

    Read from the database on every request, never from a per-worker cache: a client
    disabled, deleted or given a new secret stops working at once on every worker and host."""
    if not client_id or "\x00" in client_id or len(client_id) > 255:
        return None  # PostgreSQL cannot even be asked about a NUL byte
    sql, attnames, converters = _client_query()
    with connection.cursor() as cursor:
        cursor.execute(sql, [client_id])
        row = cursor.fetchone()
    if row is None:
        return None
    values = []
    for value, (column, functions) in zip(row, converters, strict=True):
        for convert in functions:
            value = convert(value, column, connection)
        values.append(value)
    return Application.from_db(connection.alias, attnames, values)


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
