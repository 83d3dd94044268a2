"""/metrics on the real server with IAM_METRICS_TOKEN: a Prometheus-style scrape with the
bearer token gets the metrics, anything else does not."""

from __future__ import annotations

import secrets

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.server import free_port

pytestmark = pytest.mark.e2e


def test_real_server_serves_metrics_only_with_the_configured_token(deployment):
    token = secrets.token_urlsafe(32)
    url = deployment.start_server(port=free_port(), extra_env={"IAM_METRICS_TOKEN": token})
    assert httpx.get(url + "/metrics").status_code == 401
    assert httpx.get(url + "/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    r = httpx.get(url + "/metrics", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    names = {family.name for family in text_string_to_metric_families(r.text)}
    assert {"iam_http_requests", "iam_signing_keys", "iam_users"} <= names
