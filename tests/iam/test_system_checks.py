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


@pytest.mark.django_db
def test_missing_signing_key_is_reported(signing_key):
    from iam.models import SigningKey

    assert checks.signing_key_present(None) == []
    SigningKey.objects.all().delete()
    assert [m.id for m in checks.signing_key_present(None)] == ["iam.W002"]
