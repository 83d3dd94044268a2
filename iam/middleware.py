"""Response headers the framework does not set, and the short way through for machine endpoints."""

from __future__ import annotations

from django.core.handlers.exception import convert_exception_to_response
from django.middleware.security import SecurityMiddleware
from django.urls import resolve

# Pages load nothing but our own stylesheet and script: no inline code, no other origin, no
# framing, no plugins. `form-action` is left out on purpose: browsers apply it to the
# redirect that follows a form post, and the consent and form_post pages must reach the
# client's redirect URI.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; frame-ancestors 'none'"
)
# Django's admin sets inline style attributes on a few widgets.
ADMIN_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" not in response and response.get("Content-Type", "").startswith("text/html"):
            admin = request.path.startswith("/admin/")
            response["Content-Security-Policy"] = ADMIN_CONTENT_SECURITY_POLICY if admin else CONTENT_SECURITY_POLICY
        return response


# Endpoints that only machines call, with client or bearer authentication and JSON answers:
# no session, no user, no CSRF (they are exempt), no messages, no framing, no static files.
PROTOCOL_PATHS = frozenset({
    "/token/", "/introspect/", "/revoke/", "/userinfo/", "/device_authorization/", "/jwks/",
    "/.well-known/openid-configuration", "/.well-known/oauth-authorization-server",
})


class ProtocolEndpointsMiddleware:
    """Serves PROTOCOL_PATHS through SecurityMiddleware alone, skipping the rest of the stack.

    The session, authentication, message, CSRF, clickjacking, CSP and static-file middleware do
    nothing for these requests but cost about a sixth of a token or introspection request
    (docs/performance.md). Placed right after MetricsMiddleware, which still counts them. The
    host is still checked against ALLOWED_HOSTS, as CommonMiddleware would."""

    def __init__(self, get_response):
        self.get_response = get_response
        self._handlers: dict[str, tuple] = {}

    def _handler(self, path: str):
        handler = self._handlers.get(path)
        if handler is None:
            match = resolve(path)

            def view(request, match=match):
                return match.func(request, *match.args, **match.kwargs)

            handler = (match, SecurityMiddleware(convert_exception_to_response(view)))
            self._handlers[path] = handler
        return handler

    def __call__(self, request):
        if request.path_info not in PROTOCOL_PATHS:
            return self.get_response(request)
        request.get_host()  # DisallowedHost -> 400, as on every other path
        match, handler = self._handler(request.path_info)
        request.resolver_match = match
        return handler(request)
