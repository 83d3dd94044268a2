"""/metrics on the real server: one scrape reports every gunicorn worker's counters."""

from __future__ import annotations

import secrets

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.e2e


def issued(url: str) -> float:
    # A new connection per scrape: the kernel may hand it to either worker.
    with httpx.Client() as fresh:
        r = fresh.get(url + "/metrics")
    assert r.status_code == 200
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            if sample.name == "iam_tokens_issued_total" and sample.labels == {"grant_type": "client_credentials"}:
                return sample.value
    return 0.0


def test_one_scrape_sums_the_counters_of_all_workers(deployment):
    svc = deployment.create_client(f"metrics-{secrets.token_hex(4)}", "--grant-type", "client_credentials")
    before = issued(deployment.url)
    for _ in range(20):  # 20 connections: both workers (SO_REUSEPORT) serve some of them
        with httpx.Client() as fresh:
            r = fresh.post(deployment.url + "/token/", data={"grant_type": "client_credentials"},
                           auth=(svc["client_id"], svc["client_secret"]))
            assert r.status_code == 200
    for _ in range(4):
        assert issued(deployment.url) - before == 20
