"""Our one seam into django-oauth-toolkit / oauthlib: client auth, grant policy, claims, keys."""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from oauth2_provider.models import get_device_grant_model, get_refresh_token_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749 import errors
from oauthlib.oauth2.rfc8628.grant_types import DeviceCodeGrant

from accounts.services import audit
from iam import claims as claims_module
from iam import refresh_tokens
from iam.access_tokens import signed_access_token_claims
from iam.client_auth import load_client
from iam.conf import config
from iam.keys import key_store
from iam.models import Grant, RedeemedCode, TokenFamily
from iam.refresh_tokens import checksum
from iam.secrets import check_client_secret
from iam.services.revocation import revoke_access_token, revoke_family

log = logging.getLogger(__name__)

RefreshToken = get_refresh_token_model()
DeviceGrant = get_device_grant_model()


class _RefreshTokenAlreadyRotated(Exception):
    def __init__(self, token_family):
        super().__init__(token_family)
        self.token_family = token_family


class _CodeAlreadyRedeemed(Exception):
    pass


class Validator(OAuth2Validator):
    # -- client authentication ------------------------------------------------------------
    def _check_secret(self, provided_secret, stored_secret):
        return check_client_secret(provided_secret, stored_secret)

    def _load_application(self, client_id, request):
        # One read of the row per request (iam.client_auth.load_client); DOT's own checks
        # then run on it as before.
        if not request.client:
            client = load_client(client_id)
            if client is not None and client.is_usable(request):
                request.client = client
        return super()._load_application(client_id, request)

    def _authenticate_basic_auth(self, request):
        ok = super()._authenticate_basic_auth(request)
        if ok:
            request.iam_client_auth_method = "client_secret_basic"
        return ok

    def _authenticate_request_body(self, request):
        # A public client has no secret; it must not "authenticate" by sending the empty one.
        if not (getattr(request, "client_secret", None) or ""):
            return False
        ok = super()._authenticate_request_body(request)
        if ok:
            request.iam_client_auth_method = "client_secret_post"
        return ok

    # -- grant and response-type policy ------------------------------------------------------
    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        return grant_type in (request.client or client).grant_types

    def validate_response_type(self, client_id, response_type, client, request, *args, **kwargs):
        # oauthlib's code grant also takes hybrid ("code id_token") and "none" requests: this
        # server offers none of them to anyone, so that is unsupported, not unauthorized.
        if response_type != "code":
            raise errors.UnsupportedResponseTypeError(request=request)
        return "authorization_code" in client.grant_types

    def is_pkce_required(self, client_id, request):
        # RFC 9700 §2.1.1: PKCE for every client unless a legacy confidential one opted out.
        client = request.client or self._load_application(client_id, request)
        return client is None or client.is_public or client.pkce_required

    # -- authorization codes -----------------------------------------------------------------
    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        grant = Grant.objects.filter(code=code, application=client).select_related("user").first()
        if grant is None:
            self._revoke_replayed_code(code, client)
            return False
        if grant.is_expired() or not grant.user.is_active:
            return False
        if request.code_verifier is not None and not grant.code_challenge:
            # RFC 9700 §2.1.1 (PKCE downgrade): a verifier for a code issued without a
            # challenge means someone other than the client that asked for the code is here.
            raise errors.InvalidGrantError(
                description="code_verifier sent, but the authorization request had no code_challenge",
                request=request,
            )
        request.scopes = grant.scope.split()
        request.user = grant.user
        request.iam_auth_time = grant.auth_time
        request.iam_amr = grant.amr
        request.iam_grant = grant
        if grant.nonce:
            request.nonce = grant.nonce
        if grant.claims:
            request.claims = json.loads(grant.claims)
        return True

    # PKCE challenge and redirect_uri come from the row validate_code read: DOT reads it again
    # and raises DoesNotExist (a 500) when a concurrent redemption deleted the code meanwhile.
    def get_code_challenge(self, code, request):
        grant = getattr(request, "iam_grant", None)
        return super().get_code_challenge(code, request) if grant is None else grant.code_challenge or None

    def get_code_challenge_method(self, code, request):
        grant = getattr(request, "iam_grant", None)
        if grant is None:
            return super().get_code_challenge_method(code, request)
        return grant.code_challenge_method or None

    def get_default_redirect_uri(self, client_id, request, *args, **kwargs):
        # Never a fallback: every authorization request here carries redirect_uri, so the
        # token request must repeat it (RFC 6749 §4.1.3); oauthlib then answers invalid_request.
        return None

    def confirm_redirect_uri(self, client_id, code, redirect_uri, client, request, *args, **kwargs):
        grant = getattr(request, "iam_grant", None)
        if grant is None:
            return super().confirm_redirect_uri(client_id, code, redirect_uri, client, request, *args, **kwargs)
        return grant.redirect_uri_allowed(redirect_uri)

    def _revoke_replayed_code(self, code, client) -> None:
        redeemed = RedeemedCode.objects.filter(code_checksum=checksum(code), application=client).first()
        if redeemed is None:
            return
        with transaction.atomic():
            if redeemed.access_token_jti:
                revoke_access_token(actor=client, jti=redeemed.access_token_jti,
                                    exp=redeemed.access_token_expires, reason="code_replay")
            if redeemed.token_family:
                revoke_family(actor=client, family_id=redeemed.token_family, reason="code_replay")
            audit.record(actor=client, action="token.code_replay_revoked", target=client)
        log.warning("authorization code replayed by client %s: its tokens were revoked", client.client_id)

    def _create_authorization_code(self, request, code, expires=None):
        if request.code_challenge_method not in (None, "", "S256"):
            raise errors.InvalidRequestError(description="code_challenge_method must be S256", request=request)
        return Grant.objects.create(
            application=request.client,
            user=request.user,
            code=code["code"],
            expires=expires or timezone.now() + timedelta(seconds=config.authorization_code_lifetime),
            redirect_uri=request.redirect_uri,
            scope=" ".join(request.scopes),
            code_challenge=request.code_challenge or "",
            code_challenge_method=request.code_challenge_method or "",
            nonce=request.nonce or "",
            claims=json.dumps(request.claims or {}),
            resource=getattr(request, "resource", None) or [],
            auth_time=getattr(request, "iam_auth_time", None),
            amr=getattr(request, "iam_amr", None) or [],
        )

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs):
        if getattr(request, "iam_code_used", False):
            return  # already used up with the tokens it issued (save_bearer_token)
        if not Grant.objects.filter(code=code, application=request.client).delete()[0]:
            raise errors.InvalidGrantError(request=request)

    # -- tokens ------------------------------------------------------------------------------
    # Access tokens are not stored (iam.access_tokens verifies them). What is kept: refresh
    # tokens and their family (scope, who, how they authenticated, the access tokens issued
    # from it), and a redeemed code's record, so that reuse and replay can revoke.
    def save_bearer_token(self, token, request, *args, **kwargs):
        if "refresh_token" in token and "refresh_token" not in request.client.grant_types:
            del token["refresh_token"]
        if request.grant_type == "client_credentials":
            request.user = None
            return  # nothing to keep
        try:
            with transaction.atomic():
                self._store_tokens(token, request)
        except _RefreshTokenAlreadyRotated as lost:
            # Two uses of one refresh token are reuse, however close together: revoke the
            # family (here, outside the transaction that was just rolled back).
            revoke_family(actor=request.client, family_id=lost.token_family, reason="refresh_token_reuse")
            log.warning("refresh token used concurrently by client %s: its family was revoked",
                        request.client.client_id)
            raise errors.InvalidGrantError(description="the refresh token was already used", request=request) from None
        except _CodeAlreadyRedeemed:
            # A concurrent request redeemed this code first: that is a replay too.
            self._revoke_replayed_code(request.code, request.client)
            raise errors.InvalidGrantError(description="the authorization code was already used",
                                           request=request) from None

    def _store_tokens(self, token, request) -> None:
        issued = getattr(request, "iam_access_token_claims", None) or {}
        jti, exp = issued.get("jti", ""), int(issued.get("exp", 0))
        now = int(time.time())
        family = None
        if request.grant_type == "refresh_token":
            previous = request.refresh_token_instance
            # Claim the presented token (a row lock on PostgreSQL, the write lock on SQLite):
            # of two concurrent uses only one finds it unrevoked.
            claimed = RefreshToken.objects.filter(pk=previous.pk, revoked__isnull=True).update(
                revoked=timezone.now(), updated=timezone.now()
            )
            if not claimed:
                raise _RefreshTokenAlreadyRotated(previous.token_family)
            family = TokenFamily.objects.select_for_update().get(id=previous.token_family)
        elif "refresh_token" in token:
            family = TokenFamily(
                id=uuid.uuid4(),
                user=request.user,
                application=request.client,
                scope=" ".join(request.scopes),
                auth_time=getattr(request, "iam_auth_time", None),
                amr=getattr(request, "iam_amr", None) or [],
                audience=getattr(request, "iam_audience", None) or [],
            )
        if family is not None:
            if jti:
                family.remember_access_token(jti, exp, now)
            family.save()
            if "refresh_token" in token:
                RefreshToken.objects.create(
                    user=request.user, application=request.client, token="",
                    token_checksum=checksum(token["refresh_token"]), token_family=family.id,
                )
        if request.grant_type == "authorization_code" and getattr(request, "code", None):
            # Use the code up in the transaction that records its tokens: of two concurrent
            # redemptions only one deletes it.
            if not Grant.objects.filter(code=request.code, application=request.client).delete()[0]:
                raise _CodeAlreadyRedeemed()
            request.iam_code_used = True
            RedeemedCode.objects.create(
                code_checksum=checksum(request.code),
                application=request.client,
                access_token_jti=jti,
                access_token_expires=exp,
                token_family=family.id if family is not None else None,
            )

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        if not refresh_token or len(refresh_token) > 4096:
            return False
        rt = (
            RefreshToken.objects.select_related("user")
            .filter(token_checksum=checksum(refresh_token), application=client)
            .order_by(F("revoked").desc(nulls_first=True))
            .first()
        )
        if rt is None:
            return False
        if rt.revoked is not None:
            # A rotated (or revoked) refresh token presented again: someone holds a copy.
            revoke_family(actor=client, family_id=rt.token_family, reason="refresh_token_reuse")
            log.warning("refresh token reused by client %s: its family was revoked", client.client_id)
            return False
        rt.application = client
        family = TokenFamily.objects.filter(id=rt.token_family).first() if refresh_tokens.is_live(rt) else None
        if family is None:
            return False
        request.user = rt.user
        request.refresh_token = refresh_token
        request.refresh_token_instance = rt
        request.iam_family = family
        request.iam_auth_time, request.iam_amr = family.auth_time, family.amr
        request.iam_family_audience = family.audience
        return True

    def get_original_scopes(self, refresh_token, request, *args, **kwargs):
        # The family's granted scope: a narrower earlier refresh did not shrink it (RFC 6749 §6).
        return request.iam_family.scope.split()

    def revoke_token(self, token, token_type_hint, request, *args, **kwargs):
        """RFC 7009: only the requesting client's own tokens; unknown ones are silently fine."""
        client = request.client
        if client is None or not token:
            return
        lookups = [self._revoke_access_token, self._revoke_refresh_token]
        if token_type_hint == "refresh_token":
            lookups.reverse()
        for lookup in lookups:
            if lookup(token, client):
                return

    @staticmethod
    def _revoke_access_token(token, client) -> bool:
        claims = signed_access_token_claims(token)
        if claims is None:
            return False
        if claims["client_id"] == client.client_id:
            revoke_access_token(actor=client, jti=claims["jti"], exp=int(claims["exp"]))
        return True

    @staticmethod
    def _revoke_refresh_token(token, client) -> bool:
        if len(token) > 4096:
            return False
        rt = RefreshToken.objects.filter(token_checksum=checksum(token), application=client).first()
        if rt is None:
            return False
        # RFC 7009 §2.1: the access tokens of the same grant go too.
        revoke_family(actor=client, family_id=rt.token_family, reason="revoked")
        return True

    # -- device authorization grant (RFC 8628) ----------------------------------------------------
    def validate_device_code(self, client_id, code, request, *args, **kwargs):
        """The device code's state, for this client only; an approved code is used up here."""
        with transaction.atomic():
            grant = DeviceGrant.objects.select_for_update().filter(device_code=code, client_id=client_id).first()
            if grant is None:
                return None
            if grant.is_expired() or grant.status == grant.EXPIRED:
                return DeviceCodeGrant.DEVICE_CODE_EXPIRED
            if grant.status == grant.DENIED:
                return DeviceCodeGrant.DEVICE_CODE_DENIED
            if grant.status == grant.AUTHORIZED and grant.user is not None and grant.user.is_active:
                request.user = grant.user
                request.scopes = grant.scope.split()
                request.iam_auth_time = grant.user.last_login
                grant.delete()  # one device code, one set of tokens
                return DeviceCodeGrant.DEVICE_CODE_AUTHORIZED
            too_fast = (timezone.now() - grant.last_checked).total_seconds() < grant.interval * 0.8
            if too_fast:
                grant.interval += 5  # RFC 8628 §3.5: every slow_down adds 5 seconds
            grant.save(update_fields=["last_checked", "interval"])
            return DeviceCodeGrant.DEVICE_CODE_SLOW_DOWN if too_fast else DeviceCodeGrant.DEVICE_CODE_PENDING

    # -- resource owner password grant ---------------------------------------------------------
    def validate_user(self, username, password, client, request, *args, **kwargs):
        # oauthlib checks the password before the grant type: a client not registered for this
        # grant must not get to test passwords (or lock accounts) at all.
        if "password" not in (request.client or client).grant_types:
            raise errors.UnauthorizedClientError(request=request)
        ok = super().validate_user(username, password, client, request, *args, **kwargs)
        if ok:
            request.iam_auth_time = timezone.now()
            request.iam_amr = ["pwd"]
        return ok

    # -- OpenID Connect ------------------------------------------------------------------------
    def get_oidc_issuer_endpoint(self, request):
        return config.issuer

    def finalize_id_token(self, id_token, token, token_handler, request):
        user = request.user
        auth_time = getattr(request, "iam_auth_time", None) or user.last_login
        claims = claims_module.id_token_claims(
            user=user,
            client=request.client,
            scopes=request.scopes,
            now=int(time.time()),
            auth_time=auth_time,
            amr=getattr(request, "iam_amr", None),
        )
        id_token.update(claims)
        if "nonce" not in id_token and request.nonce:
            id_token["nonce"] = request.nonce
        return key_store.sign(id_token, alg=request.client.token_signing_alg, typ="JWT")

    def get_userinfo_claims(self, request):
        return claims_module.user_claims(request.user, request.scopes)

    def validate_silent_login(self, request):
        # The authorization view checks the session before oauthlib sees prompt=none.
        return True

    def validate_silent_authorization(self, request):
        return True

    def validate_user_match(self, id_token_hint, scopes, claims, request):
        return True
