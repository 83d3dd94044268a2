import pytest

from tests.e2e.server import Deployment


@pytest.fixture(scope="session")
def deployment():
    """One running IAM (gunicorn, 2 workers) for the whole e2e session."""
    dep = Deployment()
    dep.url = dep.start_server()
    yield dep
    dep.close()
