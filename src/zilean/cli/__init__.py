"""The `zilean` command: one subcommand per module in COMMAND_MODULES, each with a `register()`."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from zilean.config import Settings
from zilean.core.errors import ZileanError

# Each module defines register(subparsers); a subcommand sets `func(args, settings) -> int`.
COMMAND_MODULES = [
    "zilean.cli.run",
    "zilean.cli.bot",
    "zilean.cli.web",
    "zilean.cli.basic",
    "zilean.cli.db",
    "zilean.cli.render",
    "zilean.cli.effects",
    "zilean.cli.resolve",
    "zilean.cli.sandbox",
    "zilean.cli.send",
    "zilean.cli.status",
    "zilean.cli.doctor",
]

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zilean",
        description="Groovy Zilean: a self-hosted Discord music bot with a web dashboard.",
    )
    parser.add_argument("--debug", action="store_true", help="verbose logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def load_settings() -> Settings:
    """Settings from the environment and .env, or a ZileanError naming the bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise ZileanError(f"{field}: {first['msg']} (got {first.get('input')!r})") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        settings = None if getattr(args, "no_settings", False) else load_settings()
        return int(args.func(args, settings) or 0)
    except ZileanError as exc:
        print(f"zilean: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
