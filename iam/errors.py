"""Typed protocol errors. Views raise these; ``as_response`` renders the standard wire form."""

from __future__ import annotations

from django.http import JsonResponse


class OAuthError(Exception):
    """RFC 6749 §5.2 error JSON."""

    error = "invalid_request"
    status = 400

    def __init__(self, description: str = "", *, error: str | None = None, status: int | None = None):
        super().__init__(description)
        self.description = description
        if error:
            self.error = error
        if status:
            self.status = status

    def headers(self) -> dict:
        return {}

    def as_response(self) -> JsonResponse:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        response = JsonResponse(body, status=self.status)
        for name, value in self.headers().items():
            response[name] = value
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        return response


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    """Client authentication failed: 401 with a Basic challenge (RFC 6749 §5.2)."""

    error = "invalid_client"
    status = 401

    def headers(self) -> dict:
        return {"WWW-Authenticate": 'Basic realm="iam", charset="UTF-8"'}


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"


class BearerError(OAuthError):
    """RFC 6750 §3 errors from bearer-protected endpoints, with the WWW-Authenticate challenge."""

    error = "invalid_token"
    status = 401

    def headers(self) -> dict:
        challenge = 'Bearer realm="iam"'
        if self.error != "missing_token":
            challenge += f', error="{self.error}"'
            if self.description:
                challenge += f', error_description="{self.description}"'
        return {"WWW-Authenticate": challenge}

    def as_response(self) -> JsonResponse:
        if self.error == "missing_token":
            # RFC 6750 §3.1: no error code when the request carried no credentials.
            response = JsonResponse({}, status=401)
            response["WWW-Authenticate"] = self.headers()["WWW-Authenticate"]
            return response
        return super().as_response()
