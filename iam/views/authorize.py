"""The authorization endpoint: code flow with PKCE, prompt, max_age, id_token_hint and remembered
consent; requests by GET or by POST (OIDC Core §3.1.2.1)."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.core import signing
from django.http import HttpResponseRedirect
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.oauth2.rfc6749 import errors as oauth_errors

from accounts.views import SESSION_AMR, SESSION_AUTH_TIME
from iam.claims import STANDARD_SCOPES
from iam.conf import config
from iam.id_tokens import audiences, verified_id_token
from iam.models import Application, Consent
from iam.services.consents import remember_consent

# OAuth 2.0 Multiple Response Type Encoding Practices §2.1 and OAuth 2.0 Form Post Response
# Mode; `query` is the code flow's default.
RESPONSE_MODES = ("query", "fragment", "form_post")

# When a request sends the user to the login form (no session, prompt=login, max_age, an
# id_token_hint naming someone else), the return URL keeps every parameter, prompt and
# max_age included, and gets this signed one: when the requirement was set, bound to the
# request's other parameters. Only a login at or after that time satisfies the requirement,
# so opening the return URL without signing in again yields no code; dropping the parameter
# only sends the user to the login form again. It is valid for LOGIN_WINDOW seconds. The
# test is the session's auth_time (what the ID token will say) against that time, both in
# whole seconds: a sign-in earlier in the same second as the redirect counts as fresh.
LOGIN_AFTER_PARAM = "iam_login_after"
LOGIN_WINDOW = 15 * 60
_LOGIN_AFTER_SALT = "iam.authorize.login-after"

# error_description for refusals oauthlib raises without one of ours; lower case, no final
# period, like the token endpoint's.
_DESCRIPTION_BY_CLASS = (
    (oauth_errors.MissingResponseTypeError, "the response_type parameter is required"),
    (oauth_errors.MissingCodeChallengeError, "this client must send a PKCE code_challenge (method S256)"),
    (oauth_errors.UnsupportedCodeChallengeMethodError, "code_challenge_method must be S256"),
)
_DESCRIPTION_BY_ERROR = {
    "invalid_request": "the authorization request is malformed",
    "unsupported_response_type": "only the code response type is supported",
    "unauthorized_client": "this client may not use the authorization code grant",
    "invalid_scope": "the requested scope is not allowed for this client",
    "access_denied": "the user denied the request",
    "server_error": "the server could not complete the request",
    "temporarily_unavailable": "the server is temporarily unable to complete the request",
}


def _describe(oauthlib_error) -> str:
    for cls, text in _DESCRIPTION_BY_CLASS:
        if isinstance(oauthlib_error, cls):
            return text
    text = (getattr(oauthlib_error, "description", "") or "").strip().rstrip(".")
    if text:
        return text[0].lower() + text[1:]
    return _DESCRIPTION_BY_ERROR.get(oauthlib_error.error, "the authorization request was refused")


def _pairs(params) -> list[tuple[str, str]]:
    return [(key, value) for key, values in params.lists() for value in values]


def _is_consent_answer(request) -> bool:
    """The consent form posts its decision to the authorization URL (parameters in the query)."""
    return request.method == "POST" and "decision" in request.POST


def _request_params(request):
    """The authorization request's parameters: the query of a GET or of the consent form's
    POST; the form body of a POST authorization request."""
    if request.method == "POST" and not _is_consent_answer(request):
        return request.POST
    return request.GET


def _authorize_url(request, pairs) -> str:
    return request.path + "?" + urlencode(pairs)


def _request_digest(pairs) -> str:
    return hashlib.sha256(json.dumps(sorted(p for p in pairs if p[0] != LOGIN_AFTER_PARAM)).encode()).hexdigest()


def _login_after_marker(pairs) -> str:
    return signing.dumps({"t": int(time.time()), "r": _request_digest(pairs)}, salt=_LOGIN_AFTER_SALT)


def _login_after(params) -> int | None:
    """The time a requirement to sign in again was set for this very request, if it carries a
    valid, unexpired marker."""
    marker = params.get(LOGIN_AFTER_PARAM)
    if not marker:
        return None
    try:
        data = signing.loads(marker, salt=_LOGIN_AFTER_SALT, max_age=LOGIN_WINDOW)
    except signing.BadSignature:  # also SignatureExpired
        return None
    if not isinstance(data, dict) or data.get("r") != _request_digest(_pairs(params)):
        return None
    t = data.get("t")
    return t if isinstance(t, int) and not isinstance(t, bool) else None


def _session_auth_time(request) -> int:
    value = request.session.get(SESSION_AUTH_TIME)
    return value if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _response_mode(params) -> str | None:
    mode = params.get("response_mode") or "query"
    return mode if mode in RESPONSE_MODES else None


def _deliver(request, params, redirect_uri: str, response: list[tuple[str, str]]):
    """Send an authorization response (success or error) to the client's redirect URI in the
    response mode it asked for; an unsupported one gets the default."""
    mode = _response_mode(params) or "query"
    if mode == "form_post":
        # The browser posts the parameters itself, so they never appear in a URL (history,
        # logs, Referer).
        return render(request, "iam/form_post.html", {"action": redirect_uri, "params": response})
    parts = urlsplit(redirect_uri)
    if mode == "fragment":
        return HttpResponseRedirect(urlunsplit(parts._replace(fragment=urlencode(response))))
    query = "&".join(q for q in (parts.query, urlencode(response)) if q)  # the registered query stays verbatim
    return HttpResponseRedirect(urlunsplit(parts._replace(query=query)))


def _error_redirect(request, params, redirect_uri: str, error: str, state: str | None, description: str):
    response = [("error", error), ("error_description", description)]
    if state:
        response.append(("state", state))
    response.append(("iss", config.issuer))  # RFC 9207
    return _deliver(request, params, redirect_uri, response)


def _csrf_refusal(request):
    """CSRF check for the consent answer, a state-changing form post; the view itself is
    exempt so that clients can POST authorization requests to it."""
    return CsrfViewMiddleware(lambda _request: None).process_view(request, None, (), {})


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(never_cache, name="dispatch")
class AuthorizeView(OAuthLibMixin, View):
    def get(self, request, *args, **kwargs):
        return self._handle(request)

    def post(self, request, *args, **kwargs):
        return self._handle(request)

    def _error_page(self, request, error, status=400):
        return render(request, "iam/error.html", {"error": error}, status=status)

    def _handle(self, request):
        consent_answer = _is_consent_answer(request)
        if consent_answer:
            refusal = _csrf_refusal(request)
            if refusal is not None:
                return refusal
        elif request.method == "POST" and request.META.get("QUERY_STRING"):
            # oauthlib would read both; which one counts must not be a guess.
            return self._error_page(
                request, "A POST authorization request carries its parameters in the form body, not in the URL."
            )
        params = _request_params(request)
        if not params.get("redirect_uri"):
            # OIDC Core §3.1.2.1 requires it; without it there is nowhere safe to send errors.
            return self._error_page(request, "The redirect_uri parameter is required.")
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            redirect, response = self.error_response(error)
            if redirect and not isinstance(error, FatalClientError):
                oauthlib_error = error.oauthlib_error
                return _error_redirect(request, params, oauthlib_error.redirect_uri, oauthlib_error.error,
                                       oauthlib_error.state, _describe(oauthlib_error))
            return self._error_page(request, response["error"], status=response["error"].status_code)

        client = Application.objects.get(client_id=credentials["client_id"])
        prompt = set((params.get("prompt") or "").split())
        state = credentials.get("state")
        redirect_uri = credentials["redirect_uri"]

        def refuse(error, description):
            return _error_redirect(request, params, redirect_uri, error, state, description)

        if _response_mode(params) is None:
            return refuse("invalid_request", "unsupported response_mode (supported: " + ", ".join(RESPONSE_MODES) + ")")
        # Request objects are not supported (discovery says so); ignoring one would silently
        # drop whatever the client put in it (OIDC Core §6.1, §6.2).
        if params.get("request"):
            return refuse("request_not_supported", "the request parameter is not supported")
        if params.get("request_uri"):
            return refuse("request_uri_not_supported", "the request_uri parameter is not supported")
        hint = None
        if params.get("id_token_hint"):
            hint = verified_id_token(params["id_token_hint"])
            if hint is None:
                return refuse("invalid_request", "the id_token_hint is not an ID token issued by this server")
            if client.client_id not in audiences(hint):
                return refuse("invalid_request", "the id_token_hint was not issued to this client")

        if request.method == "POST" and not consent_answer and not request.user.is_authenticated:
            # A cross-site POST carries no SameSite=Lax session cookie: ask again by GET (303),
            # which does, before deciding the user is not signed in.
            see_other = HttpResponseRedirect(_authorize_url(request, _pairs(params)))
            see_other.status_code = 303
            return see_other

        # Signed in at or after the time this request sent the user to the login form.
        login_after = _login_after(params)
        fresh = (login_after is not None and request.user.is_authenticated
                 and _session_auth_time(request) >= login_after)
        why = self._login_needed(request, params, prompt, fresh)
        if why is None and hint is not None and hint["sub"] != str(request.user.pk):
            if fresh:
                # They signed in again, as someone else: OIDC Core §3.1.2.1 (id_token_hint).
                return refuse("login_required", "the signed-in user is not the one the id_token_hint names")
            why = "the signed-in user is not the one the id_token_hint names"
        if why is not None:
            if "none" in prompt:
                return refuse("login_required", why)
            return self._send_to_login(request, params)

        if consent_answer:
            if request.POST.get("decision") != "allow":
                return refuse("access_denied", "the user denied the request")
            if request.POST.get("remember"):
                remember_consent(actor=request.user, user=request.user, application=client, scopes=scopes)
            return self._issue(request, params, scopes, credentials, client)

        consent = Consent.objects.filter(user=request.user, application=client).first()
        remembered = consent is not None and consent.covers(scopes)
        if client.skip_authorization or (remembered and "consent" not in prompt):
            return self._issue(request, params, scopes, credentials, client)
        if "none" in prompt:
            return refuse("consent_required", "the user has not allowed this client the requested scope")
        context = {
            "client": client,
            "scopes": [(s, STANDARD_SCOPES.get(s, s)) for s in scopes],
            # A POST request's parameters too: the consent answer carries them in the query.
            "action": _authorize_url(request, _pairs(params)),
        }
        return render(request, "iam/consent.html", context)

    @staticmethod
    def _login_needed(request, params, prompt, fresh) -> str | None:
        """Why the user must sign in (again) before this request gets a code, or None."""
        if not request.user.is_authenticated or not request.user.is_active:
            return "the user is not signed in"
        if fresh:
            return None  # prompt=login and max_age are met by the login this request asked for
        if "login" in prompt:
            return "prompt=login asks for a new sign-in"
        max_age = params.get("max_age")
        if max_age is not None:
            try:
                max_age = int(max_age)
            except ValueError:
                max_age = 0
            if time.time() - _session_auth_time(request) > max_age:
                return "the last sign-in is older than max_age allows"
        return None

    @staticmethod
    def _send_to_login(request, params):
        pairs = [pair for pair in _pairs(params) if pair[0] != LOGIN_AFTER_PARAM]
        pairs.append((LOGIN_AFTER_PARAM, _login_after_marker(pairs)))
        next_url = _authorize_url(request, pairs)
        return HttpResponseRedirect("/login/?" + urlencode({"next": next_url, "reauth": "1"}))

    def _issue(self, request, params, scopes, credentials, client):
        auth_time = request.session.get(SESSION_AUTH_TIME)
        credentials["iam_auth_time"] = (
            datetime.fromtimestamp(auth_time, tz=UTC) if auth_time else request.user.last_login
        )
        credentials["iam_amr"] = request.session.get(SESSION_AMR, [])
        try:
            uri, _headers, _body, _status = self.create_authorization_response(
                request=request, scopes=" ".join(scopes), credentials=credentials, allow=True
            )
        except OAuthToolkitError as error:
            if isinstance(error, FatalClientError):
                return self._error_page(request, error.oauthlib_error)
            return _error_redirect(request, params, credentials["redirect_uri"], error.oauthlib_error.error,
                                   credentials.get("state"), _describe(error.oauthlib_error))
        # oauthlib put the response parameters in the fragment (response_mode=fragment) or
        # after the redirect URI's own query; _deliver places them as asked.
        built = urlsplit(uri)
        if built.fragment:
            response = parse_qsl(built.fragment, keep_blank_values=True)
        else:
            registered = parse_qsl(urlsplit(credentials["redirect_uri"]).query, keep_blank_values=True)
            response = parse_qsl(built.query, keep_blank_values=True)[len(registered):]
        return _deliver(request, params, credentials["redirect_uri"], response)
