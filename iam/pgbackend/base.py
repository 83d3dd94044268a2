"""Django's PostgreSQL backend with a connection health check that costs no round trip.

With persistent connections (CONN_MAX_AGE) and CONN_HEALTH_CHECKS, Django checks each reused
connection once per request by sending ``SELECT 1``: a full round trip and a PostgreSQL
wake-up on every token request, about a quarter of the wall time of the busiest endpoint
(docs/performance.md). An idle connection has nothing to say, so we ask the socket instead:
when the server ends a session (shutdown or restart, ``pg_terminate_backend``,
``idle_session_timeout``) it sends an error and closes the socket, which makes it readable.
A connection the client already knows is broken, or whose socket has anything to read while
no query is running, is reported unusable and Django opens a new one before the request
uses it. What this cannot see (a peer that vanished without a packet, e.g. a host power
loss) ``SELECT 1`` would not have seen either until the TCP timeout.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self):
        conn = self.connection
        if conn is None or conn.closed or conn.broken:
            return False
        pgconn = conn.pgconn
        if pgconn.status != pq.ConnStatus.OK:
            return False
        if pgconn.transaction_status not in (pq.TransactionStatus.IDLE, pq.TransactionStatus.INTRANS):
            # Inside a failed transaction or with a query still running: let Django decide
            # the way it always has.
            return super().is_usable()
        poller = select.poll()
        poller.register(pgconn.socket, select.POLLIN | select.POLLPRI)
        # Nothing is in flight, so anything readable is the server's goodbye (or, harmlessly,
        # an unsolicited status message: the connection is then replaced once for nothing).
        return not poller.poll(0)
