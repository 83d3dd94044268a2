import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iam.settings")

application = get_wsgi_application()


def _refuse_unsafe_configuration() -> None:
    """A server started with an unsafe production configuration must not serve at all."""
    from django.core.exceptions import ImproperlyConfigured

    from iam.checks import production_settings, signing_key_present

    errors = [m for m in production_settings(None) + signing_key_present(None) if m.is_serious()]
    if errors:
        raise ImproperlyConfigured("; ".join(f"{e.id}: {e.msg}" for e in errors))


_refuse_unsafe_configuration()
