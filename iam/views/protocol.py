"""What every machine-facing OAuth endpoint (token, introspection, revocation, device
authorization, userinfo) shares: wrong methods and JSON bodies get OAuth error JSON, not
Django's empty 405 or a misleading error about a missing parameter."""

from __future__ import annotations

from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt

from iam.errors import OAuthError

FORM = "application/x-www-form-urlencoded"
# Django parses both into request.POST; RFC 6749 asks for the first, and no harm comes of the second.
PARSED_BODIES = (FORM, "multipart/form-data")


@method_decorator(csrf_exempt, name="dispatch")
class OAuthEndpointMixin:
    """Mix in before ``View`` (or a DOT view)."""

    def dispatch(self, request, *args, **kwargs):
        if request.method == "POST" and request.content_type not in PARSED_BODIES and request.body:
            return OAuthError(
                f"send the parameters form-encoded ({FORM}), not as {request.content_type or 'an unknown type'}"
            ).as_response()
        return super().dispatch(request, *args, **kwargs)

    def http_method_not_allowed(self, request, *args, **kwargs):
        allowed = [m.upper() for m in self.http_method_names if m != "options" and hasattr(self, m)]
        response = OAuthError(f"use {' or '.join(allowed)}", status=405).as_response()
        response["Allow"] = ", ".join(allowed)
        return response
