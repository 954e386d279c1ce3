"""`zilean run`: the whole product in one process (bot + dashboard, or the sandbox without a token)."""

from __future__ import annotations

import argparse

from zilean.config import Settings
from zilean.config_check import fatal_problems
from zilean.core.errors import ConfigError
from zilean.logs import setup_logging


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser(
        "run", help="run bot and dashboard in one process (the offline sandbox when no DISCORD_TOKEN is set)"
    )
    run.set_defaults(func=_run)


def prepare(args: argparse.Namespace, settings: Settings, log_name: str) -> None:
    """What every long-running command does first: refuse bad settings, then set up logging."""
    fatal = fatal_problems(settings)
    if fatal:
        raise ConfigError(
            fatal[0] + (f" (and {len(fatal) - 1} more: run `zilean config check`)" if len(fatal) > 1 else "")
        )
    setup_logging(settings.log_dir, settings.log_level, debug=args.debug, filename=log_name)


def _run(args: argparse.Namespace, settings: Settings | None) -> int:
    assert settings is not None
    prepare(args, settings, "zilean.log")
    if settings.discord_token is None:
        raise ConfigError(
            "no DISCORD_TOKEN is configured and the offline sandbox is not built yet; "
            "set DISCORD_TOKEN in .env (see README) to run against Discord"
        )
    raise ConfigError("the Discord bot is not built yet (issue: Discord bot); nothing to run")
