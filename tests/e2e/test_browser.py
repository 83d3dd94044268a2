"""A real browser (Debian's Chromium driven by Playwright) through login, consent and back to
the client, in the query and form_post response modes, with the Content-Security-Policy
enforced: the pages must work without inline code, and the browser must report no
violation."""

from __future__ import annotations

import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt

from tests.e2e.oidc import PASSWORD, auth_url, unique

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class Portal:
    """The client's redirect URI: a loopback web server that records what arrives."""

    def __init__(self):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def _record(self, body: str):
                if urlsplit(self.path).path == "/cb":  # not the browser's /favicon.ico
                    received.append((self.command, urlsplit(self.path).query, body))
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(b"<!doctype html><title>portal</title><p>signed in</p>")

            def do_GET(self):
                self._record("")

            def do_POST(self):
                self._record(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.redirect_uri = f"http://127.0.0.1:{self.server.server_address[1]}/cb"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def chromium():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def portal_site():
    site = Portal()
    yield site
    site.close()


def sign_in_and_allow(chromium, url, username):
    """Open the authorization URL, sign in on the form, press Allow; returns CSP reports."""
    context = chromium.new_context()
    page = context.new_page()
    violations = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.goto(url)
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    assert page.locator("link[rel=stylesheet]").count() == 1
    # The stylesheet applied: the page is styled although it carries no inline style.
    assert page.evaluate("getComputedStyle(document.body).maxWidth") != "none"
    page.click("button[value=allow]")
    page.wait_for_url(lambda u: u.startswith("http://127.0.0.1") and "/cb" in u, timeout=10_000)
    page.wait_for_load_state()
    context.close()
    return violations


def _client(deployment, redirect_uri):
    return deployment.create_client(unique("browser"), "--redirect-uri", redirect_uri,
                                    "--grant-type", "authorization_code")


def _redeem(meta, client, redirect_uri, code, verifier):
    r = httpx.post(meta["token_endpoint"], data={"grant_type": "authorization_code", "code": code,
                                                  "redirect_uri": redirect_uri, "code_verifier": verifier},
                   auth=(client["client_id"], client["client_secret"]))
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("response_mode", ["query", "form_post"])
def test_browser_signs_in_consents_and_returns_to_the_client(deployment, meta, jwks, chromium, portal_site,
                                                             response_mode):
    user = unique("web")
    deployment.create_user(user, PASSWORD)
    client = _client(deployment, portal_site.redirect_uri)
    url, verifier, state = auth_url(meta, client, response_mode=response_mode, redirect_uri=portal_site.redirect_uri)
    violations = sign_in_and_allow(chromium, url, user)
    assert violations == []
    (method, query, body), = portal_site.received
    assert method == ("POST" if response_mode == "form_post" else "GET")
    params = {k: v[0] for k, v in parse_qs(body if method == "POST" else query).items()}
    assert params["state"] == state and params["iss"] == deployment.issuer
    tokens = _redeem(meta, client, portal_site.redirect_uri, params["code"], verifier)
    assert jwt.decode(tokens["id_token"], jwks).claims["aud"] == client["client_id"]
