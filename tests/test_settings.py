from pathlib import Path

import pytest

from costtracker.errors import ConfigError
from costtracker.settings import Settings, load_settings, normalise_base_url


def test_it_defaults_to_an_sqlite_file_in_the_data_dir() -> None:
    settings = load_settings(_env_file=None)
    assert settings.effective_database_url == "sqlite:///data/costtracker.db"


def test_it_accepts_a_base_url_with_a_trailing_v1_by_habit() -> None:
    assert normalise_base_url("https://api.openai.com/v1/") == "https://api.openai.com"
    assert normalise_base_url("http://127.0.0.1:9001") == "http://127.0.0.1:9001"
    assert normalise_base_url("https://openrouter.ai/api/v1") == "https://openrouter.ai"
    assert normalise_base_url("https://proxy.local/openai/v1") == "https://proxy.local/openai"


def test_it_names_the_setting_of_a_base_url_without_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COSTTRACKER_ANTHROPIC_BASE_URL", "api.anthropic.com")
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert caught.value.setting == "COSTTRACKER_ANTHROPIC_BASE_URL"


def test_it_names_the_setting_of_a_database_url_of_unknown_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COSTTRACKER_DATABASE_URL", "mysql://root@localhost/x")
    with pytest.raises(ConfigError, match="COSTTRACKER_DATABASE_URL"):
        load_settings(_env_file=None)


def test_it_reads_openai_workspaces_from_both_naming_schemes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY_EDUGAMI", "sk-seed-edugami-0000000000")
    monkeypatch.setenv("OPENAI_ADMIN_KEY_MY_LAB", "sk-admin-mylab-000000000000")
    monkeypatch.setenv("OPENAI_API_KEY_MY_LAB", "sk-seed-mylab-loses-0000000")
    monkeypatch.setenv("OPENAI_ADMIN_KEY", "sk-admin-single-0000000000")
    workspaces = Settings(_env_file=None).openai_workspaces()
    assert {name: key.get_secret_value() for name, key in workspaces.items()} == {
        "Edugami": "sk-seed-edugami-0000000000",
        "My Lab": "sk-admin-mylab-000000000000",
        "default": "sk-admin-single-0000000000",
    }


def test_it_reads_a_secret_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "anthropic"
    secret.write_text("sk-ant-admin01-from-file\n")
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY_FILE", str(secret))
    monkeypatch.setenv("OPENAI_ADMIN_KEY_EDUGAMI_FILE", str(secret))
    settings = Settings(_env_file=None)
    assert settings.anthropic_admin_key is not None
    assert settings.anthropic_admin_key.get_secret_value() == "sk-ant-admin01-from-file"
    assert settings.openai_workspaces()["Edugami"].get_secret_value() == "sk-ant-admin01-from-file"


def test_it_reads_a_dotenv_file_and_a_toml_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "REPORT_EMAIL_TO=ceo@example.com\nOPENAI_API_KEY_STORYGAMI=sk-x-000000000\n"
    )
    (tmp_path / "costtracker.toml").write_text('reporting_currency = "EUR"\nlog_level = "DEBUG"\n')
    settings = Settings()
    assert settings.report_email_to == "ceo@example.com"
    assert settings.reporting_currency == "EUR"
    assert "Storygami" in settings.openai_workspaces()


def test_it_never_prints_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESEND_API_KEY", "re_plantedsecret123456")
    settings = Settings(_env_file=None)
    assert "re_plantedsecret123456" not in repr(settings)
    assert "re_plantedsecret123456" not in str(settings.model_dump())
