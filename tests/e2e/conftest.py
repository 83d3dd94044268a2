import httpx
import pytest
from joserfc.jwk import KeySet

from tests.e2e.oidc import PASSWORD, REDIRECT, portal, unique
from tests.e2e.server import Deployment


@pytest.fixture(scope="session")
def deployment():
    """One running IAM (python -m iam.serve: granian, 2 workers) for the whole e2e session."""
    dep = Deployment()
    dep.url = dep.start_server()
    yield dep
    dep.close()


@pytest.fixture(scope="module")
def meta(deployment):
    """The discovery document."""
    return httpx.get(deployment.url + "/.well-known/openid-configuration").json()


@pytest.fixture(scope="module")
def jwks(meta):
    return KeySet.import_key_set(httpx.get(meta["jwks_uri"]).json())


@pytest.fixture(scope="module")
def resource_server(deployment):
    """A client that may introspect any token (createclient --introspection)."""
    return deployment.create_client(unique("rs"), "--grant-type", "client_credentials", "--introspection")


# Every CLI call costs a Django start-up: share what a rule does not depend on.
@pytest.fixture(scope="module")
def shared_user(deployment):
    """A user (password PASSWORD) for rules that do not depend on the user's own state."""
    name = unique("shared")
    deployment.create_user(name, PASSWORD)
    return name


@pytest.fixture(scope="module")
def shared_portal(deployment):
    """A confidential client for rules that leave no state behind in the client."""
    return portal(deployment)


@pytest.fixture(scope="module")
def spa(deployment):
    """A public client (PKCE required)."""
    return deployment.create_client(unique("spa"), "--public", "--redirect-uri", REDIRECT,
                                    "--grant-type", "authorization_code")
