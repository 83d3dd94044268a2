from iam.conf import config


def organisation(request):
    return {"organisation_name": config.organisation_name}
