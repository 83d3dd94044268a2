"""OIDC RP-initiated logout 1.0 (end_session_endpoint)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth import logout
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from iam.id_tokens import audiences, verified_id_token
from iam.models import Application


def _refuse(request, message):
    return render(request, "iam/error.html", {"error": message}, status=400)


def _param(request, name):
    return request.POST.get(name) if request.method == "POST" else request.GET.get(name)


@csrf_protect
@never_cache
def end_session(request):
    hint = _param(request, "id_token_hint")
    client_id = _param(request, "client_id")
    post_logout_redirect_uri = _param(request, "post_logout_redirect_uri")
    state = _param(request, "state")

    hint_claims = None
    if hint:
        # Only our ID tokens (an expired one is still a valid hint): an access token, which
        # resource servers hold, must not log its user out or choose the redirect.
        hint_claims = verified_id_token(hint)
        if hint_claims is None:
            return _refuse(request, "The id_token_hint is not an ID token we issued.")
        aud = audiences(hint_claims)
        if client_id and client_id not in aud:
            return _refuse(request, "client_id does not match the id_token_hint.")
        client_id = client_id or (aud[0] if aud else None)

    client = Application.objects.filter(client_id=client_id).first() if client_id else None
    if post_logout_redirect_uri:
        if client is None:
            return _refuse(request, "post_logout_redirect_uri needs client_id or id_token_hint.")
        if not client.post_logout_redirect_uri_allowed(post_logout_redirect_uri):
            return _refuse(request, "post_logout_redirect_uri is not registered for this client.")

    def finish():
        logout(request)
        if post_logout_redirect_uri:
            target = post_logout_redirect_uri
            if state:
                target += ("&" if "?" in target else "?") + urlencode({"state": state})
            return HttpResponseRedirect(target)
        return render(request, "accounts/logged_out.html")

    user = request.user
    if not user.is_authenticated:
        return finish()
    hint_matches = hint_claims is not None and hint_claims.get("sub") == str(user.pk)
    if hint_matches or (request.method == "POST" and request.POST.get("confirm") == "yes"):
        return finish()
    # Without proof that the RP holds this user's ID token, ask: a bare link must not log
    # people out (CSRF).
    return render(
        request,
        "iam/logout_confirm.html",
        {"client": client, "params": {k: v for k, v in {
            "client_id": client_id, "post_logout_redirect_uri": post_logout_redirect_uri, "state": state,
        }.items() if v}},
    )
