"""Reused PostgreSQL connections are checked once per request without a round trip
(iam/pgbackend) and replaced when the server has ended them."""

import time

import pytest
from django.db import connection, connections

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
