"""Reused PostgreSQL connections are checked once per request without a round trip
(iam/pgbackend), with one after a long idle, and replaced when the server has ended them or
their peer has vanished."""

import copy
import os
import select
import socket
import struct
import threading
import time

import pytest
from django.db import connection, connections
from psycopg import pq

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL backend only"),
]


@pytest.fixture
def other_connection():
    wrapper = connections.create_connection("default")
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def backend_query(pid):
    with connection.cursor() as cursor:
        cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row and row[0]


def end_from_the_server(wrapper):
    """pg_terminate_backend, then wait until the goodbye has reached the client's socket."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [wrapper.connection.info.backend_pid])
    deadline = time.monotonic() + 5
    while wrapper.is_usable() and time.monotonic() < deadline:
        time.sleep(0.02)


def test_postgresql_uses_the_round_trip_free_health_check():
    assert connection.settings_dict["ENGINE"] == "iam.pgbackend"
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True


def test_health_check_of_an_idle_connection_sends_nothing(other_connection):
    with other_connection.cursor() as cursor:
        cursor.execute("SELECT 42 AS health_check_marker")
    pid = other_connection.connection.info.backend_pid
    assert other_connection.is_usable()
    assert "health_check_marker" in backend_query(pid)  # still its last statement: no SELECT 1


def test_connection_ended_by_the_server_is_unusable(other_connection):
    end_from_the_server(other_connection)
    assert not other_connection.is_usable()


def test_request_after_the_server_ended_the_connection_gets_a_new_one(other_connection):
    """What Django does at the start of a request: the dead connection is closed, the next
    query reconnects, and nothing fails."""
    old_pid = other_connection.connection.info.backend_pid
    end_from_the_server(other_connection)
    other_connection.health_check_enabled = True
    other_connection.health_check_done = False
    other_connection.close_if_health_check_failed()
    with other_connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != old_pid


# A connection whose peer vanished silently: a NAT or load balancer between IAM and PostgreSQL
# dropped it after an idle timeout and told nobody. The client's socket stays open with
# nothing to read (no FIN, no RST), so the socket check calls it healthy; the first query
# then meets a reset (a middlebox that answers for a connection it forgot) or silence (one
# that drops the packets).

class VanishingProxy:
    """A TCP proxy on loopback between Django and PostgreSQL.

    ``vanish(how)`` forgets the connections open so far, without a packet to the client: it
    stops forwarding and closes their PostgreSQL side, and then answers the client's next
    bytes with a reset (``how="reset"``) or swallows them (``how="silence"``, for
    ``give_up`` seconds, then a reset so that a test without the fix ends). Connections
    opened afterwards are forwarded normally."""

    def __init__(self, target: tuple[str, int], give_up: float = 10.0):
        self.target = target
        self.give_up = give_up
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.relays: list[dict] = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def vanish(self, how: str) -> None:
        for relay in self.relays:
            relay["vanished"] = (how, time.monotonic())

    def close(self) -> None:
        self.closed = True
        self.listener.close()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            relay = {"client": client, "upstream": socket.create_connection(self.target), "vanished": None}
            self.relays.append(relay)
            threading.Thread(target=self._relay, args=(relay,), daemon=True).start()

    def _relay(self, relay):
        client, upstream = relay["client"], relay["upstream"]
        try:
            while not self.closed:
                if relay["vanished"] is not None:
                    return self._vanished(relay)
                readable, _, _ = select.select([client, upstream], [], [], 0.05)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (upstream if sock is client else client).sendall(data)
        finally:
            upstream.close()
            client.close()

    def _vanished(self, relay):
        client, (how, since) = relay["client"], relay["vanished"]
        relay["upstream"].close()  # the PostgreSQL side ends; the client is not told
        while not self.closed:
            readable, _, _ = select.select([client], [], [], 0.05)
            gave_up = how == "silence" and time.monotonic() - since > self.give_up
            if (readable and how == "reset") or gave_up:
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return  # the close in _relay sends the RST
            if readable and not client.recv(65536):
                return


@pytest.fixture
def proxy():
    settings = connection.settings_dict
    p = VanishingProxy((settings["HOST"] or "127.0.0.1", int(settings["PORT"] or 5432)))
    yield p
    p.close()


@pytest.fixture
def proxied_connection(proxy):
    settings = copy.deepcopy(connection.settings_dict)
    settings.update(HOST="127.0.0.1", PORT=str(proxy.port))
    wrapper = type(connections["default"])(settings, "default")
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def start_of_request(wrapper):
    """What Django does for a persistent connection when a request starts (request_started)."""
    wrapper.close_if_unusable_or_obsolete()
    with wrapper.cursor() as cursor:  # the first query runs the health check
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def leave_idle(monkeypatch, seconds):
    from iam.pgbackend import base

    now = time.monotonic()
    monkeypatch.setattr(base, "_clock", lambda: now + seconds)


@pytest.mark.parametrize("how", ["reset", "silence"])
def test_idle_connection_whose_peer_vanished_silently_is_replaced_before_the_request_uses_it(
        proxy, proxied_connection, monkeypatch, how):
    old_pid = start_of_request(proxied_connection)
    proxy.vanish(how)
    time.sleep(0.2)  # the proxy has forgotten the connection
    assert proxied_connection.connection.pgconn.status == pq.ConnStatus.OK  # nothing reached the client
    leave_idle(monkeypatch, 60)
    proxied_connection.round_trip_timeout = 1.0
    started = time.monotonic()
    new_pid = start_of_request(proxied_connection)  # no OperationalError (a 500)
    assert new_pid != old_pid
    assert time.monotonic() - started < proxy.give_up / 2


def test_recently_used_connection_is_checked_without_a_round_trip_even_through_a_proxy(
        proxy, proxied_connection, monkeypatch):
    pid = start_of_request(proxied_connection)
    leave_idle(monkeypatch, 5)
    assert start_of_request(proxied_connection) == pid
    assert "pg_backend_pid" in backend_query(pid)  # its last statement: no SELECT 1 before it


def test_connections_send_tcp_keepalives_and_give_up_on_unacknowledged_data(other_connection):
    sock = socket.socket(fileno=os.dup(other_connection.connection.pgconn.socket))
    try:
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        # Well inside the idle timeouts of NATs and load balancers (4 minutes and up), so
        # that an idle connection is kept alive in their tables, or found dead within 90 s.
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) <= 60
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) <= 10
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) <= 3
        assert 0 < sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) <= 30_000
    finally:
        sock.close()


def test_persistent_connections_are_recycled_before_common_idle_timeouts():
    assert 0 < connection.settings_dict["CONN_MAX_AGE"] <= 240
