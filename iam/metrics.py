"""Prometheus metrics, served at /metrics (INTERFACES.md).

Counters are process-local; each worker writes its own into the directory that ``iam.serve``
(or gunicorn.conf.py) creates per server (``PROMETHEUS_MULTIPROC_DIR``), and a scrape sums
them, so one scrape of one server reports all of its workers. Several hosts are several
scrape targets. Counts only: no user, client or token identifiers, nothing secret.

Gauges that describe the database (signing keys, accounts, clients) are read at scrape time
and kept for a few seconds, per process: a flood of scrapes costs at most three GROUP BY
queries per worker every ``DATABASE_GAUGES_TTL`` seconds.

Only allowed scrapers get an answer (``scrape_refusal``): a bearer token (IAM_METRICS_TOKEN)
and/or an address list (IAM_METRICS_ALLOW, loopback by default) -- not just the proxy config.
"""

from __future__ import annotations

import hmac
import ipaddress
import threading
import time

from django.db.models import Count
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily

from iam.conf import config
from iam.errors import BearerError, OAuthError
from iam.models import SUPPORTED_GRANT_TYPES

HTTP_REQUESTS = Counter(
    "iam_http_requests", "HTTP requests answered, by endpoint (URL name) and status code", ["endpoint", "status"]
)
HTTP_DURATION = Histogram(
    "iam_http_request_duration_seconds", "Time from the request reaching Django to the response, by endpoint",
    ["endpoint"], buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
TOKENS_ISSUED = Counter("iam_tokens_issued", "Successful token endpoint responses, by grant type", ["grant_type"])
TOKEN_ERRORS = Counter("iam_token_errors", "Token endpoint error responses, by OAuth error code", ["error"])
LOGINS = Counter("iam_logins", "Password sign-ins, by result (success, failure)", ["result"])

KNOWN_GRANT_TYPES = frozenset(SUPPORTED_GRANT_TYPES)
KNOWN_TOKEN_ERRORS = frozenset({
    "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type",
    "invalid_scope", "invalid_target", "authorization_pending", "slow_down", "access_denied", "expired_token",
})


def record_token_response(grant_type: str, status: int, error: str | None) -> None:
    # Labels only from fixed sets: a client must not be able to mint new time series.
    if status == 200:
        TOKENS_ISSUED.labels(grant_type if grant_type in KNOWN_GRANT_TYPES else "other").inc()
    elif error is not None:
        TOKEN_ERRORS.labels(error if error in KNOWN_TOKEN_ERRORS else "other").inc()


class MetricsMiddleware:
    """Outermost: counts and times every request by the name of the URL it matched."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        endpoint = (match.url_name or "unnamed") if match is not None else "unmatched"
        HTTP_DURATION.labels(endpoint).observe(time.perf_counter() - started)
        HTTP_REQUESTS.labels(endpoint, str(response.status_code)).inc()
        return response


_FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def _scraper_address(meta: dict) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Who is asking, or None when that cannot be known.

    A request a proxy forwarded comes from the proxy's address (loopback, when nginx runs on
    the same host): believing it would open /metrics to the whole internet. So a forwarded
    request counts only from a trusted proxy (IAM_TRUSTED_PROXY_CIDRS), by the address that
    proxy appended; from any other peer it has no known address."""
    try:
        peer = _unmapped(ipaddress.ip_address(meta.get("REMOTE_ADDR", "")))
    except ValueError:
        return None
    if not any(meta.get(h) for h in _FORWARDING_HEADERS):
        return peer
    forwarded_for = meta.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded_for and any(peer in net for net in config.trusted_proxy_cidrs):
        try:
            return _unmapped(ipaddress.ip_address(forwarded_for.split(",")[-1].strip()))
        except ValueError:
            return None
    return None


def _unmapped(address):
    # A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d.
    return getattr(address, "ipv4_mapped", None) or address


def scrape_refusal(request) -> OAuthError | None:
    """Why this request may not read /metrics (None: it may). Checked before any query."""
    if config.metrics_allow is not None:
        address = _scraper_address(request.META)
        if address is None or not any(address in net for net in config.metrics_allow):
            return OAuthError("this address may not read metrics", error="access_denied", status=403)
    if config.metrics_token:
        scheme, _, presented = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            return BearerError(error="missing_token")
        if not hmac.compare_digest(presented.strip().encode(), config.metrics_token.encode()):
            return BearerError("wrong metrics token")
    return None


DATABASE_GAUGES_TTL = 5.0  # seconds
_clock = time.monotonic  # tests move it


class DatabaseCollector:
    """State worth alerting on, read when scraped (a few COUNT queries) and then kept for
    DATABASE_GAUGES_TTL seconds in this process."""

    def __init__(self):
        self._lock = threading.Lock()  # gthread workers: one query set for concurrent scrapes
        self._families: list | None = None
        self._read_at = 0.0

    def collect(self):
        with self._lock:
            now = _clock()
            if self._families is None or now - self._read_at >= DATABASE_GAUGES_TTL:
                self._families = list(self._read())
                self._read_at = now
            return list(self._families)

    def forget(self) -> None:
        with self._lock:
            self._families = None

    def _read(self):
        from django.contrib.auth import get_user_model

        from iam.models import Application, SigningKey

        keys = GaugeMetricFamily("iam_signing_keys", "Signing keys by algorithm and state", labels=["alg", "state"])
        for row in SigningKey.objects.values("alg", "state").annotate(n=Count("id")):
            keys.add_metric([row["alg"], row["state"]], row["n"])
        yield keys
        users = GaugeMetricFamily("iam_users", "Accounts by state", labels=["state"])
        for active, n in get_user_model().objects.values_list("is_active").annotate(n=Count("id")):
            users.add_metric(["active" if active else "inactive"], n)
        yield users
        clients = GaugeMetricFamily("iam_clients", "Registered clients by state", labels=["state"])
        for active, n in Application.objects.values_list("is_active").annotate(n=Count("id")):
            clients.add_metric(["active" if active else "disabled"], n)
        yield clients
        info = InfoMetricFamily("iam", "The server's issuer")
        info.add_metric([], {"issuer": config.issuer})
        yield info


DATABASE_GAUGES = DatabaseCollector()


def exposition() -> tuple[bytes, str]:
    registry = CollectorRegistry()
    if config.metrics_dir:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry, path=config.metrics_dir)
    else:
        for collector in (HTTP_REQUESTS, HTTP_DURATION, TOKENS_ISSUED, TOKEN_ERRORS, LOGINS):
            registry.register(collector)
    registry.register(DATABASE_GAUGES)
    return generate_latest(registry), CONTENT_TYPE_LATEST


def count_login(sender, **kwargs):
    LOGINS.labels("success").inc()


def count_failed_login(sender, **kwargs):
    LOGINS.labels("failure").inc()
