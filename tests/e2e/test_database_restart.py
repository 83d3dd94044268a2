"""The running server outlives its database connections (PostgreSQL restart, failover,
an administrator's pg_terminate_backend): no request fails because of a dead connection."""

from __future__ import annotations

import secrets
import time

import httpx
import pytest

from tests.e2e.server import _admin_sql

pytestmark = pytest.mark.e2e


def test_requests_after_the_database_ended_every_connection_succeed(deployment):
    if not deployment.is_postgres:
        pytest.skip("PostgreSQL only: SQLite connections are opened per request")
    svc = deployment.create_client(f"restart-{secrets.token_hex(4)}", "--grant-type", "client_credentials")
    auth = (svc["client_id"], svc["client_secret"])

    def burst(n: int) -> list[int]:
        # Several keep-alive connections in parallel, so that many worker threads hold a
        # persistent database connection.
        clients = [httpx.Client(base_url=deployment.url, auth=auth, timeout=10) for _ in range(8)]
        try:
            return [c.post("/token/", data={"grant_type": "client_credentials"}).status_code
                    for _ in range(n) for c in clients]
        finally:
            for c in clients:
                c.close()

    assert set(burst(4)) == {200}
    _admin_sql(deployment.database_url,
               "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
               f"WHERE datname = '{deployment.db_name}' AND pid <> pg_backend_pid()")
    time.sleep(0.2)
    assert set(burst(4)) == {200}
