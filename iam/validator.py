"""Our one seam into django-oauth-toolkit / oauthlib: client auth, grant policy, claims, keys."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_device_grant_model,
    get_id_token_model,
    get_refresh_token_model,
    revoke_access_token,
)
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749 import errors
from oauthlib.oauth2.rfc8628.grant_types import DeviceCodeGrant

from accounts.services import audit
from iam import claims as claims_module
from iam.client_auth import load_client
from iam.conf import config
from iam.keys import key_store
from iam.models import Grant, RedeemedCode, TokenFamily
from iam.secrets import check_client_secret

log = logging.getLogger(__name__)

AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()
IDToken = get_id_token_model()
DeviceGrant = get_device_grant_model()


class _RefreshTokenAlreadyRotated(Exception):
    def __init__(self, token_family):
        super().__init__(token_family)
        self.token_family = token_family


class _CodeAlreadyRedeemed(Exception):
    pass


def checksum(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Validator(OAuth2Validator):
    # -- client authentication ------------------------------------------------------------
    def _check_secret(self, provided_secret, stored_secret):
        return check_client_secret(provided_secret, stored_secret)

    def _load_application(self, client_id, request):
        # DOT reads the row on every request; take it from the short-lived per-worker cache
        # (iam.client_auth.load_client). DOT's own checks then run on it as before.
        if not request.client:
            try:
                client = load_client(client_id)
            except ValueError:  # e.g. a NUL byte, which PostgreSQL cannot be asked about
                client = None
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
        client = request.client or self._load_application(client_id, request)
        return client is None or client.is_public

    # -- authorization codes -----------------------------------------------------------------
    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        grant = Grant.objects.filter(code=code, application=client).select_related("user").first()
        if grant is None:
            self._revoke_replayed_code(code, client)
            return False
        if grant.is_expired() or not grant.user.is_active:
            return False
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
            for token in AccessToken.objects.filter(token_checksum=redeemed.access_token_checksum):
                revoke_access_token(token)
            if redeemed.token_family:
                RefreshToken.revoke_family(redeemed.token_family)
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
            return  # already deleted with the tokens it issued (_save_bearer_token)
        deleted, _ = Grant.objects.filter(code=code, application=request.client).delete()
        if not deleted:
            # Another request redeemed this code between our check and now: revoke ours too.
            token = getattr(request, "iam_issued_access_token", None)
            if token is not None:
                revoke_access_token(token)
            raise errors.InvalidGrantError(request=request)

    # -- tokens ------------------------------------------------------------------------------
    def save_bearer_token(self, token, request, *args, **kwargs):
        if request.grant_type == "client_credentials" and "refresh_token" not in token:
            # One INSERT, atomic on its own: DOT's transaction around it only adds the
            # BEGIN and COMMIT round trips to the busiest grant.
            return self._save_bearer_token(token, request, *args, **kwargs)
        try:
            return super().save_bearer_token(token, request, *args, **kwargs)
        except _RefreshTokenAlreadyRotated as lost:
            # Two uses of one refresh token are reuse, however close together: revoke the
            # family (here, outside the transaction that was just rolled back).
            RefreshToken.revoke_family(lost.token_family)
            log.warning("refresh token used concurrently by client %s: its family was revoked",
                        request.client.client_id)
            raise errors.InvalidGrantError(request=request) from None
        except _CodeAlreadyRedeemed:
            # A concurrent request redeemed this code first: that is a replay too.
            self._revoke_replayed_code(request.code, request.client)
            raise errors.InvalidGrantError(request=request) from None

    def _save_bearer_token(self, token, request, *args, **kwargs):
        if "refresh_token" in token and "refresh_token" not in request.client.grant_types:
            del token["refresh_token"]
        previous = getattr(request, "refresh_token_instance", None)
        if request.grant_type == "refresh_token" and isinstance(previous, RefreshToken):
            # Claim the presented token first (a row lock on PostgreSQL, the write lock on
            # SQLite). A concurrent request that rotated it in the meantime leaves nothing to
            # claim; without this DOT takes its grace-period path and answers 200 with empty
            # token strings (it stores only checksums of the tokens it would hand back).
            claimed = RefreshToken.objects.filter(pk=previous.pk, revoked__isnull=True).update(
                updated=timezone.now()
            )
            if not claimed:
                raise _RefreshTokenAlreadyRotated(previous.token_family)
        super()._save_bearer_token(token, request, *args, **kwargs)
        if request.grant_type == "authorization_code" and getattr(request, "code", None):
            # Use the code up in the transaction that stores its tokens: of two concurrent
            # redemptions only one deletes it (the other would collide on RedeemedCode).
            deleted, _ = Grant.objects.filter(code=request.code, application=request.client).delete()
            if not deleted:
                raise _CodeAlreadyRedeemed()
            request.iam_code_used = True
            access_token = AccessToken.objects.filter(token_checksum=checksum(token["access_token"])).first()
            request.iam_issued_access_token = access_token
            family = None
            if "refresh_token" in token:
                family = (
                    RefreshToken.objects.filter(token_checksum=checksum(token["refresh_token"]))
                    .values_list("token_family", flat=True)
                    .first()
                )
            RedeemedCode.objects.create(
                code_checksum=checksum(request.code),
                application=request.client,
                access_token_checksum=checksum(token["access_token"]),
                token_family=family,
            )

    def _create_refresh_token(self, request, refresh_token_code, access_token, previous_refresh_token):
        refresh_token = super()._create_refresh_token(request, refresh_token_code, access_token, previous_refresh_token)
        if previous_refresh_token is None:
            TokenFamily.objects.create(
                id=refresh_token.token_family,
                auth_time=getattr(request, "iam_auth_time", None),
                amr=getattr(request, "iam_amr", None) or [],
                audience=getattr(request, "iam_audience", None) or [],
            )
        return refresh_token

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        valid = super().validate_refresh_token(refresh_token, client, request, *args, **kwargs)
        if valid:
            rt = request.refresh_token_instance
            lifetime = timedelta(seconds=rt.application.effective_refresh_token_lifetime())
            if not request.user.is_active or rt.created + lifetime <= timezone.now():
                return False
            family = TokenFamily.objects.filter(id=request.refresh_token_instance.token_family).first()
            if family is not None:
                request.iam_auth_time, request.iam_amr = family.auth_time, family.amr
                request.iam_family_audience = family.audience
        return valid

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
        IDToken.objects.create(
            user=user,
            scope=" ".join(request.scopes),
            expires=timezone.now() + timedelta(seconds=request.client.effective_id_token_lifetime()),
            jti=id_token["jti"],
            application=request.client,
        )
        return key_store.sign(id_token, alg=request.client.token_signing_alg, typ="JWT")

    def _load_id_token(self, token):
        verified = key_store.verify(token)
        if verified is None:
            return None
        return IDToken.objects.filter(jti=verified[1].get("jti")).first()

    def get_userinfo_claims(self, request):
        return claims_module.user_claims(request.user, request.scopes)

    def validate_silent_login(self, request):
        # The authorization view checks the session before oauthlib sees prompt=none.
        return True

    def validate_silent_authorization(self, request):
        return True

    def validate_user_match(self, id_token_hint, scopes, claims, request):
        return True
