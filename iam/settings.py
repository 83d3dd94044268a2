"""Django settings. Every value that varies comes from ``iam.conf.config``."""

from urllib.parse import unquote, urlsplit

import dj_database_url

from iam.conf import BASE_DIR, config

SECRET_KEY = config.secret_key
DEBUG = config.debug
ALLOWED_HOSTS = list(config.allowed_hosts)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "oauth2_provider",
    "accounts",
    "iam",
]

MIDDLEWARE = [
    "iam.metrics.MetricsMiddleware",
    "iam.middleware.ProtocolEndpointsMiddleware",  # machine endpoints stop here (see the class)
    "django.middleware.security.SecurityMiddleware",
    "iam.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "iam.urls"
WSGI_APPLICATION = "iam.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "iam.context_processors.organisation",
            ],
        },
    },
]

# Persistent connections, recycled after 4 minutes: under the idle timeouts of most NATs and
# load balancers that might sit between IAM and the database.
DATABASES = {"default": dj_database_url.parse(config.database_url, conn_max_age=240)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several workers share one SQLite file: wait for the write lock
    # instead of failing, and let readers proceed during writes.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # The same backend, but its per-request health check asks the socket instead of
        # sending SELECT 1, except after a long idle (iam/pgbackend/base.py).
        DATABASES["default"]["ENGINE"] = "iam.pgbackend"
        # TCP keepalives every minute while idle keep the connection in the tables of NATs,
        # firewalls and load balancers, and find a vanished peer within 90 s; data unacknowledged
        # for 30 s (a query into a black hole) ends the connection instead of hanging for ~15
        # minutes. libpq options; a DATABASE_URL query string (?keepalives_idle=...) wins.
        for _option, _value in {"keepalives": 1, "keepalives_idle": 60, "keepalives_interval": 10,
                                "keepalives_count": 3, "tcp_user_timeout": 30_000}.items():
            DATABASES["default"].setdefault("OPTIONS", {}).setdefault(_option, _value)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if config.redis_url:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": config.redis_url,
        }
    }
else:
    # Shared by every worker and host: rate-limit counters must not live in one process.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "iam_cache",
        }
    }

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.PasswordBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = config.var_dir / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on a missing root
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Cookies and transport. The issuer's scheme decides: behind an https issuer every
# cookie is Secure; on the loopback development issuer browsers would drop them.
SESSION_COOKIE_SECURE = config.issuer_is_https
CSRF_COOKIE_SECURE = config.issuer_is_https
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_NAME = "iam_session"
CSRF_COOKIE_NAME = "iam_csrftoken"
SESSION_COOKIE_AGE = 12 * 3600
SESSION_ENGINE = "django.contrib.sessions.backends.db"
CSRF_TRUSTED_ORIGINS = [f"{urlsplit(config.issuer).scheme}://{urlsplit(config.issuer).netloc}"]
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if config.issuer_is_https:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 31536000

if config.email_url:
    _email = urlsplit(config.email_url)
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _email.hostname or "localhost"
    EMAIL_PORT = _email.port or 25
    EMAIL_HOST_USER = unquote(_email.username or "")
    EMAIL_HOST_PASSWORD = unquote(_email.password or "")
    EMAIL_USE_TLS = _email.scheme == "smtp+tls"
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

OAUTH2_PROVIDER_APPLICATION_MODEL = "iam.Application"
OAUTH2_PROVIDER_GRANT_MODEL = "iam.Grant"

OAUTH2_PROVIDER = {
    "OAUTH2_VALIDATOR_CLASS": "iam.validator.Validator",
    "OIDC_SERVER_CLASS": "iam.server.Server",
    "OAUTH2_SERVER_CLASS": "iam.server.Server",
    "OIDC_ENABLED": True,
    "OIDC_ISS_ENDPOINT": config.issuer,
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": False,
    "SCOPES_BACKEND_CLASS": "iam.scopes.ClientScopes",
    "ACCESS_TOKEN_GENERATOR": "iam.tokens.generate_access_token",
    "REFRESH_TOKEN_GENERATOR": "iam.tokens.generate_opaque_token",
    "ACCESS_TOKEN_EXPIRE_SECONDS": config.access_token_lifetime,
    "ID_TOKEN_EXPIRE_SECONDS": config.id_token_lifetime,
    "REFRESH_TOKEN_EXPIRE_SECONDS": None,  # per client, checked in iam.validator
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": config.authorization_code_lifetime,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],
    "DEVICE_FLOW_INTERVAL": 5,
    "OAUTH_PRE_TOKEN_VALIDATION": [],  # the validator resolves device codes itself
    "OAUTH_DEVICE_VERIFICATION_URI": f"{config.issuer}/device/",
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "iam": {"level": "INFO"},
        "accounts": {"level": "INFO"},
        # oauthlib logs request bodies (secrets, passwords, codes) at DEBUG.
        "oauthlib": {"level": "WARNING"},
    },
}

IAM = config
