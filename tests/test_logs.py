"""Logging: the guild id on every line of guild work, a rotating file, and a clear error for a bad LOG_DIR."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from logging.handlers import RotatingFileHandler
from pathlib import Path

import pytest

from zilean.core.errors import ConfigError
from zilean.core.logctx import guild_context
from zilean.logs import setup_logging


@pytest.fixture
def restore_root_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in saved_handlers:
        root.addHandler(handler)
    root.setLevel(saved_level)


def test_lines_carry_the_guild_id(tmp_path: Path, restore_root_logging: None) -> None:
    setup_logging(tmp_path, "INFO")
    log = logging.getLogger("zilean.test")
    with guild_context(1234567890123):
        log.info("now playing")
    log.info("outside")
    for handler in logging.getLogger().handlers:
        handler.flush()
    lines = (tmp_path / "zilean.log").read_text().splitlines()
    assert "[guild=1234567890123] now playing" in lines[-2]
    assert "[guild=-] outside" in lines[-1]


def test_file_handler_rotates_at_10_mb_keeping_5(tmp_path: Path, restore_root_logging: None) -> None:
    setup_logging(tmp_path, "INFO")
    rotating = [h for h in logging.getLogger().handlers if isinstance(h, RotatingFileHandler)]
    assert [(h.maxBytes, h.backupCount) for h in rotating] == [(10_000_000, 5)]


def test_log_dir_that_is_a_file_is_a_config_error(tmp_path: Path, restore_root_logging: None) -> None:
    blocker = tmp_path / "logs"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigError, match="set LOG_DIR"):
        setup_logging(blocker, "INFO")


PASSWORD = "S3cr3t-Pw"


def test_no_log_line_carries_a_url_password(tmp_path: Path, restore_root_logging: None) -> None:
    setup_logging(tmp_path, "INFO")
    log = logging.getLogger("zilean.test")
    url = f"postgresql+asyncpg://groovy:{PASSWORD}@db.internal/zilean"
    log.info("connecting to %s", url)
    try:
        raise ConnectionError(f"could not reach {url}")
    except ConnectionError:
        log.exception("the database went away")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = (tmp_path / "zilean.log").read_text()
    assert PASSWORD not in text
    assert "connecting to postgresql+asyncpg://groovy:***@db.internal/zilean" in text
    assert "ConnectionError: could not reach postgresql+asyncpg://groovy:***@db.internal" in text


def test_json_lines_carry_the_guild_as_a_field(tmp_path: Path, restore_root_logging: None) -> None:
    import json

    setup_logging(tmp_path, "INFO", log_format="json")
    log = logging.getLogger("zilean.test")
    with guild_context(1234567890123456789):
        log.info("now playing %s", "Ünïcode ✓")
    try:
        raise ValueError("boom at postgresql://zilean:hunter2@db/zilean")
    except ValueError:
        log.exception("failed")
    for handler in logging.getLogger().handlers:
        handler.flush()
    lines = (tmp_path / "zilean.log").read_text(encoding="utf-8").splitlines()
    first, second = json.loads(lines[-2]), json.loads(lines[-1])
    assert first["guild"] == "1234567890123456789" and first["message"] == "now playing Ünïcode ✓"
    assert first["level"] == "INFO" and first["logger"] == "zilean.test" and first["time"].endswith("+00:00")
    assert "guild" not in second
    assert "ValueError: boom" in second["exception"] and "hunter2" not in lines[-1]


def test_log_format_json_through_the_real_program(tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys
    import time

    env = os.environ | {"LOG_FORMAT": "json", "LOG_DIR": str(tmp_path / "logs")}
    argv = [sys.executable, "-m", "zilean", "sandbox", "--no-bot", "--no-voice", "--port", "0"]
    with subprocess.Popen(
        argv, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as proc:
        try:
            log_file, deadline = tmp_path / "logs" / "sandbox.log", time.monotonic() + 60
            while not (log_file.exists() and log_file.read_text().strip()) and proc.poll() is None:
                assert time.monotonic() < deadline, "no log line within 60 s"
                time.sleep(0.05)
        finally:
            proc.terminate()
            proc.communicate(timeout=30)
    entries = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert any(entry["message"].startswith("sandbox listening on http://") for entry in entries)
    assert all({"time", "level", "logger", "message"} <= entry.keys() for entry in entries)
