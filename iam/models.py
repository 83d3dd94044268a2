"""Authorization-server state: clients, codes, signing keys, consents."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from oauth2_provider.models import AbstractApplication, AbstractGrant

from iam.conf import config

GRANT_AUTHORIZATION_CODE = "authorization_code"
GRANT_REFRESH_TOKEN = "refresh_token"
GRANT_CLIENT_CREDENTIALS = "client_credentials"
GRANT_PASSWORD = "password"
GRANT_DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"
GRANT_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
# What this server can issue today; token exchange arrives with its own issue.
SUPPORTED_GRANT_TYPES = (
    GRANT_AUTHORIZATION_CODE,
    GRANT_REFRESH_TOKEN,
    GRANT_CLIENT_CREDENTIALS,
    GRANT_PASSWORD,
    GRANT_DEVICE_CODE,
)

# DOT names its grant types differently from the RFCs; it asks through allows_grant_type().
_DOT_GRANT_NAMES = {
    AbstractApplication.GRANT_AUTHORIZATION_CODE: GRANT_AUTHORIZATION_CODE,
    AbstractApplication.GRANT_CLIENT_CREDENTIALS: GRANT_CLIENT_CREDENTIALS,
    AbstractApplication.GRANT_PASSWORD: GRANT_PASSWORD,
    AbstractApplication.GRANT_DEVICE_CODE: GRANT_DEVICE_CODE,
}

SIGNING_ALGORITHMS = ("RS256", "ES256")


class Application(AbstractApplication):
    """An OAuth client. Grant types, scopes, audiences and lifetimes are per client."""

    grant_types = models.JSONField(default=list, blank=True, help_text="RFC grant type names")
    allowed_scopes = models.JSONField(default=list, blank=True, help_text="scopes the client may request")
    audiences = models.JSONField(default=list, blank=True, help_text="audiences the client may request")
    may_introspect_any_token = models.BooleanField(
        default=False, help_text="a resource server: may introspect tokens issued to other clients"
    )
    token_signing_alg = models.CharField(
        max_length=10, default="RS256", choices=[(a, a) for a in SIGNING_ALGORITHMS]
    )
    token_profile = models.CharField(max_length=20, default="iam")
    access_token_lifetime = models.PositiveIntegerField(null=True, blank=True)
    refresh_token_lifetime = models.PositiveIntegerField(null=True, blank=True)
    id_token_lifetime = models.PositiveIntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    pkce_required = models.BooleanField(
        default=True,
        help_text="authorization requests must carry a PKCE S256 challenge (always, for public clients); "
        "off only for a legacy confidential client that cannot send one",
    )
    owners = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="owned_clients")

    class Meta(AbstractApplication.Meta):
        swappable = "OAUTH2_PROVIDER_APPLICATION_MODEL"

    # -- policy -----------------------------------------------------------------------------
    def allows_grant_type(self, *grant_types):
        return any(_DOT_GRANT_NAMES.get(g, g) in self.grant_types for g in grant_types)

    def is_usable(self, request):
        return self.is_active

    def redirect_uri_allowed(self, uri):
        # Exact string comparison (RFC 9700 §2.1, OIDC Core §3.1.2.1): no loopback-port,
        # case or normalisation leniency.
        return uri in self.redirect_uris.split()

    def post_logout_redirect_uri_allowed(self, uri):
        return uri in self.post_logout_redirect_uris.split()

    @property
    def is_public(self) -> bool:
        return self.client_type == self.CLIENT_PUBLIC

    def effective_access_token_lifetime(self) -> int:
        return self.access_token_lifetime or config.access_token_lifetime

    def effective_refresh_token_lifetime(self) -> int:
        return self.refresh_token_lifetime or config.refresh_token_lifetime

    def effective_id_token_lifetime(self) -> int:
        return self.id_token_lifetime or config.id_token_lifetime


class Grant(AbstractGrant):
    """An authorization code, plus how and when the user authenticated (for the ID token)."""

    auth_time = models.DateTimeField(null=True, blank=True)
    amr = models.JSONField(default=list, blank=True)

    class Meta(AbstractGrant.Meta):
        swappable = "OAUTH2_PROVIDER_GRANT_MODEL"

    def redirect_uri_allowed(self, uri):
        return uri == self.redirect_uri


class TokenFamily(models.Model):
    """One authorization's refresh tokens: who, for which client, what was granted, and the
    access tokens issued from it (so that revoking the family can deny-list them).

    Access tokens are not stored (RFC 9068 JWTs, verified on use); refresh tokens are DOT's
    RefreshToken rows carrying this family's id. The granted ``scope`` lives here, not on a
    token: a refresh asking for less narrows the access token only, and the next refresh token
    keeps the family's scope (RFC 6749 §6)."""

    id = models.UUIDField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+")
    application = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, null=True, on_delete=models.CASCADE, related_name="+"
    )
    scope = models.TextField(blank=True, default="", help_text="what the user granted (space-separated)")
    auth_time = models.DateTimeField(null=True, blank=True)
    amr = models.JSONField(default=list, blank=True)
    audience = models.JSONField(default=list, blank=True, help_text="what the first token was issued for")
    access_tokens = models.JSONField(
        default=list, blank=True, help_text="[jti, exp] of the unexpired access tokens issued from this family"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "authorized application (refresh-token family)"
        verbose_name_plural = "authorized applications (refresh-token families)"

    def remember_access_token(self, jti: str, exp: int, now: int) -> None:
        """Add an issued access token, dropping those that have expired (they need no deny-listing)."""
        self.access_tokens = [[j, e] for j, e in self.access_tokens if e > now] + [[jti, exp]]


class RedeemedCode(models.Model):
    """A used authorization code, kept so that a replay can revoke what the code issued."""

    code_checksum = models.CharField(max_length=64, unique=True)
    application = models.ForeignKey(settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE)
    access_token_jti = models.CharField(max_length=64, blank=True, default="")
    access_token_expires = models.BigIntegerField(default=0, help_text="exp of that access token (Unix time)")
    token_family = models.UUIDField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)


class Revocation(models.Model):
    """What makes an otherwise valid token inactive; checked on every use, in one lookup.

    ``key`` is ``jti:<jti>`` (one access token, deny-listed until its ``exp``),
    ``user:<sub>`` or ``client:<client_id>`` (a "not before" epoch: every token of that user
    or client issued before ``not_before_ms`` is inactive). Rows go once ``expires`` has
    passed: by then every token they could concern has expired anyway (``purgetokens``)."""

    key = models.CharField(max_length=300, primary_key=True)
    not_before_ms = models.BigIntegerField(default=0)
    expires = models.DateTimeField(db_index=True)


class Consent(models.Model):
    """Scopes a user has agreed to give a client; asked again only for new scopes."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consents")
    application = models.ForeignKey(settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE)
    scopes = models.JSONField(default=list)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "application"], name="consent_unique")]

    def covers(self, scopes) -> bool:
        return set(scopes) <= set(self.scopes)


class SigningKey(models.Model):
    """A token-signing key. The private half is encrypted with a key derived from SECRET_KEY.

    Life cycle: next (published, not used) -> active (signs) -> retiring (published, still
    verifies live tokens) -> retired (gone from JWKS).
    """

    NEXT, ACTIVE, RETIRING, RETIRED = "next", "active", "retiring", "retired"
    STATES = [(s, s) for s in (NEXT, ACTIVE, RETIRING, RETIRED)]

    kid = models.CharField(max_length=64, unique=True)
    alg = models.CharField(max_length=10, choices=[(a, a) for a in SIGNING_ALGORITHMS])
    state = models.CharField(max_length=10, choices=STATES, db_index=True)
    private_key_encrypted = models.TextField()
    public_jwk = models.JSONField()
    created = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)
    retiring_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created"]

    def __str__(self):
        return f"{self.kid} ({self.alg}, {self.state})"
