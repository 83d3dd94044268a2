from django.contrib import admin
from django.urls import include, path
from oauth2_provider import views as dot_views

from accounts import views as account_views
from iam.conf import config
from iam.views import authorize, device, discovery, logout, token

# DOT's device views reverse names in the "oauth2_provider" namespace.
device_patterns = (
    [
        path("device/", device.DeviceUserCodeView.as_view(), name="device"),
        path(
            "device/confirm/<slug:client_id>/<slug:user_code>/",
            dot_views.DeviceConfirmView.as_view(),
            name="device-confirm",
        ),
        path(
            "device/status/<slug:client_id>/<slug:user_code>/",
            dot_views.DeviceGrantStatusView.as_view(),
            name="device-grant-status",
        ),
    ],
    "oauth2_provider",
)

urlpatterns = [
    path(".well-known/openid-configuration", discovery.discovery, name="openid-configuration"),
    path(".well-known/oauth-authorization-server", discovery.discovery, name="oauth-authorization-server"),
    path("jwks/", discovery.jwks, name="jwks"),
    path("authorize/", authorize.AuthorizeView.as_view(), name="authorize"),
    path("token/", token.TokenView.as_view(), name="token"),
    path("introspect/", token.IntrospectView.as_view(), name="introspect"),
    path("revoke/", token.RevokeView.as_view(), name="revoke"),
    path("userinfo/", token.UserInfoView.as_view(), name="userinfo"),
    path("device_authorization/", device.DeviceAuthorizationView.as_view(), name="device-authorization"),
    path("", include(device_patterns)),
    path("end_session/", logout.end_session, name="end-session"),
    path("login/", account_views.login_view, name="login"),
    path("logout/", account_views.logout_view, name="logout"),
    path("healthz", discovery.healthz, name="healthz"),
    path("readyz", discovery.readyz, name="readyz"),
    path("metrics", discovery.metrics, name="metrics"),
    # Off unless enabled (on by default only for a loopback issuer): see IAM_ADMIN_ENABLED.
    *([path("admin/", admin.site.urls)] if config.admin_enabled else []),
    path("", account_views.home, name="home"),
]

handler500 = "iam.views.errors.server_error"  # the layout, without a request context
