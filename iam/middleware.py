"""Response headers the framework does not set."""

from __future__ import annotations

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
