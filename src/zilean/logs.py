"""Logging: console plus a rotating file; every line from guild work carries the guild id.

LOG_FORMAT=text (default) writes readable lines; LOG_FORMAT=json one JSON object per line
(journald, Loki), with `guild` as its own field.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path

from zilean.core.errors import ConfigError
from zilean.core.logctx import current_guild
from zilean.core.redact import redact_urls

FORMAT = "%(asctime)s %(levelname)-7s %(name)s [guild=%(guild)s] %(message)s"


class RedactingFormatter(logging.Formatter):
    """The standard format, with URL passwords hidden in the message and any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_urls(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, guild, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact_urls(record.getMessage()),
        }
        guild = getattr(record, "guild", "-")
        if guild != "-":
            entry["guild"] = str(guild)  # a string: Discord ids overflow JavaScript numbers
        if record.exc_info:
            entry["exception"] = redact_urls(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


class GuildFilter(logging.Filter):
    """Adds `record.guild` from the current guild context (or '-')."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "guild"):
            guild = current_guild.get()
            record.guild = "-" if guild is None else str(guild)
        return True


def setup_logging(
    log_dir: Path, level: str, *, debug: bool = False, filename: str = "zilean.log", log_format: str = "text"
) -> None:
    """Configure the root logger once; raises ConfigError if the log directory is not writable."""
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        file_handler = RotatingFileHandler(
            log_dir / filename, maxBytes=10_000_000, backupCount=5, encoding="utf-8"
        )
    except OSError as exc:
        raise ConfigError(f"cannot write logs to {log_dir} ({exc.strerror}); set LOG_DIR") from exc
    console = logging.StreamHandler()
    formatter = JsonFormatter() if log_format == "json" else RedactingFormatter(FORMAT)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in (console, file_handler):
        handler.setFormatter(formatter)
        handler.addFilter(GuildFilter())
        root.addHandler(handler)
    root.setLevel("DEBUG" if debug else level)
    # discord.py's own DEBUG is a firehose of gateway payloads; keep it at INFO unless asked.
    logging.getLogger("discord").setLevel("INFO" if not debug else "DEBUG")
    # Alembic announces each of its plugins at INFO on every start; the migrations it runs stay visible.
    logging.getLogger("alembic.runtime.plugins").setLevel("WARNING")
