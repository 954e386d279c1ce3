"""Database passwords are never shown: `config check` and error messages (log lines: test_logs.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from zilean.core.redact import redact_url, redact_urls
from zilean.db.engine import parse_url
from zilean.db.errors import DatabaseError

SECRET = "S3cr3t-Pw"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (f"postgresql+asyncpg://groovy:{SECRET}@db.internal:5432/zilean",
         "postgresql+asyncpg://groovy:***@db.internal:5432/zilean"),
        (f"postgresql://u:{SECRET}@with@at@host/db", "postgresql://u:***@host/db"),
        (f"postgresql://:{SECRET}@host/db", "postgresql://:***@host/db"),
        (f"first postgresql://a:{SECRET}@h1/x then redis://b:{SECRET}@h2:6379 ok",
         "first postgresql://a:***@h1/x then redis://b:***@h2:6379 ok"),
        ("postgresql://groovy@host/db", "postgresql://groovy@host/db"),  # no password: unchanged
        ("sqlite+aiosqlite:///./data/zilean.db", "sqlite+aiosqlite:///./data/zilean.db"),
    ],
)  # fmt: skip
def test_redact_urls_hides_every_password(text: str, shown: str) -> None:
    assert redact_urls(text) == shown
    assert SECRET not in redact_urls(text)


@pytest.mark.parametrize(
    "malformed",
    [f"postgresql+asyncpg//groovy:{SECRET}@db/x", f"groovy:{SECRET}@db/x", f"postgres:/groovy:{SECRET}@db"],
)
def test_a_malformed_url_keeps_only_what_follows_the_at_sign(malformed: str) -> None:
    shown = redact_url(malformed)
    assert SECRET not in shown and shown.endswith("@" + malformed.rsplit("@", 1)[1])


def test_parse_url_errors_do_not_echo_the_password() -> None:
    with pytest.raises(DatabaseError) as caught:
        parse_url(f"postgresql+asyncpg//groovy:{SECRET}@db/x")
    assert SECRET not in str(caught.value) and "db/x" in str(caught.value)


def _config_check(tmp_path: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "zilean", "config", "check"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60, check=False,
    )  # fmt: skip


def test_config_check_shows_the_database_without_its_password(tmp_path: Path) -> None:
    result = _config_check(tmp_path, f"postgresql+asyncpg://groovy:{SECRET}@db.internal/zilean")
    assert SECRET not in result.stdout + result.stderr
    assert "database:    postgresql+asyncpg://groovy:***@db.internal/zilean" in result.stdout


def test_config_check_of_a_malformed_url_does_not_echo_the_password(tmp_path: Path) -> None:
    result = _config_check(tmp_path, f"postgresql+asyncpg//groovy:{SECRET}@db.internal/zilean")
    assert result.returncode == 2
    assert SECRET not in result.stdout + result.stderr
    assert "is not a database URL" in result.stdout
