"""`zilean run`: the whole product in one process (bot + dashboard, or the sandbox without a token)."""

from __future__ import annotations

import argparse
import asyncio

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
        from zilean.cli.sandbox import default_args, serve

        print("No DISCORD_TOKEN is configured: starting the offline sandbox with the bot connected to it.")
        print("(Put a bot token in .env to run against Discord instead; see README.)")
        return serve(default_args(args.debug), settings)
    from zilean.bot.runner import run_bot

    # The dashboard joins this process once it exists; until then `run` is the bot.
    asyncio.run(run_bot(settings))
    return 0
