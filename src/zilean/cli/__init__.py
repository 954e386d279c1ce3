"""The `zilean` command: one subcommand per module in COMMAND_MODULES, each with a `register()`."""

from __future__ import annotations

import importlib
import sys

from zilean.core.errors import ZileanError

# Start-up time. `zilean version` imports nothing but this package (not even argparse or typing:
# `typing.TYPE_CHECKING` is spelled as the constant mypy also understands). `zilean --help`
# imports every module below, so at module level they import only argparse and light parts of
# the standard library; the rest inside the command that needs it (tests/cli/test_startup.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence
    from pathlib import Path
    from typing import Any

    from zilean.config import Settings

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

def path_arg(text: str) -> Path:
    """argparse `type=` for paths, importing pathlib only when a path is given (or defaulted)."""
    from pathlib import Path

    return Path(text)


def version_line() -> str:
    from zilean import __version__

    return f"groovy-zilean {__version__}"


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with `only`, just that command gets its options (quicker start-up),
    every other command is listed by name and help."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="zilean",
        description="Groovy Zilean: a self-hosted Discord music bot with a web dashboard.",
    )
    parser.add_argument("--debug", action="store_true", help="verbose logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    target: Any = sub if only is None else _OnlyOne(sub, only)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(target)
    return parser


class _Ignored:
    """Swallows the option set-up of a command that is not being run."""

    def __getattr__(self, name: str) -> Callable[..., _Ignored]:
        return lambda *args, **kwargs: self


class _OnlyOne:
    """Stands in for the subparsers action: `only` is set up fully; the rest are names and help.

    Adding each command's options costs more than the rest of start-up (argparse builds a help
    formatter and looks up translations for every option)."""

    def __init__(self, sub: argparse._SubParsersAction[argparse.ArgumentParser], only: str) -> None:
        self._sub, self._only = sub, only

    def add_parser(self, name: str, **kwargs: Any) -> Any:
        if name == self._only:
            return self._sub.add_parser(name, **kwargs)
        self._sub.add_parser(name, help=kwargs.get("help"), add_help=False)
        return _Ignored()


def _command_in(argv: Sequence[str]) -> str | None:
    """The subcommand named in argv (the first word that is not an option), if any."""
    return next((word for word in argv if not word.startswith("-")), None)


def load_settings() -> Settings:
    """Settings from the environment and .env, or a ZileanError naming the bad variable."""
    from pydantic import ValidationError

    from zilean.config import Settings

    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise ZileanError(f"{field}: {first['msg']} (got {first.get('input')!r})") from None


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    if words == ["version"]:
        print(version_line())
        return 0
    parser = build_parser(only=_command_in(words) or "")  # no command: list them, set up none
    args = parser.parse_args(words)
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
