"""Token, introspection (RFC 7662), revocation (RFC 7009) and userinfo endpoints."""

from __future__ import annotations

import json

from django.http import HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.debug import sensitive_post_parameters
from oauth2_provider.models import get_refresh_token_model
from oauth2_provider.views import RevokeTokenView as DotRevokeTokenView
from oauth2_provider.views import TokenView as DotTokenView

from iam import claims as claims_module
from iam import refresh_tokens
from iam.access_tokens import active_access_token, revocation_keys, signed_access_token_claims
from iam.client_auth import (
    authenticate_confidential_client,
    client_credentials,
    load_client_and_revocations,
    verified_client,
)
from iam.conf import config
from iam.errors import BearerError, InvalidClient, InvalidRequest, OAuthError, UnauthorizedClient, restate_library_error
from iam.metrics import record_token_response
from iam.models import GRANT_CLIENT_CREDENTIALS, TokenFamily
from iam.scopes import default_scopes
from iam.tokens import AudienceRefused, audience_values, mint_access_token, resolve_audience
from iam.views.protocol import OAuthEndpointMixin

RefreshToken = get_refresh_token_model()


def _from_library(response):
    """oauthlib's error responses in our voice, with a description; and its invalid_client
    answered with the Basic challenge (it sends Bearer; RFC 6749 §5.2 wants the scheme the
    client used, which for client credentials is Basic)."""
    if response.status_code < 400:
        return response
    restated = restate_library_error(response.status_code, {}, response.content) or response
    if restated.status_code == 401:
        restated["WWW-Authenticate"] = InvalidClient().headers()["WWW-Authenticate"]
    return restated


def issue_client_credentials_token(request) -> HttpResponse:
    """client_credentials without oauthlib's machinery: the busiest grant, and the simplest.

    Same rules and errors as the general path (RFC 6749 §4.4, §5.2): an authenticated
    confidential client registered for the grant, scopes within its registration (default:
    its non-user scopes), audiences it was registered for. Nothing is written.
    """
    post = request.POST
    for name in ("grant_type", "scope"):
        if len(post.getlist(name)) > 1:
            raise InvalidRequest(f"duplicate {name} parameter")
    client = authenticate_confidential_client(request)
    if GRANT_CLIENT_CREDENTIALS not in client.grant_types:
        raise UnauthorizedClient("this client may not use the client_credentials grant")
    scopes = list(dict.fromkeys((post.get("scope") or "").split())) or default_scopes(client, "client_credentials")
    if not set(scopes) <= set(client.allowed_scopes):
        raise OAuthError("the requested scope is not allowed for this client", error="invalid_scope")
    try:
        audience = resolve_audience(client, audience_values(list(request.GET.items()) + [
            (k, v) for k, values in post.lists() for v in values]))
    except AudienceRefused as exc:
        raise OAuthError(str(exc), error="invalid_target") from None
    lifetime = client.effective_access_token_lifetime()
    token, _claims = mint_access_token(client=client, user=None, scopes=scopes, audience=audience, lifetime=lifetime)
    response = JsonResponse({"access_token": token, "expires_in": lifetime, "token_type": "Bearer",
                             "scope": " ".join(scopes)})
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


class TokenView(OAuthEndpointMixin, DotTokenView):
    @method_decorator(sensitive_post_parameters("password", "client_secret"))
    def authorization_flow_token_response(self, request, *args, **kwargs):
        # Not DOT's: it reads the new access token back from the database to send its
        # app_authorized signal, and access tokens are not stored here.
        url, headers, body, status = self.create_token_response(request)
        response = HttpResponse(content=body, status=status)
        for name, value in headers.items():
            response[name] = value
        return response

    def post(self, request, *args, **kwargs):
        response = self._token_response(request)
        error = None
        if response.status_code != 200:
            try:
                error = json.loads(response.content).get("error")
            except (ValueError, AttributeError):
                pass
        record_token_response(request.POST.get("grant_type") or "", response.status_code, error)
        return response

    def _token_response(self, request):
        # Every grant, the device code one included, goes through oauthlib and our validator
        # (DOT's own device branch neither binds the code to the client nor uses it up).
        if not request.POST.get("grant_type"):
            # oauthlib falls back to its default grant and calls this unsupported_grant_type;
            # a missing required parameter is invalid_request (RFC 6749 §5.2).
            return InvalidRequest("the grant_type parameter is required").as_response()
        if request.POST.get("grant_type") == GRANT_CLIENT_CREDENTIALS:
            try:
                return issue_client_credentials_token(request)
            except OAuthError as error:
                return error.as_response()
        return _from_library(self.authorization_flow_token_response(request))


class RevokeView(OAuthEndpointMixin, DotRevokeTokenView):
    http_method_names = ["post", "options"]

    def post(self, request, *args, **kwargs):
        return _from_library(super().post(request, *args, **kwargs))


INACTIVE = {"active": False}


class IntrospectView(OAuthEndpointMixin, View):
    """Client-authenticated. A client sees its own tokens; a resource server sees all."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        raw = request.POST.get("token") or ""
        hint = request.POST.get("token_type_hint")
        # Verifying the signature first (CPU only) lets one statement bring both the client's
        # row and the token's revocation rows.
        claims = signed_access_token_claims(raw) if hint != "refresh_token" else None
        try:
            client_id, secret = client_credentials(request)
            row, revocations = load_client_and_revocations(client_id, revocation_keys(claims) if claims else ())
            client = verified_client(row, secret)
            if not raw:
                raise OAuthError("the token parameter is required")
        except OAuthError as error:
            return error.as_response()
        if claims is not None:
            return self._json(self._access(raw, client, claims, revocations))
        lookups = [self._access, self._refresh]
        if hint == "refresh_token":
            lookups.reverse()
        for lookup in lookups:
            result = lookup(raw, client)
            if result is not None:
                return self._json(result)
        return self._json(INACTIVE)

    @staticmethod
    def _json(body):
        response = JsonResponse(body)
        response["Cache-Control"] = "no-store"
        return response

    def _access(self, raw, client, claims=None, revocations=None):
        token = active_access_token(raw, claims=claims, revocations=revocations)
        if token is None:
            return INACTIVE if claims is not None else None
        if token.client_id != client.client_id and not client.may_introspect_any_token:
            return INACTIVE
        return claims_module.introspection_claims(
            token_claims=token.claims, user=token.user, scopes=token.scopes, token_type="Bearer"
        )

    def _refresh(self, raw, client):
        if len(raw) > 4096:
            return None
        rt = (
            RefreshToken.objects.select_related("user", "application")
            .filter(token_checksum=refresh_tokens.checksum(raw), revoked__isnull=True)
            .first()
        )
        if rt is None or not refresh_tokens.is_live(rt):
            return None
        if rt.application_id != client.pk and not client.may_introspect_any_token:
            return INACTIVE
        family = TokenFamily.objects.filter(id=rt.token_family).first()
        scope = family.scope if family is not None else ""
        token_claims = {
            "iss": config.issuer,
            "sub": str(rt.user.pk),
            "client_id": rt.application.client_id,
            "scope": scope,
            "iat": int(rt.created.timestamp()),
            "exp": int(refresh_tokens.expires_at(rt).timestamp()),
        }
        return claims_module.introspection_claims(
            token_claims=token_claims, user=rt.user, scopes=scope.split(), token_type="refresh_token"
        )


class UserInfoView(OAuthEndpointMixin, View):
    """OIDC userinfo, GET or POST, bearer token in the header (or the POST body, RFC 6750 §2.2)."""

    http_method_names = ["get", "post", "options"]

    def get(self, request, *args, **kwargs):
        return self._respond(request)

    def post(self, request, *args, **kwargs):
        return self._respond(request)

    def _respond(self, request):
        try:
            raw = self._bearer(request)
            token = active_access_token(raw)
            if token is None:
                raise BearerError("the access token is invalid, expired or revoked")
            if token.user is None:
                raise BearerError("the access token was issued to a client for itself and has no user")
            if config.issuer not in token.audience and token.client_id not in token.audience:
                # A token for a resource server (aud=storage) is not for reading the profile.
                raise BearerError("the access token is not meant for this server (audience)")
            if "openid" not in token.scopes:
                raise BearerError("the access token lacks the openid scope", error="insufficient_scope", status=403)
        except OAuthError as error:
            return error.as_response()
        response = JsonResponse(claims_module.user_claims(token.user, token.scopes))
        response["Cache-Control"] = "no-store"
        return response

    @staticmethod
    def _bearer(request) -> str:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        from_header = header[7:].strip() if header[:7].lower() == "bearer " else ""
        from_body = request.POST.get("access_token", "") if request.method == "POST" else ""
        if from_header and from_body:
            raise OAuthError("send the token once", error="invalid_request", status=400)
        if "access_token" in request.GET:
            raise OAuthError("tokens in the query string are not accepted", error="invalid_request", status=400)
        token = from_header or from_body
        if not token:
            raise BearerError(error="missing_token")
        return token


