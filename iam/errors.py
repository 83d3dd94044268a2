"""Typed protocol errors. Views raise these; ``as_response`` renders the standard wire form."""

from __future__ import annotations

import json

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


# What an error means when the library that raised it said nothing (RFC 6749 §5.2 makes the
# description optional; people reading responses need it).
DEFAULT_DESCRIPTIONS = {
    "invalid_request": "the request is missing a parameter, repeats one or is otherwise malformed",
    "invalid_client": "client authentication failed",
    "invalid_grant": "the authorization code, refresh token, device code or credentials are invalid, expired, "
    "revoked, or were issued to another client",
    "unauthorized_client": "this client is not registered for this grant type",
    "unsupported_grant_type": "this grant type is not supported (see grant_types_supported in the discovery "
    "document)",
    "invalid_scope": "the requested scope is invalid, unknown, or more than this client or grant may have",
    "unsupported_token_type": "this server does not revoke tokens of that type",
    "access_denied": "the request was refused",
    "unsupported_response_type": "only response_type=code is supported",
    "server_error": "the server could not complete the request",
}


def in_our_voice(description: str | None, error: str) -> str:
    """One style for every description, the library's included: lower-case start, no final
    full stop; a default when there is none."""
    text = (description or "").strip() or DEFAULT_DESCRIPTIONS.get(error, "")
    text = text.rstrip(".")
    if text[:1].isupper() and not text[1:2].isupper():  # "Missing ..." but not "PKCE ..."
        text = text[0].lower() + text[1:]
    return text


def restate_library_error(status: int, headers: dict, body) -> JsonResponse | None:
    """An oauthlib error response, reissued as our typed error (same status, code and
    challenge) with its description in our voice; None when ``body`` is no OAuth error."""
    try:
        payload = json.loads(body) if isinstance(body, str | bytes) else dict(body or {})
    except (ValueError, TypeError):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("error"), str):
        return None
    error = OAuthError(in_our_voice(payload.get("error_description"), payload["error"]),
                       error=payload["error"], status=status)
    response = error.as_response()
    if "WWW-Authenticate" in headers:
        response["WWW-Authenticate"] = headers["WWW-Authenticate"]
    return response
