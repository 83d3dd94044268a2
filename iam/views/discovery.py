"""Discovery (OIDC Discovery 1.0 / RFC 8414) and JWKS."""

from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from iam.conf import config
from iam.keys import key_store
from iam.models import SUPPORTED_GRANT_TYPES
from iam.services.clients import known_scopes


def provider_metadata() -> dict:
    issuer = config.issuer
    # Every algorithm with an active key: the ones clients' tokens are signed with.
    algs = key_store.active_algorithms()
    auth_methods = ["client_secret_basic", "client_secret_post", "none"]
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize/",
        "token_endpoint": f"{issuer}/token/",
        "userinfo_endpoint": f"{issuer}/userinfo/",
        "jwks_uri": f"{issuer}/jwks/",
        "introspection_endpoint": f"{issuer}/introspect/",
        "revocation_endpoint": f"{issuer}/revoke/",
        "device_authorization_endpoint": f"{issuer}/device_authorization/",
        "end_session_endpoint": f"{issuer}/end_session/",
        "scopes_supported": known_scopes(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": list(SUPPORTED_GRANT_TYPES),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
        "userinfo_signing_alg_values_supported": ["none"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "amr", "azp",
            "name", "given_name", "family_name", "preferred_username", "updated_at",
            "email", "email_verified", "groups", "organisation_name",
        ],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "prompt_values_supported": ["none", "login", "consent"],
        "authorization_response_iss_parameter_supported": True,
        "frontchannel_logout_supported": False,
        "backchannel_logout_supported": False,
        "service_documentation": f"{issuer}/",
        "organisation_name": config.organisation_name,
    }


def _cached_json(body, max_age: int):
    response = JsonResponse(body)
    response["Cache-Control"] = f"public, max-age={max_age}"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
def discovery(request):
    return _cached_json(provider_metadata(), 3600)


@require_GET
def jwks(request):
    # Short enough that a key promoted by rotatekeys (already published as "next") is never
    # missing from a verifier's cache; long enough to spare us the traffic.
    return _cached_json(key_store.jwks(), 300)


def healthz(request):
    return JsonResponse({"status": "ok"})


@require_GET
def metrics(request):
    """Prometheus text format, for allowed scrapers only (IAM_METRICS_ALLOW / IAM_METRICS_TOKEN)."""
    from iam.metrics import exposition, scrape_refusal

    refusal = scrape_refusal(request)
    if refusal is not None:
        return refusal.as_response()
    body, content_type = exposition()
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response


def readyz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - any database failure means not ready
        return JsonResponse({"status": "database unreachable"}, status=503)
    return JsonResponse({"status": "ok"})
