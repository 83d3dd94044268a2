"""The oauthlib server with our policies wired in."""

from oauthlib.oauth2.rfc6749.grant_types.authorization_code import code_challenge_method_s256
from oauthlib.openid import Server as OpenIDServer

from iam import tokens


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
