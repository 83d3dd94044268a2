"""The authorization endpoint: code flow with PKCE, prompt, max_age and remembered consent."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.views.mixins import OAuthLibMixin

from accounts.views import SESSION_AMR, SESSION_AUTH_TIME
from iam.claims import STANDARD_SCOPES
from iam.conf import config
from iam.models import Application, Consent
from iam.services.consents import remember_consent


def _without_param(full_path: str, name: str, value: str | None = None) -> str:
    """``full_path`` with ``name`` removed (or, with ``value``, only that word removed from it)."""
    parts = urlsplit(full_path)
    pairs = []
    for key, val in parse_qsl(parts.query, keep_blank_values=True):
        if key == name:
            if value is None:
                continue
            words = [w for w in val.split() if w != value]
            if not words:
                continue
            val = " ".join(words)
        pairs.append((key, val))
    return parts.path + ("?" + urlencode(pairs) if pairs else "")


# OAuth 2.0 Multiple Response Type Encoding Practices §2.1 and OAuth 2.0 Form Post Response
# Mode; `query` is the code flow's default.
RESPONSE_MODES = ("query", "fragment", "form_post")


def _response_mode(request) -> str | None:
    mode = request.GET.get("response_mode") or "query"
    return mode if mode in RESPONSE_MODES else None


def _deliver(request, redirect_uri: str, params: list[tuple[str, str]]):
    """Send an authorization response (success or error) to the client's redirect URI in the
    response mode it asked for; an unsupported one gets the default."""
    mode = _response_mode(request) or "query"
    if mode == "form_post":
        # The browser posts the parameters itself, so they never appear in a URL (history,
        # logs, Referer).
        return render(request, "iam/form_post.html", {"action": redirect_uri, "params": params})
    parts = urlsplit(redirect_uri)
    if mode == "fragment":
        return HttpResponseRedirect(urlunsplit(parts._replace(fragment=urlencode(params))))
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)  # the registered query stays verbatim
    return HttpResponseRedirect(urlunsplit(parts._replace(query=query)))


def _error_redirect(request, redirect_uri: str, error: str, state: str | None, description: str | None = None):
    params = [("error", error)]
    if description:
        params.append(("error_description", description))
    if state:
        params.append(("state", state))
    params.append(("iss", config.issuer))  # RFC 9207
    return _deliver(request, redirect_uri, params)


@method_decorator(never_cache, name="dispatch")
class AuthorizeView(OAuthLibMixin, View):
    def get(self, request, *args, **kwargs):
        return self._handle(request)

    def post(self, request, *args, **kwargs):
        return self._handle(request)

    def _error_page(self, request, error, status=400):
        return render(request, "iam/error.html", {"error": error}, status=status)

    def _handle(self, request):
        if not request.GET.get("redirect_uri"):
            # OIDC Core §3.1.2.1 requires it; without it there is nowhere safe to send errors.
            return self._error_page(request, "The redirect_uri parameter is required.")
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            redirect, response = self.error_response(error)
            if redirect and not isinstance(error, FatalClientError):
                return _error_redirect(
                    request, error.oauthlib_error.redirect_uri, error.oauthlib_error.error, error.oauthlib_error.state
                )
            return self._error_page(request, response["error"], status=response["error"].status_code)

        client = Application.objects.get(client_id=credentials["client_id"])
        prompt = set((request.GET.get("prompt") or "").split())
        state = credentials.get("state")
        redirect_uri = credentials["redirect_uri"]
        if _response_mode(request) is None:
            return _error_redirect(request, redirect_uri, "invalid_request", state,
                                   "unsupported response_mode (supported: " + ", ".join(RESPONSE_MODES) + ")")
        # Request objects are not supported (discovery says so); ignoring one would silently
        # drop whatever the client put in it (OIDC Core §6.1, §6.2).
        for name, error in (("request", "request_not_supported"), ("request_uri", "request_uri_not_supported")):
            if request.GET.get(name):
                return _error_redirect(request, redirect_uri, error, state)

        if self._needs_login(request, prompt):
            if "none" in prompt:
                return _error_redirect(request, redirect_uri, "login_required", state)
            # Coming back from the login form satisfies prompt=login and max_age: drop them
            # from the return URL, or a max_age=0 request would loop. The ID token still
            # carries auth_time for the client to check.
            next_url = _without_param(_without_param(request.get_full_path(), "prompt", "login"), "max_age")
            return HttpResponseRedirect("/login/?" + urlencode({"next": next_url, "reauth": "1"}))

        if request.method == "POST":
            if request.POST.get("decision") != "allow":
                return _error_redirect(request, redirect_uri, "access_denied", state)
            if request.POST.get("remember"):
                remember_consent(actor=request.user, user=request.user, application=client, scopes=scopes)
            return self._issue(request, scopes, credentials, client)

        consent = Consent.objects.filter(user=request.user, application=client).first()
        remembered = consent is not None and consent.covers(scopes)
        if client.skip_authorization or (remembered and "consent" not in prompt):
            return self._issue(request, scopes, credentials, client)
        if "none" in prompt:
            return _error_redirect(request, redirect_uri, "consent_required", state)
        context = {
            "client": client,
            "scopes": [(s, STANDARD_SCOPES.get(s, s)) for s in scopes],
            "action": request.get_full_path(),
        }
        return render(request, "iam/consent.html", context)

    def _needs_login(self, request, prompt) -> bool:
        if not request.user.is_authenticated or not request.user.is_active:
            return True
        if "login" in prompt and request.method == "GET":
            return True
        max_age = request.GET.get("max_age")
        if max_age is not None:
            try:
                max_age = int(max_age)
            except ValueError:
                max_age = 0
            auth_time = request.session.get(SESSION_AUTH_TIME, 0)
            if time.time() - auth_time > max_age:
                return True
        return False

    def _issue(self, request, scopes, credentials, client):
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
            return _error_redirect(request, credentials["redirect_uri"], error.oauthlib_error.error,
                                   credentials.get("state"))
        # oauthlib put the response parameters in the fragment (response_mode=fragment) or
        # after the redirect URI's own query; _deliver places them as asked.
        built = urlsplit(uri)
        if built.fragment:
            params = parse_qsl(built.fragment, keep_blank_values=True)
        else:
            registered = parse_qsl(urlsplit(credentials["redirect_uri"]).query, keep_blank_values=True)
            params = parse_qsl(built.query, keep_blank_values=True)[len(registered):]
        return _deliver(request, credentials["redirect_uri"], params)
