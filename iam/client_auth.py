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

_CLIENT_QUERIES: dict[int, tuple] = {}


def _client_query(revocation_keys: int):
    """The Application row by client_id, prebuilt once: every token, introspection and device
    request runs it, and compiling the ORM query cost five times the database round trip
    (docs/performance.md). With ``revocation_keys`` placeholders, the same statement also
    brings the revocation rows of a token being introspected (one round trip, not two)."""
    query = _CLIENT_QUERIES.get(revocation_keys)
    if query is None:
        from iam.models import Revocation

        qn = connection.ops.quote_name
        meta = Application._meta
        fields = meta.concrete_fields
        columns = [f"a.{qn(f.column)}" for f in fields]
        sql = f"FROM {qn(meta.db_table)} a "
        if revocation_keys:
            columns += [f"r.{qn('key')}", f"r.{qn('not_before_ms')}"]
            sql += (
                f"LEFT JOIN {qn(Revocation._meta.db_table)} r "
                f"ON r.{qn('key')} IN ({', '.join(['%s'] * revocation_keys)}) "
            )
        sql = f"SELECT {', '.join(columns)} {sql}WHERE a.{qn(meta.get_field('client_id').column)} = %s"
        converters = []
        for field in fields:
            column = field.get_col(meta.db_table)
            converters.append((column, connection.ops.get_db_converters(column) + field.get_db_converters(connection)))
        query = _CLIENT_QUERIES[revocation_keys] = (sql, [f.attname for f in fields], converters)
    return query


def load_client_and_revocations(client_id: str, revocation_keys=()) -> tuple[Application | None, list]:
    """The Application for ``client_id`` (active or not) or None, and the revocation rows
    (key, not_before_ms) among ``revocation_keys`` (see iam.revocation).

    Read from the database on every request, never from a per-worker cache: a client
    disabled, deleted or given a new secret stops working at once on every worker and host."""
    if not client_id or "\x00" in client_id or len(client_id) > 255:
        return None, []  # PostgreSQL cannot even be asked about a NUL byte
    keys = list(revocation_keys)
    sql, attnames, converters = _client_query(len(keys))
    with connection.cursor() as cursor:
        cursor.execute(sql, [*keys, client_id])
        rows = cursor.fetchall()
    if not rows:
        return None, []
    values = []
    for value, (column, functions) in zip(rows[0], converters, strict=False):
        for convert in functions:
            value = convert(value, column, connection)
        values.append(value)
    revocations = [tuple(row[len(converters):]) for row in rows if keys and row[len(converters)] is not None]
    return Application.from_db(connection.alias, attnames, values), revocations


def load_client(client_id: str) -> Application | None:
    return load_client_and_revocations(client_id)[0]


def client_credentials(request) -> tuple[str, str]:
    """``client_secret_basic`` or ``client_secret_post``: (client_id, secret), not yet checked."""
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
    return client_id, secret


def verified_client(client: Application | None, secret: str) -> Application:
    """``client`` if ``secret`` is its secret and it is an active confidential client."""
    # Hash even when the client is unknown, so timing does not tell which ids exist.
    stored = client.client_secret if client is not None else None
    ok = check_client_secret(secret, stored or "hmac-sha256$0")
    if client is None or not ok or not client.is_active or client.is_public:
        raise InvalidClient("client authentication failed")
    return client


def authenticate_confidential_client(request) -> Application:
    """``client_secret_basic`` or ``client_secret_post``; anything else is invalid_client."""
    client_id, secret = client_credentials(request)
    return verified_client(load_client(client_id), secret)
