"""The Django admin for OAuth clients and refresh tokens.

DOT registers admins of its own for these models (oauth2_provider/admin.py). They write the
model directly: a client added there was stored with a secret hash our client
authentication never accepts, under none of iam.services.clients' rules, with no audit event;
its form asked for DOT fields this server does not use. They are replaced here: clients are
added and changed through iam.services.clients, their secret is never shown again (a new one
is issued by "Rotate secret", through the service too), and tokens are read-only.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

from accounts.admin import ReadOnlyModelAdmin, ServiceAdminMixin
from accounts.admin_forms import ServiceForm
from iam.claims import STANDARD_SCOPES
from iam.conf import config
from iam.models import SIGNING_ALGORITHMS, SUPPORTED_GRANT_TYPES, Application, TokenFamily
from iam.services.clients import ClientError, create_client, delete_client, known_scopes, update_client
from iam.services.revocation import revoke_family

# Access tokens, ID tokens and codes are the token engine's business, not an operator's (and
# access and ID tokens are on their way out of the database); refresh tokens are shown
# read-only below. The application admin is ours.
for _model in (
    get_application_model(),
    get_access_token_model(),
    get_id_token_model(),
    get_grant_model(),
    get_refresh_token_model(),
):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)

admin.site.site_header = admin.site.site_title = f"{config.organisation_name} administration"

_GRANT_TYPE_HELP = {
    "authorization_code": "people sign in through a browser (needs a redirect URI)",
    "refresh_token": "renew tokens without the user",
    "client_credentials": "the client acts for itself (confidential clients)",
    "password": "the client collects the user's password (legacy; confidential clients)",
    "urn:ietf:params:oauth:grant-type:device_code": "command line tools and devices without a browser",
}
GRANT_TYPE_CHOICES = [
    (g, f"{g}: {_GRANT_TYPE_HELP[g]}" if g in _GRANT_TYPE_HELP else g) for g in SUPPORTED_GRANT_TYPES
]


_CHOICE_LIST = {"class": "radiolist"}  # the admin's style for choice lists: labels as wide as their text


class LinesField(forms.CharField):
    """A list edited as text, one value per line."""

    def __init__(self, *, rows: int = 3, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": rows, "class": "vLargeTextField"}))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return "\n".join(value)
        return value

    def to_python(self, value):
        if isinstance(value, list | tuple):
            return list(value)
        return [line.strip() for line in (value or "").splitlines() if line.strip()]

    def validate(self, value):
        super().validate(value)
        # Values are stored space-separated (redirect URIs) or are identifiers: a space inside
        # one line is a typo that would otherwise silently become two values.
        if any(" " in v or "\t" in v for v in value):
            raise forms.ValidationError("One value per line, without spaces.")

    def has_changed(self, initial, data):
        return self.to_python(initial or []) != self.to_python(data)


class ClientForm(ServiceForm):
    """create_client() and update_client() decide; this form only parses."""

    service_errors = (ClientError,)

    name = forms.CharField(max_length=255)
    client_kind = forms.ChoiceField(
        label="Client type",
        choices=[
            ("confidential", "Confidential: a server that keeps a secret"),
            ("public", "Public: a browser app, mobile app or command line tool (no secret; PKCE required)"),
        ],
        initial="confidential",
        widget=forms.RadioSelect(_CHOICE_LIST),
    )
    active = forms.BooleanField(
        required=False, help_text="An inactive client gets no tokens; existing tokens expire as usual."
    )
    grant_types = forms.MultipleChoiceField(
        choices=GRANT_TYPE_CHOICES, widget=forms.CheckboxSelectMultiple(_CHOICE_LIST)
    )
    redirect_uris = LinesField(
        label="Redirect URIs",
        help_text="One per line, matched exactly. https, or http on 127.0.0.1 / localhost / [::1]; no fragment.",
    )
    post_logout_redirect_uris = LinesField(label="Post-logout redirect URIs", help_text="One per line, as above.")
    pkce_required = forms.BooleanField(
        required=False, initial=True, label="Require PKCE",
        help_text="Authorization requests must carry a PKCE S256 challenge (RFC 9700). Public clients always "
        "do; untick only for a legacy confidential client that cannot send one.",
    )
    skip_consent = forms.BooleanField(
        required=False, help_text="A trusted first-party portal: users are not asked to consent."
    )
    scopes = forms.MultipleChoiceField(
        label="Scopes",
        required=False,
        choices=(),  # known_scopes(), set per form: the standard ones and the operator's (IAM_SCOPES)
        widget=forms.CheckboxSelectMultiple(_CHOICE_LIST),
        help_text="What the client may request. More scopes are defined with IAM_SCOPES.",
    )
    audiences = LinesField(
        label="Audiences", help_text="One per line: audiences the client may ask for (audience= or resource=)."
    )
    introspection = forms.BooleanField(
        required=False,
        label="Resource server",
        help_text="May introspect tokens issued to other clients (without this, only its own).",
    )
    token_signing_alg = forms.ChoiceField(
        label="Token signing algorithm", choices=[(a, a) for a in SIGNING_ALGORITHMS], initial="RS256"
    )

    class Meta:
        model = Application
        fields = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scopes"].choices = [(s, f"{s}: {STANDARD_SCOPES[s]}" if s in STANDARD_SCOPES else s)
                                         for s in known_scopes()]
        client = self.instance
        if client.pk is None:
            del self.fields["active"]
            self.initial.setdefault("scopes", list(STANDARD_SCOPES))
            return
        del self.fields["client_kind"]
        self.initial.update(
            name=client.name,
            active=client.is_active,
            grant_types=list(client.grant_types),
            redirect_uris=client.redirect_uris.split(),
            post_logout_redirect_uris=client.post_logout_redirect_uris.split(),
            skip_consent=client.skip_authorization,
            pkce_required=client.pkce_required or client.is_public,
            scopes=list(client.allowed_scopes),
            audiences=list(client.audiences),
            introspection=client.may_introspect_any_token,
            token_signing_alg=client.token_signing_alg,
        )

    def apply(self, data):
        settings = {
            "name": data["name"],
            "grant_types": data["grant_types"],
            "redirect_uris": data["redirect_uris"],
            "post_logout_redirect_uris": data["post_logout_redirect_uris"],
            "scopes": data["scopes"],
            "audiences": data["audiences"],
            "introspection": data["introspection"],
            "skip_consent": data["skip_consent"],
            "pkce_required": data["pkce_required"],
            "token_signing_alg": data["token_signing_alg"],
        }
        if self.instance.pk is None:
            client, secret = create_client(actor=self.actor, public=data["client_kind"] == "public", **settings)
            client.new_secret = secret  # shown once, by ClientAdmin.response_add
            return client
        client, _ = update_client(actor=self.actor, client=self.instance, active=data["active"], **settings)
        return client


@admin.register(Application)
class ClientAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = ClientForm
    list_display = ("name", "client_type", "is_active", "grants", "client_id")
    list_filter = ("client_type", "is_active")
    search_fields = ("name", "client_id")
    ordering = ("name",)
    readonly_fields = ("client_id", "client_type", "secret", "token_profile", "lifetimes", "created", "updated")
    # Bulk actions would be deletes; a client is disabled (Active) rather than deleted here.
    actions = None
    view_on_site = False  # DOT's get_absolute_url names a page this server does not have

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            first = ("name", "client_kind")
            tokens = ("token_signing_alg",)
        else:
            first = ("name", "client_id", "client_type", "secret", "active")
            tokens = ("token_signing_alg", "token_profile", "lifetimes", "created", "updated")
        return [
            (None, {"fields": first}),
            ("Grants and redirects", {"fields": ("grant_types", "redirect_uris", "post_logout_redirect_uris",
                                                 "pkce_required", "skip_consent")}),
            ("Scopes and audiences", {"fields": ("scopes", "audiences", "introspection")}),
            ("Tokens", {"fields": tokens}),
        ]

    def delete_model(self, request, obj):
        delete_client(actor=request.user, client=obj)  # audited; its tokens become inactive

    def delete_queryset(self, request, queryset):
        for client in queryset:
            delete_client(actor=request.user, client=client)

    @admin.display(description="grant types")
    def grants(self, obj):
        return ", ".join(g.rsplit(":", 1)[-1] for g in obj.grant_types)

    @admin.display(description="client secret")
    def secret(self, obj):
        if obj.is_public:
            return "none (a public client)"
        url = reverse("admin:iam_application_rotate_secret", args=[obj.pk])
        return format_html(
            '<p>Stored as a keyed hash: it cannot be shown again.</p>'
            '<p><a class="button" href="{}">Rotate secret</a></p>',
            url,
        )

    @admin.display(description="lifetimes")
    def lifetimes(self, obj):
        return (
            f"access token {obj.effective_access_token_lifetime()} s, "
            f"ID token {obj.effective_id_token_lifetime()} s, "
            f"refresh token {obj.effective_refresh_token_lifetime()} s"
        )

    # -- the secret, shown once -------------------------------------------------------------------
    def get_urls(self):
        return [
            path(
                "<path:object_id>/rotate-secret/",
                self.admin_site.admin_view(self.rotate_secret_view),
                name="iam_application_rotate_secret",
            ),
            *super().get_urls(),
        ]

    def response_add(self, request, obj, post_url_continue=None):
        secret = getattr(obj, "new_secret", None)
        if secret:
            return self._show_secret(request, obj, secret, title="Client added")
        return super().response_add(request, obj, post_url_continue)

    def rotate_secret_view(self, request, object_id):
        client = self.get_object(request, unquote(object_id))
        if client is None:
            raise Http404("no such client")
        if not self.has_change_permission(request, client):
            raise PermissionDenied
        change_url = reverse("admin:iam_application_change", args=[client.pk])
        if client.is_public:
            self.message_user(request, "A public client has no secret.", messages.ERROR)
            return HttpResponseRedirect(change_url)
        if request.method == "POST":
            client, secret = update_client(actor=request.user, client=client, rotate_secret=True)
            self.log_change(request, client, "Rotated the client secret.")
            return self._show_secret(request, client, secret, title="New client secret")
        context = {
            **self.admin_site.each_context(request),
            "title": f"Rotate the secret of {client.name or client.client_id}?",
            "opts": self.opts,
            "original": client,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/iam/application/rotate_secret.html", context)

    def _show_secret(self, request, client, secret, *, title):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "original": client,
            "client_secret": secret,
            "change_url": reverse("admin:iam_application_change", args=[client.pk]),
        }
        # The admin's views already send Cache-Control: no-store; nothing keeps the secret.
        return TemplateResponse(request, "admin/iam/application/secret.html", context)


@admin.register(get_refresh_token_model())
class RefreshTokenAdmin(ReadOnlyModelAdmin):
    """Refresh tokens, read-only: issued, rotated and revoked by the token engine only."""

    list_display = ("id", "user", "application", "created", "revoked")
    list_select_related = ("user", "application")
    search_fields = ("application__client_id", "application__name", "user__username")
    fields = ("id", "user", "application", "created", "updated", "revoked")
    readonly_fields = fields
    actions = None


@admin.register(TokenFamily)
class AuthorizationAdmin(ReadOnlyModelAdmin):
    """What users have authorized: one row per refresh-token family (user, client, granted
    scope). Read-only; the one action revokes through the service (refresh tokens and the
    unexpired access tokens issued from them, audited)."""

    list_display = ("user", "application", "scope", "created", "live")
    list_select_related = ("user", "application")
    search_fields = ("user__username", "application__name", "application__client_id")
    fields = ("id", "user", "application", "scope", "audience", "auth_time", "amr", "created")
    readonly_fields = fields
    actions = ["revoke"]

    @admin.display(boolean=True, description="live")
    def live(self, family):
        return get_refresh_token_model().objects.filter(token_family=family.id, revoked__isnull=True).exists()

    @admin.action(description="Revoke the selected authorizations (their refresh and access tokens)")
    def revoke(self, request, queryset):
        for family in queryset:
            revoke_family(actor=request.user, family_id=family.id, reason="revoked_by_administrator")
        self.message_user(request, f"{queryset.count()} authorization(s) revoked.", messages.SUCCESS)
