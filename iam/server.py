"""The oauthlib server with our policies wired in."""

from oauthlib.oauth2.rfc6749.grant_types.authorization_code import code_challenge_method_s256
from oauthlib.openid import Server as OpenIDServer
from oauthlib.openid.connect.core.grant_types.base import GrantTypeBase as OpenIDGrantTypeBase

from iam import tokens
from iam.models import GRANT_DEVICE_CODE, GRANT_PASSWORD


class _IDTokenIssuer(OpenIDGrantTypeBase):
    """oauthlib's ID token assembly (aud, iat, at_hash; then our validator's claims and
    signature), for grants its OpenID layer does not wrap. ID tokens are not stored."""

    def __init__(self, request_validator):
        self.proxy_target = None  # nothing to proxy to; set first, __getattr__ reads it
        self.request_validator = request_validator


class _TokenHandlerWithIDToken:
    def __init__(self, token_handler, issuer):
        self._inner, self._issuer = token_handler, issuer

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def create_token(self, request, *args, **kwargs):
        token = self._inner.create_token(request, *args, **kwargs)
        # Before the grant saves the token, as oauthlib's OpenID grants do.
        return self._issuer.add_id_token(token, self, request)


class _WithIDToken:
    """A grant whose token responses carry an ID token when `openid` was granted.

    OpenID Connect Core defines ID tokens for the code flow; for the password and device
    code grants it is silent, and clients that ask for `openid` there (oidc-agent, CLIs,
    keystoneauth's password plugin with `openid` in its scope) expect one, as INDIGO IAM and
    Keycloak issue it. Without `openid` in the granted scope nothing changes."""

    def __init__(self, grant, issuer):
        self._grant, self._issuer = grant, issuer

    def __getattr__(self, name):
        return getattr(self._grant, name)

    def create_token_response(self, request, token_handler):
        return self._grant.create_token_response(request, _TokenHandlerWithIDToken(token_handler, self._issuer))


class Server(OpenIDServer):
    def __init__(self, request_validator, token_expires_in=None, token_generator=None,
                 refresh_token_generator=None, *args, **kwargs):
        super().__init__(
            request_validator,
            tokens.access_token_lifetime,  # per client, not one global number
            token_generator or tokens.generate_access_token,
            refresh_token_generator or tokens.generate_opaque_token,
            *args,
            **kwargs,
        )
        # Only the code flow: implicit and hybrid responses are not offered at all, so asking
        # for them is unsupported_response_type (RFC 6749 §4.1.2.1), not a per-client refusal.
        self._response_types = {"code": self._response_types["code"]}
        seen = set()
        for grant in (
            self.auth_grant,
            self.openid_connect_auth,
            self.password_grant,
            self.credentials_grant,
            self.refresh_grant,
            self.device_code_grant,
        ):
            target = getattr(grant, "proxy_target", grant)
            if id(target) in seen:
                continue
            seen.add(id(target))
            # PKCE: only S256. A challenge without a method defaults to "plain" (RFC 7636
            # §4.3) and is therefore refused too.
            if hasattr(target, "_code_challenge_methods"):
                target._code_challenge_methods = {"S256": code_challenge_method_s256}
            target.custom_validators.post_token.append(tokens.check_audience)
        issuer = _IDTokenIssuer(request_validator)
        for grant_type in (GRANT_PASSWORD, GRANT_DEVICE_CODE):
            self._grant_types[grant_type] = _WithIDToken(self._grant_types[grant_type], issuer)
