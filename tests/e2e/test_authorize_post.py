"""A relying party on another site sends its authorization request by form POST (OIDC Core
§3.1.2.1) to a person already signed in, in a real browser (Debian's Chromium). The session
cookie is SameSite=Lax, so the cross-site POST itself arrives without it: IAM must answer
with the code all the same, without asking the person to sign in again."""

from __future__ import annotations

import html
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.e2e.oidc import PASSWORD, auth_url, unique
from tests.e2e.test_browser import chromium  # noqa: F401  (fixture)

pytestmark = pytest.mark.e2e


class RelyingParty:
    """A loopback web site: /start serves the auto-built POST form, /cb records the answer."""

    def __init__(self):
        self.form: dict[str, str] = {}
        self.action = ""
        self.received: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                path = urlsplit(self.path)
                if path.path == "/cb":
                    site.received.append(path.query)
                    body = "<!doctype html><title>rp</title><p>back</p>"
                else:
                    fields = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                                     for k, v in site.form.items())
                    body = (f'<!doctype html><title>rp</title><form method="post" action="{site.action}">'
                            f'{fields}<button type="submit" id="go">Sign in with IAM</button></form>')
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def rp():
    site = RelyingParty()
    yield site
    site.close()


def test_cross_site_post_authorization_request_reaches_the_signed_in_user(deployment, meta, chromium, rp):  # noqa: F811
    # The RP is at http://localhost:PORT, IAM at http://127.0.0.1:PORT: another site.
    redirect_uri = f"http://localhost:{rp.port}/cb"
    user = unique("post")
    deployment.create_user(user, PASSWORD)
    client = deployment.create_client(unique("postrp"), "--redirect-uri", redirect_uri,
                                      "--grant-type", "authorization_code")
    context = chromium.new_context()
    page = context.new_page()
    try:
        # Signed in once, consent remembered, through the ordinary GET request.
        page.goto(auth_url(meta, client, scope="openid", redirect_uri=redirect_uri)[0])
        page.fill("#id_username", user)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.click("button[value=allow]")
        page.wait_for_url(lambda u: u.startswith(redirect_uri), timeout=10_000)
        assert "code" in parse_qs(rp.received[-1])

        url, _verifier, state = auth_url(meta, client, scope="openid", redirect_uri=redirect_uri)
        rp.action = meta["authorization_endpoint"]
        rp.form = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        page.goto(f"http://localhost:{rp.port}/start")
        page.click("#go")
        page.wait_for_url(lambda u: u.startswith(redirect_uri), timeout=10_000)
        answer = parse_qs(rp.received[-1])
        assert answer["state"] == [state] and "code" in answer, answer
    finally:
        context.close()
