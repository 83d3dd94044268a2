"""Django's PostgreSQL backend with a connection health check that costs no round trip while
the connection is busy, and one round trip after it sat idle.

With persistent connections (CONN_MAX_AGE) and CONN_HEALTH_CHECKS, Django checks each reused
connection once per request by sending ``SELECT 1``: a full round trip and a PostgreSQL
wake-up on every token request, about a quarter of the wall time of the busiest endpoint
(docs/performance.md). A connection in use has nothing to say, so we ask the socket instead:
when the server ends a session (shutdown or restart, ``pg_terminate_backend``,
``idle_session_timeout``) it sends an error and closes the socket, which makes it readable.
A connection the client already knows is broken, or whose socket has anything to read while
no query is running, is reported unusable and Django opens a new one before the request
uses it.

What the socket cannot show is a peer that vanished without a packet: a NAT or load balancer
between IAM and PostgreSQL that dropped the connection after its idle timeout, or a host that
lost power. The next query then meets a reset or silence, and the request fails. So a
connection idle for longer than ``idle_before_round_trip`` is asked ``SELECT 1`` after all
(one round trip per idle period, nothing on a busy server), with a deadline
(``round_trip_timeout``): no answer in time, and it is replaced. The settings also turn on
TCP keepalives (iam/settings.py), which keep idle connections alive in those middleboxes'
tables and let the kernel find a dead peer on its own.
"""

from __future__ import annotations

import select
import time

import psycopg
from django.db.backends.postgresql import base
from psycopg import pq

_clock = time.monotonic  # tests move it


class DatabaseWrapper(base.DatabaseWrapper):
    # Below the idle timeouts of NATs, firewalls and load balancers (minutes), so a connection
    # they may have forgotten gets a round trip; above the gap between requests on a busy
    # server, so those get none.
    idle_before_round_trip = 30.0
    round_trip_timeout = 5.0
    _last_used = 0.0

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        self._last_used = _clock()
        return connection

    def create_cursor(self, name=None):
        self._last_used = _clock()
        return super().create_cursor(name)

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
        if poller.poll(0):
            return False
        if pgconn.transaction_status == pq.TransactionStatus.IDLE and (
            _clock() - self._last_used > self.idle_before_round_trip
        ):
            if not _answers_select_1(conn, self.round_trip_timeout):
                return False
            self._last_used = _clock()
        return True


def _answers_select_1(conn: psycopg.Connection, timeout: float) -> bool:
    """Whether the server answers ``SELECT 1`` within ``timeout`` seconds.

    psycopg's own ``execute`` would wait for ever on a connection whose packets go nowhere
    (until the kernel gives up: TCP_USER_TIMEOUT, or about 15 minutes without it), so this
    drives libpq directly on the non-blocking connection. A connection left with the query
    in flight is closed by Django straight after (is_usable is False)."""
    deadline = time.monotonic() + timeout
    pgconn = conn.pgconn
    with conn.lock:
        try:
            pgconn.send_query(b"SELECT 1")
            while pgconn.flush():  # 1: more to send
                if not _wait(pgconn.socket, select.POLLOUT, deadline):
                    return False
            answered = True
            while True:
                pgconn.consume_input()
                while not pgconn.is_busy():
                    result = pgconn.get_result()
                    if result is None:
                        return answered
                    answered = answered and result.status == pq.ExecStatus.TUPLES_OK
                if not _wait(pgconn.socket, select.POLLIN, deadline):
                    return False
        except psycopg.Error:
            return False


def _wait(fd: int, events: int, deadline: float) -> bool:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return False
    poller = select.poll()
    poller.register(fd, events)
    return bool(poller.poll(remaining * 1000))  # also true on POLLERR/POLLHUP: libpq reports it
