"""Bench only: iam.settings with a shorter MIDDLEWARE list, to measure what the hot API
endpoints pay for middleware they do not use. Selected by ``bench/run.py --middleware api|none``
(DJANGO_SETTINGS_MODULE=bench.settings_middleware, BENCH_MIDDLEWARE=api|none). Not for serving:
the browser pages (login, consent, admin) need sessions, CSRF, authentication and messages.
"""

import os

from iam.settings import *  # noqa: F403

# What /token/, /introspect/ and /userinfo do use: the request metrics (outermost, as in
# iam.settings) and SecurityMiddleware's headers (nosniff, Referrer-Policy, HSTS and the
# HTTPS redirect when configured). Left out: the CSP header (only set on text/html), WhiteNoise
# (static files), sessions, CommonMiddleware (APPEND_SLASH and friends), CSRF (these views are
# csrf_exempt), authentication (no cookie users), messages and X-Frame-Options (not HTML).
API_MIDDLEWARE = [
    "iam.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
]

MIDDLEWARE = {"api": API_MIDDLEWARE, "none": []}[os.environ.get("BENCH_MIDDLEWARE", "api")]
