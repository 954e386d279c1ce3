"""Settings: defaults, parsing, secrets never shown, and .env.example documenting every field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from zilean.config import Settings
from zilean.config_check import problems

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env from the developer's checkout
    for name in list(Settings.model_fields):
        monkeypatch.delenv(name.upper(), raising=False)


def test_defaults_match_the_spec() -> None:
    settings = Settings()
    assert settings.command_prefix == "="
    assert settings.database_url == "sqlite+aiosqlite:///./data/zilean.db"
    assert settings.discord_api_base == "https://discord.com/api/v10"
    assert settings.playlist_limit == 500


def test_trusted_origins_are_split_and_normalised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTED_MEDIA_ORIGINS", "http://10.0.0.5:8080/, https://cdn.example.org")
    assert Settings().trusted_media_origins == ["http://10.0.0.5:8080", "https://cdn.example.org"]


def test_secrets_are_not_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "MTIzNDU2.real.token")
    monkeypatch.setenv("SECRET_KEY", "s3cr3t-value-that-is-long-enough-to-pass-the-check")
    settings = Settings()
    assert "MTIzNDU2" not in repr(settings) and "s3cr3t" not in repr(settings)
    assert settings.discord_token is not None
    assert settings.discord_token.get_secret_value() == "MTIzNDU2.real.token"


def test_a_complete_production_config_has_no_problems(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("DISCORD_TOKEN", "MTIzNDU2.real.token")
    monkeypatch.setenv("DISCORD_CLIENT_ID", "123456")
    monkeypatch.setenv("DISCORD_CLIENT_SECRET", "a-real-client-secret")
    monkeypatch.setenv("SECRET_KEY", "Zq8v-k3y" * 6)
    monkeypatch.setenv("WEB_BASE_URL", "https://music.example.org")
    monkeypatch.setenv("DATABASE_URL", "postgresql://groovy:pw@localhost/groovy_zilean")
    assert problems(Settings()) == []


def test_env_example_documents_every_setting() -> None:
    documented = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert {name.upper() for name in Settings.model_fields} == documented


def test_production_needs_the_oauth_secret_and_a_known_limiter_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("DISCORD_TOKEN", "MTIzNDU2.real.token")
    monkeypatch.setenv("DISCORD_CLIENT_ID", "123456")
    monkeypatch.setenv("SECRET_KEY", "Zq8v-k3y" * 6)
    monkeypatch.setenv("WEB_BASE_URL", "https://music.example.org")
    monkeypatch.setenv("RATE_LIMIT_STORAGE_URL", "memcached://x")
    found = problems(Settings(_env_file=None))  # type: ignore[call-arg]
    assert any(p.startswith("DISCORD_CLIENT_SECRET is not set") for p in found)
    assert any(p.startswith("RATE_LIMIT_STORAGE_URL") for p in found)


def test_metrics_settings_parse_and_refuse_what_is_not_an_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METRICS_PORT", "")
    monkeypatch.setenv("METRICS_TOKEN", "")
    monkeypatch.setenv("METRICS_ALLOW_IPS", "10.0.0.0/8, ::1")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.metrics_port is None and settings.metrics_token is None
    assert settings.metrics_allow_ips == ["10.0.0.0/8", "::1"]
    monkeypatch.setenv("METRICS_ALLOW_IPS", "localhost")
    with pytest.raises(ValidationError, match="not an IP address or network"):
        Settings(_env_file=None)  # type: ignore[call-arg]
