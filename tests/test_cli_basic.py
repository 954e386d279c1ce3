"""The CLI skeleton: help, version, config check messages and exit codes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from zilean.cli import main


def run_cli(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zilean", *argv], capture_output=True, text=True, env=env, timeout=60
    )


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> dict[str, str]:
    """An environment without the developer's settings, run from an empty directory (no .env)."""
    import os

    monkeypatch.chdir(tmp_path)
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "SYSTEMROOT"}}
    return keep


def test_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for name in ("run", "version", "config"):
        assert f"    {name}" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.startswith("groovy-zilean ")


def test_config_check_development_without_token_is_not_an_error(clean_env: dict[str, str]) -> None:
    result = run_cli("config", "check", env=clean_env)
    assert result.returncode == 0, result.stderr
    assert "DISCORD_TOKEN is not set (the offline sandbox runs instead)" in result.stdout


def test_config_check_production_names_each_problem(clean_env: dict[str, str]) -> None:
    env = clean_env | {"ENVIRONMENT": "production", "SECRET_KEY": "your_secret_key_here"}
    result = run_cli("config", "check", env=env)
    assert result.returncode == 2
    assert "DISCORD_TOKEN is not set (the bot cannot log in)" in result.stdout
    assert "SECRET_KEY still holds the placeholder" in result.stdout


def test_config_check_bad_database_url(clean_env: dict[str, str]) -> None:
    result = run_cli("config", "check", env=clean_env | {"DATABASE_URL": "mysql://root@localhost/x"})
    assert result.returncode == 2
    assert "DATABASE_URL uses 'mysql'" in result.stdout


def test_malformed_setting_is_one_line_not_a_traceback(clean_env: dict[str, str]) -> None:
    result = run_cli("config", "check", env=clean_env | {"WEB_PORT": "eighty"})
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("zilean: WEB_PORT:")
