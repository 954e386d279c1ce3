"""`zilean run`: the whole product in one process (bot + dashboard, or the sandbox without a token)."""

from __future__ import annotations

import argparse

from zilean.core.errors import ConfigError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up (see zilean.cli)
if TYPE_CHECKING:
    from zilean.config import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser(
        "run", help="run bot and dashboard in one process (the offline sandbox when no DISCORD_TOKEN is set)"
    )
    run.set_defaults(func=_run)


def prepare(args: argparse.Namespace, settings: Settings, log_name: str) -> None:
    """What every long-running command does first: refuse bad settings, then set up logging."""
    from zilean.config_check import fatal_problems
    from zilean.logs import setup_logging

    fatal = fatal_problems(settings)
    if fatal:
        raise ConfigError(
            fatal[0] + (f" (and {len(fatal) - 1} more: run `zilean config check`)" if len(fatal) > 1 else "")
        )
    setup_logging(
        settings.log_dir,
        settings.log_level,
        debug=args.debug,
        filename=log_name,
        log_format=settings.log_format,
    )


def _run(args: argparse.Namespace, settings: Settings | None) -> int:
    import asyncio

    assert settings is not None
    prepare(args, settings, "zilean.log")
    if settings.discord_token is None:
        from zilean.cli.sandbox import default_args, serve

        print("No DISCORD_TOKEN is configured: running offline, with a built-in stand-in for Discord.")
        sandbox_args = default_args(args.debug)
        sandbox_args.quiet = True  # one address to open: the dashboard
        sandbox_args.port = settings.sandbox_port
        return serve(sandbox_args, settings)
    asyncio.run(run_bot_and_dashboard(settings))
    return 0


async def run_bot_and_dashboard(settings: Settings) -> None:
    """The bot and the dashboard on one Database and Bus, until SIGINT/SIGTERM."""
    import asyncio
    import contextlib

    from zilean.bot.runner import built_bot, cancel_on_signals, required_token
    from zilean.cli.embedded import DashboardPlan, with_dashboard

    token = required_token(settings)
    cancel_on_signals()

    def ready(base_url: str) -> None:
        print(f"Dashboard: open {base_url}", flush=True)

    async with built_bot(settings, warm_sources=True) as bot:
        with contextlib.suppress(asyncio.CancelledError):
            await with_dashboard(
                bot, settings, token, DashboardPlan(settings.web_host, settings.web_port, ready)
            )
