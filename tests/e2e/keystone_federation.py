"""A loopback stand-in for Keystone's OS-FEDERATION auth endpoint.

Like Keystone behind mod_auth_openidc (``AuthType oauth20`` with introspection), it takes the
bearer token, asks IAM's introspection endpoint as a resource server, and answers with an
unscoped Keystone token (``X-Subject-Token`` header, v3 token body) or 401.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

PATH = re.compile(r"^/v3/OS-FEDERATION/identity_providers/([^/]+)/protocols/([^/]+)/auth$")


class KeystoneStandIn:
    def __init__(self, introspection_endpoint: str, client_id: str, client_secret: str):
        self.introspection_endpoint = introspection_endpoint
        self.credentials = (client_id, client_secret)
        self.seen: list[dict] = []  # introspection results, in order
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                standin._handle(self)

            do_GET = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v3"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def _reply(self, handler, status, body, headers=None):
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _handle(self, handler):
        length = int(handler.headers.get("Content-Length") or 0)
        if length:
            handler.rfile.read(length)
        match = PATH.match(handler.path)
        if not match:
            return self._reply(handler, 404, {"error": {"code": 404, "message": "not found"}})
        auth = handler.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return self._reply(handler, 401, {"error": {"code": 401, "message": "no bearer token"}})
        r = httpx.post(self.introspection_endpoint, data={"token": auth[7:]}, auth=self.credentials, timeout=10)
        claims = r.json() if r.status_code == 200 else {"active": False}
        self.seen.append(claims)
        if not claims.get("active"):
            return self._reply(handler, 401, {"error": {"code": 401, "message": "The request you have made "
                                                                          "requires authentication."}})
        now = datetime.now(UTC)
        user_id = claims.get("sub")
        body = {"token": {
            "methods": ["openid"],
            "user": {
                "id": user_id,
                "name": claims.get("preferred_username") or claims.get("username") or user_id,
                "domain": {"id": "Federated", "name": "Federated"},
                "OS-FEDERATION": {
                    "identity_provider": {"id": match.group(1)},
                    "protocol": {"id": match.group(2)},
                    "groups": [{"id": g} for g in claims.get("groups", [])],
                },
            },
            "issued_at": now.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
            "expires_at": (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
            "audit_ids": [secrets.token_urlsafe(16)],
        }}
        return self._reply(handler, 201, body, {"X-Subject-Token": "ks-" + secrets.token_hex(16)})
