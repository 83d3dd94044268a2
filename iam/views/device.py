"""RFC 8628 device authorization endpoint.

DOT's view predates oauthlib 4, whose response also echoes the resolved ``scope``; this one
stores exactly what oauthlib validated and answers with the RFC 8628 §3.2 fields.
"""

import json
from datetime import timedelta

from django.http import JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.models import DeviceCodeResponse, DeviceRequest, create_device_grant
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.oauth2 import DeviceApplicationServer

from iam.errors import UnauthorizedClient
from iam.models import GRANT_DEVICE_CODE, Application

_RESPONSE_FIELDS = ("verification_uri", "expires_in", "user_code", "device_code", "interval",
                    "verification_uri_complete")


@method_decorator(csrf_exempt, name="dispatch")
class DeviceAuthorizationView(OAuthLibMixin, View):
    server_class = DeviceApplicationServer
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        headers, body, status = self.create_device_authorization_response(request)
        payload = json.loads(body) if isinstance(body, str) else body
        if status != 200:
            return JsonResponse(payload, status=status, headers=headers)
        client = Application.objects.filter(client_id=request.POST.get("client_id", "")).first()
        if client is None or GRANT_DEVICE_CODE not in client.grant_types:
            return UnauthorizedClient("this client may not use the device flow").as_response()
        response = {k: v for k, v in payload.items() if k in _RESPONSE_FIELDS and v is not None}
        grant = create_device_grant(
            DeviceRequest(client_id=client.client_id, scope=payload.get("scope") or ""),
            DeviceCodeResponse(**response),
        )
        # No poll has happened yet: the first one may come at once without slow_down
        # (keystoneauth polls immediately and treats slow_down as fatal).
        type(grant).objects.filter(pk=grant.pk).update(last_checked=grant.expires - timedelta(days=1))
        return JsonResponse(response, status=200, headers={**headers, "Cache-Control": "no-store"})
