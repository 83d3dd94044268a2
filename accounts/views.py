"""Browser login and logout."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from accounts import throttle
from accounts.backends import REQUEST_LOCKED

# Shared with iam.views.authorize (which reads them): when and how the user authenticated.
SESSION_AUTH_TIME = "iam_auth_time"
SESSION_AMR = "iam_amr"


def _safe_next(request, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return settings.LOGIN_REDIRECT_URL


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def login_view(request):
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    reauth = (request.POST.get("reauth") or request.GET.get("reauth")) == "1"
    if request.method == "GET" and request.user.is_authenticated and not reauth:
        return redirect(next_url)
    context = {"next": next_url, "reauth": "1" if reauth else "", "username": ""}
    status = 200
    if request.method == "POST":
        username = (request.POST.get("username") or "").strip()
        password = request.POST.get("password") or ""
        context["username"] = username
        # The backend reserves the attempt before hashing, and marks the request when the
        # account or address is locked (refused now, or this failure used the last try).
        user = authenticate(request, username=username, password=password)
        if user is not None and user.is_active:
            login(request, user)
            request.session[SESSION_AUTH_TIME] = int(time.time())
            request.session[SESSION_AMR] = getattr(request, "iam_amr", ["pwd"])
            return redirect(next_url)
        if getattr(request, REQUEST_LOCKED, False):
            context["error"] = throttle.LOCKED_MESSAGE
            status = 429
        else:
            context["error"] = "The username or password is not correct."
            status = 401
    return render(request, "accounts/login.html", context, status=status)


@csrf_protect
@never_cache
def logout_view(request):
    if request.method == "POST":
        logout(request)
        return render(request, "accounts/logged_out.html")
    return render(request, "accounts/logout.html")


def home(request):
    return render(request, "accounts/home.html")
