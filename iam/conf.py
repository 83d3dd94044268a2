"""The one reader of ``os.environ``: a frozen, typed configuration object.

Everything configurable about IAM comes from the environment (see
``../shared/INTERFACES.md``). A first run needs nothing: SQLite under ``var/``
and a secret generated once into ``var/secret_key``.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent


def _var_dir() -> Path:
    path = Path(os.environ.get("IAM_VAR_DIR", BASE_DIR / "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _generated_secret_key(var_dir: Path) -> str:
    """Generate the secret once and keep it, so sessions and encrypted keys survive restarts."""
    path = var_dir / "secret_key"
    if not path.exists():
        # O_EXCL: two processes starting at once must agree on one secret.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(value: str | None, default: int) -> int:
    return default if value in (None, "") else int(value)


def _scope_names(value: str | None) -> tuple[str, ...]:
    """Space-separated scope names. RFC 6749 §3.3: printable ASCII, no space, quote or backslash."""
    names = tuple(dict.fromkeys((value or "").split()))
    for name in names:
        if not all(0x21 <= ord(c) <= 0x7E and c not in '"\\' for c in name):
            raise ValueError(f"IAM_SCOPES: {name!r} is not a scope name (printable ASCII, no quotes or backslash)")
    return names


Network = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


def _networks(value: str | None) -> tuple[Network, ...]:
    """CIDRs (or single addresses) separated by commas or spaces."""
    return tuple(ipaddress.ip_network(c, strict=False) for c in (value or "").replace(",", " ").split())


@dataclass(frozen=True)
class Config:
    issuer: str
    database_url: str
    secret_key: str
    secret_key_generated: bool
    redis_url: str | None
    email_url: str | None
    organisation_name: str
    trusted_proxy_cidrs: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    debug: bool
    allowed_hosts: tuple[str, ...]
    var_dir: Path
    # Set by iam.serve or gunicorn.conf.py (one fresh directory per server): the workers' Prometheus
    # metrics are kept there and summed at scrape time. Unset: this process's own metrics.
    metrics_dir: str | None = None
    # Who may scrape /metrics (iam/metrics.py). Each one that is set must pass: a bearer token
    # (IAM_METRICS_TOKEN) and an address list (IAM_METRICS_ALLOW). With neither set, loopback
    # only; with only the token, any address (None: no address rule).
    metrics_token: str | None = None
    metrics_allow: tuple[Network, ...] | None = LOOPBACK
    access_token_lifetime: int = 3600
    refresh_token_lifetime: int = 30 * 24 * 3600
    id_token_lifetime: int = 3600
    authorization_code_lifetime: int = 60
    device_code_lifetime: int = 600
    login_max_failures_per_account: int = 5
    login_max_failures_per_address: int = 20
    login_failure_window: int = 15 * 60
    # Mount the Django admin at /admin/. Default: only for a loopback issuer (a first run);
    # a public server exposes it only when asked (IAM_ADMIN_ENABLED=1), see the README.
    admin_enabled: bool = False
    # Scopes the operator defines on top of the standard OpenID ones (iam.claims.STANDARD_SCOPES);
    # a client may be registered only with scopes from either list.
    scopes: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)

    @property
    def issuer_host(self) -> str:
        return urlsplit(self.issuer).hostname or ""

    @property
    def issuer_is_https(self) -> bool:
        return urlsplit(self.issuer).scheme == "https"

    @property
    def issuer_is_loopback(self) -> bool:
        return _is_loopback(self.issuer_host)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load(environ: os._Environ | dict | None = None) -> Config:
    env = os.environ if environ is None else environ
    var_dir = _var_dir()
    issuer = env.get("IAM_ISSUER", "http://127.0.0.1:8000").rstrip("/")
    secret_key = env.get("SECRET_KEY", "")
    generated = not secret_key
    if generated:
        secret_key = _generated_secret_key(var_dir)
    host = urlsplit(issuer).hostname or "127.0.0.1"
    allowed = env.get("IAM_ALLOWED_HOSTS", "")
    allowed_hosts = tuple(h.strip() for h in allowed.split(",") if h.strip()) or (
        host,
        "127.0.0.1",
        "localhost",
    )
    cidrs = tuple(
        ipaddress.ip_network(c.strip(), strict=False)
        for c in env.get("IAM_TRUSTED_PROXY_CIDRS", "").split(",")
        if c.strip()
    )
    metrics_token = env.get("IAM_METRICS_TOKEN") or None
    metrics_allow = _networks(env.get("IAM_METRICS_ALLOW")) or (None if metrics_token else LOOPBACK)
    return Config(
        issuer=issuer,
        database_url=env.get("DATABASE_URL") or f"sqlite:///{var_dir / 'iam.sqlite3'}",
        secret_key=secret_key,
        secret_key_generated=generated,
        redis_url=env.get("REDIS_URL") or None,
        email_url=env.get("EMAIL_URL") or None,
        organisation_name=env.get("IAM_ORGANISATION_NAME", "IAM"),
        trusted_proxy_cidrs=cidrs,
        debug=_bool(env.get("IAM_DEBUG"), False),
        allowed_hosts=allowed_hosts,
        var_dir=var_dir,
        metrics_dir=env.get("PROMETHEUS_MULTIPROC_DIR") or None,
        metrics_token=metrics_token,
        metrics_allow=metrics_allow,
        access_token_lifetime=_int(env.get("IAM_ACCESS_TOKEN_LIFETIME"), 3600),
        refresh_token_lifetime=_int(env.get("IAM_REFRESH_TOKEN_LIFETIME"), 30 * 24 * 3600),
        id_token_lifetime=_int(env.get("IAM_ID_TOKEN_LIFETIME"), 3600),
        admin_enabled=_bool(env.get("IAM_ADMIN_ENABLED"), _is_loopback(urlsplit(issuer).hostname or "")),
        scopes=_scope_names(env.get("IAM_SCOPES")),
    )


config = load()
