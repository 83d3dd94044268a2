"""RFC 8628: the device authorization endpoint and the page where people enter user codes.

DOT's endpoint view predates oauthlib 4, whose response also echoes the resolved ``scope``;
this one stores exactly what oauthlib validated and answers with the RFC 8628 §3.2 fields.
"""

import json
from datetime import timedelta

from django.http import JsonResponse
from django.views import View
from oauth2_provider.models import DeviceCodeResponse, DeviceRequest, create_device_grant
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views import device as dot_device
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.oauth2.rfc8628.endpoints import DeviceAuthorizationEndpoint

from accounts import throttle
from iam.client_auth import authenticate_confidential_client, load_client
from iam.conf import config
from iam.errors import InvalidClient, OAuthError, UnauthorizedClient, restate_library_error
from iam.models import GRANT_DEVICE_CODE, Application
from iam.views.protocol import OAuthEndpointMixin

_RESPONSE_FIELDS = ("verification_uri", "expires_in", "user_code", "device_code", "interval",
                    "verification_uri_complete")


class DeviceAuthorizationView(OAuthEndpointMixin, OAuthLibMixin, View):
    http_method_names = ["post"]

    @classmethod
    def get_server(cls):
        # Not DOT's DeviceApplicationServer: it cannot be given a lifetime (always 1800 s).
        verification_uri = oauth2_settings.OAUTH_DEVICE_VERIFICATION_URI  # iam/settings.py
        return DeviceAuthorizationEndpoint(
            cls.get_validator_class()(),
            verification_uri=verification_uri,
            expires_in=config.device_code_lifetime,
            interval=oauth2_settings.DEVICE_FLOW_INTERVAL,
            verification_uri_complete=verification_uri + "?user_code={user_code}",
            user_code_generator=oauth2_settings.OAUTH_DEVICE_USER_CODE_GENERATOR,
        )

    def post(self, request, *args, **kwargs):
        try:
            client = self._client(request)
        except OAuthError as error:
            return error.as_response()
        if request.POST.get("client_id") != client.client_id:
            # oauthlib reads client_id from the body; with client_secret_basic it is in the header.
            request.POST = request.POST.copy()
            request.POST["client_id"] = client.client_id
        headers, body, status = self.create_device_authorization_response(request)
        payload = json.loads(body) if isinstance(body, str) else body
        if status != 200:
            return restate_library_error(status, headers, payload) or JsonResponse(payload, status=status)
        response = {k: v for k, v in payload.items() if k in _RESPONSE_FIELDS and v is not None}
        grant = create_device_grant(
            DeviceRequest(client_id=client.client_id, scope=payload.get("scope") or ""),
            DeviceCodeResponse(**response),
        )
        # No poll has happened yet: the first one may come at once without slow_down
        # (keystoneauth polls immediately and treats slow_down as fatal).
        type(grant).objects.filter(pk=grant.pk).update(last_checked=grant.expires - timedelta(days=1))
        return JsonResponse(response, status=200, headers={**headers, "Cache-Control": "no-store"})

    @staticmethod
    def _client(request) -> Application:
        """RFC 8628 §3.1: client authentication as at the token endpoint; public clients send
        only their client_id."""
        if request.META.get("HTTP_AUTHORIZATION", "")[:6].lower() == "basic " or "client_secret" in request.POST:
            client = authenticate_confidential_client(request)
        else:
            client = load_client(request.POST.get("client_id", "")) if request.POST.get("client_id") else None
            if client is None or not client.is_active:
                raise InvalidClient("unknown or disabled client")
            if not client.is_public:
                raise InvalidClient("client authentication is required")
        if GRANT_DEVICE_CODE not in client.grant_types:
            raise UnauthorizedClient("this client may not use the device flow")
        return client


# RFC 8628 §5.1: user codes are short enough to type, so their entry is rate-limited. Codes
# have 40 bits and live 10 minutes; these limits leave a guesser no measurable chance.
USER_CODE_WINDOW = 15 * 60
USER_CODE_MAX_FAILURES_PER_USER = 10
USER_CODE_MAX_FAILURES_PER_ADDRESS = 30


def normalise_user_code(value: str) -> str:
    """What people type for what the device shows: any case, with spaces or dashes."""
    return "".join(ch for ch in value if ch.isalnum()).upper()


class DeviceUserCodeView(dot_device.DeviceUserCodeView):
    """Enter a user code. Each try is reserved against the limits before the code is looked up,
    so parallel guesses get no more tries than sequential ones; a right code gives its try back."""

    def _limits(self):
        address = throttle.client_address(self.request.META)
        return [
            (throttle.hashed_key("usercodefail", "user", str(self.request.user.pk)), USER_CODE_MAX_FAILURES_PER_USER),
            (throttle.hashed_key("usercodefail", "addr", address), USER_CODE_MAX_FAILURES_PER_ADDRESS),
        ]

    def get_initial(self):
        # verification_uri_complete (RFC 8628 §3.3.1) brings the code along: the user confirms.
        return {**super().get_initial(), "user_code": normalise_user_code(self.request.GET.get("user_code", ""))}

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        if "data" in kwargs:
            data = kwargs["data"].copy()
            data["user_code"] = normalise_user_code(data.get("user_code", ""))
            kwargs["data"] = data
        return kwargs

    def post(self, request, *args, **kwargs):
        self.attempt = throttle.reserve(self._limits(), window=USER_CODE_WINDOW)
        if not self.attempt.allowed:
            # Refused before the code is even looked up: once locked, a right guess is
            # refused too, so it teaches nothing.
            context = self.get_context_data(form=self.get_form_class()(), locked=True)
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        self.attempt.release()  # a right code is no failure
        return super().form_valid(form)
