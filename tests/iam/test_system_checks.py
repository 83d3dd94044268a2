"""Configuration: one typed object from the environment; unsafe production settings refused."""

import dataclasses

import pytest

from iam import checks, conf


def test_config_reads_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("IAM_VAR_DIR", str(tmp_path))
    cfg = conf.load({"IAM_ISSUER": "https://iam.example.org/", "DATABASE_URL": "postgres://u@h:5432/d",
                     "SECRET_KEY": "s" * 50, "IAM_ORGANISATION_NAME": "Lab",
                     "IAM_TRUSTED_PROXY_CIDRS": "10.0.0.0/8, 127.0.0.1/32"})
    assert cfg.issuer == "https://iam.example.org"  # no trailing slash
    assert cfg.database_url == "postgres://u@h:5432/d" and cfg.secret_key == "s" * 50
    assert cfg.organisation_name == "Lab" and len(cfg.trusted_proxy_cidrs) == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.issuer = "x"


def test_first_run_needs_no_configuration_and_keeps_its_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("IAM_VAR_DIR", str(tmp_path))
    first = conf.load({})
    second = conf.load({})
    assert first.issuer == "http://127.0.0.1:8000"
    assert first.database_url == f"sqlite:///{tmp_path / 'iam.sqlite3'}"
    assert first.secret_key_generated and first.secret_key == second.secret_key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0  # not readable by others


def _problems(monkeypatch, tmp_path, **env):
    monkeypatch.setenv("IAM_VAR_DIR", str(tmp_path))
    cfg = conf.load({"SECRET_KEY": "k" * 50, **env})
    monkeypatch.setattr(checks, "config", cfg)
    return {m.id for m in checks.production_settings(None) if m.is_serious()}


def test_non_https_public_issuer_is_refused(monkeypatch, tmp_path):
    assert "iam.E001" in _problems(monkeypatch, tmp_path, IAM_ISSUER="http://iam.example.org")
    assert "iam.E001" not in _problems(monkeypatch, tmp_path, IAM_ISSUER="https://iam.example.org")
    assert "iam.E001" not in _problems(monkeypatch, tmp_path, IAM_ISSUER="http://127.0.0.1:8000")


def test_debug_with_public_issuer_is_refused(monkeypatch, tmp_path, settings):
    settings.DEBUG = True
    assert "iam.E002" in _problems(monkeypatch, tmp_path, IAM_ISSUER="https://iam.example.org")
    assert "iam.E002" not in _problems(monkeypatch, tmp_path, IAM_ISSUER="http://127.0.0.1:8000")


def _key_made_under_another_secret_key():
    from django.test import override_settings

    from iam.models import SigningKey
    from tests.factories import make_signing_key

    with override_settings(SECRET_KEY="another host's generated secret key, 50 chars long"):
        key = make_signing_key("ES256")
    SigningKey.objects.filter(pk=key.pk).update(kid="other-host")
    return key


@pytest.mark.django_db
def test_missing_signing_key_is_no_problem_for_the_checks_it_is_made_at_first_use(monkeypatch, tmp_path):
    from iam.models import SigningKey

    assert not SigningKey.objects.exists()
    assert checks.signing_key_present(None) == []
    monkeypatch.setenv("IAM_VAR_DIR", str(tmp_path))
    monkeypatch.setattr(checks, "config", conf.load({"SECRET_KEY": "k" * 50, "IAM_ISSUER": "https://iam.example.org"}))
    assert checks.signing_key_present(None) == []


@pytest.mark.django_db
def test_signing_key_this_host_cannot_decrypt_is_refused(signing_key):
    assert checks.signing_key_present(None) == []
    _key_made_under_another_secret_key()
    (problem,) = checks.signing_key_present(None)
    assert problem.id == "iam.E003" and problem.is_serious()
    assert "other-host (ES256)" in problem.msg and "SECRET_KEY" in problem.msg


def test_secret_key_from_environment_is_used_and_nothing_is_generated(tmp_path, monkeypatch):
    monkeypatch.setenv("IAM_VAR_DIR", str(tmp_path))
    cfg = conf.load({"SECRET_KEY": "from-the-environment-" * 3})
    assert cfg.secret_key == "from-the-environment-" * 3 and not cfg.secret_key_generated
    assert not (tmp_path / "secret_key").exists()


def test_generated_secret_key_file_is_reused_not_overwritten(tmp_path, monkeypatch):
    monkeypatch.setenv("IAM_VAR_DIR", str(tmp_path))
    (tmp_path / "secret_key").write_text("kept-from-an-earlier-run\n")
    assert conf.load({}).secret_key == "kept-from-an-earlier-run"


def test_optional_settings_default_to_unset(tmp_path, monkeypatch):
    monkeypatch.setenv("IAM_VAR_DIR", str(tmp_path))
    cfg = conf.load({"SECRET_KEY": "k" * 50})
    assert cfg.redis_url is None and cfg.email_url is None and cfg.trusted_proxy_cidrs == ()
    assert cfg.organisation_name == "IAM" and cfg.debug is False
    cfg = conf.load({"SECRET_KEY": "k" * 50, "REDIS_URL": "redis://127.0.0.1:6379/0",
                     "EMAIL_URL": "smtp://mail:25", "IAM_DEBUG": "1"})
    assert cfg.redis_url == "redis://127.0.0.1:6379/0" and cfg.email_url == "smtp://mail:25" and cfg.debug


def _deploy_check_ids(monkeypatch, tmp_path, **env):
    from django.core.checks import run_checks

    monkeypatch.setenv("IAM_VAR_DIR", str(tmp_path))
    monkeypatch.setattr(checks, "config", conf.load({"SECRET_KEY": "k" * 50, **env}))
    return {m.id for m in run_checks(include_deployment_checks=True) if m.id and m.id.startswith("iam.")}


@pytest.mark.django_db
def test_deployment_checks_refuse_unsafe_production_config(monkeypatch, tmp_path, settings):
    assert "iam.E001" in _deploy_check_ids(monkeypatch, tmp_path, IAM_ISSUER="http://iam.example.org")
    settings.DEBUG = True
    assert "iam.E002" in _deploy_check_ids(monkeypatch, tmp_path, IAM_ISSUER="https://iam.example.org")
    settings.DEBUG = False
    _key_made_under_another_secret_key()
    assert "iam.E003" in _deploy_check_ids(monkeypatch, tmp_path, IAM_ISSUER="https://iam.example.org")


@pytest.mark.django_db
def test_safe_production_config_passes_deployment_checks(monkeypatch, tmp_path, settings, signing_key):
    settings.DEBUG = False
    assert _deploy_check_ids(monkeypatch, tmp_path, IAM_ISSUER="https://iam.example.org") == set()


@pytest.mark.django_db
def test_wsgi_refuses_to_serve_unsafe_configuration(monkeypatch, tmp_path):
    import importlib
    import sys

    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setenv("IAM_VAR_DIR", str(tmp_path))
    monkeypatch.setattr(checks, "config", conf.load({"SECRET_KEY": "k" * 50, "IAM_ISSUER": "http://iam.example.org"}))
    monkeypatch.delitem(sys.modules, "iam.wsgi", raising=False)
    with pytest.raises(ImproperlyConfigured, match="iam.E001"):
        importlib.import_module("iam.wsgi")
