"""oidc-agent (the WLCG command-line client) against the real server.

oidc-agent keeps one refresh token per account and stores every rotated one. `oidc-token -s
SCOPE` down-scopes by refreshing with a narrower scope, so if that shrank the new refresh
token's scope, the account could never again get the scope it was created with (RFC 6749 §6:
the new refresh token's scope is the old one's).
"""

from __future__ import annotations

import pytest
from joserfc import jwt

from tests.e2e.oidc import PASSWORD, unique
from tests.e2e.oidc_agent import OidcAgent, missing_binaries
from tests.e2e.test_flows import DEVICE_GRANT, approve_device

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(bool(missing_binaries()),
                       reason=f"oidc-agent not installed ({', '.join(missing_binaries())} missing; "
                              "apt-get install oidc-agent-cli)"),
]

FULL_SCOPE = "openid profile email offline_access"


@pytest.fixture
def agent():
    a = OidcAgent()
    yield a
    a.close()


def scope_of(jwks, access_token: str) -> set[str]:
    return set(jwt.decode(access_token, jwks).claims["scope"].split())


def test_down_scoped_oidc_token_leaves_the_account_its_full_scope(deployment, jwks, agent):
    user = unique("wlcg")
    deployment.create_user(user, PASSWORD)
    client = deployment.create_client(unique("oidc-agent"), "--grant-type", DEVICE_GRANT,
                                      "--grant-type", "refresh_token",
                                      *[arg for s in FULL_SCOPE.split() for arg in ("--scope", s)])
    agent.generate_device("iam", issuer=deployment.issuer, client=client, scope=FULL_SCOPE,
                          approve=lambda user_code: approve_device(deployment, user, user_code))

    def token(*scopes: str) -> set[str]:
        r = agent.token("iam", *scopes)
        assert r.returncode == 0, f"oidc-token {scopes} failed: {r.stdout}{r.stderr}\n{agent.log()[-2000:]}"
        return scope_of(jwks, r.stdout.strip())

    # Down-scoping refreshes with scope=openid; oidc-agent stores the rotated refresh token.
    assert token("openid") == {"openid"}
    # With that refresh token, the account's full scope and any other subset are still there.
    assert token() == set(FULL_SCOPE.split())
    assert token("openid email") == {"openid", "email"}
    assert token("openid profile") == {"openid", "profile"}
    assert token() == set(FULL_SCOPE.split())
