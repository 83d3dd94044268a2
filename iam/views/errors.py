"""Error pages in the site layout (templates/404.html, templates/500.html).

Django's own 404 view renders templates/404.html with the request context. A 500 page must
render whatever failed (the database, the session, a context processor), so it gets a plain
context with the organisation name from the configuration and nothing else."""

from django.http import HttpResponseServerError
from django.template import loader

from iam.conf import config


def server_error(request):
    body = loader.get_template("500.html").render({"organisation_name": config.organisation_name})
    return HttpResponseServerError(body)
