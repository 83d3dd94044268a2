"""Scopes per client: a client may ask for what it was registered with, no more."""

from oauth2_provider.scopes import BaseScopes

from iam.claims import STANDARD_SCOPES, USER_SCOPES


def default_scopes(client, grant_type: str | None) -> list[str]:
    """RFC 6749 §3.3: with no scope requested, the pre-defined default is everything the client
    is registered for -- except that a client acting for itself gets no user scopes."""
    scopes = list(client.allowed_scopes)
    if grant_type == "client_credentials":
        scopes = [s for s in scopes if s not in USER_SCOPES]
    return scopes


class ClientScopes(BaseScopes):
    def get_all_scopes(self):
        return dict(STANDARD_SCOPES)

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        return list(application.allowed_scopes) if application is not None else list(STANDARD_SCOPES)

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        if application is None:
            return []
        return default_scopes(application, getattr(request, "grant_type", None))

    @staticmethod
    def describe(scope: str) -> str:
        return STANDARD_SCOPES.get(scope, scope)
