"""The bot and the dashboard, in this process, against a running sandbox: `zilean run` without a token."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

import aiohttp
from pydantic import SecretStr

from zilean.cli.demo_library import ensure_demo_library
from zilean.cli.embedded import DashboardPlan, with_dashboard
from zilean.config import Settings
from zilean.core.errors import ZileanError

log = logging.getLogger(__name__)


def sandbox_settings(settings: Settings, env: dict[str, str]) -> Settings:
    """The settings with Discord replaced by the sandbox, and a demo library when none is set."""
    update: dict[str, object] = {
        "discord_api_base": env["DISCORD_API_BASE"],
        "discord_gateway_url": env["DISCORD_GATEWAY_URL"],
        "discord_token": SecretStr(env["DISCORD_TOKEN"]),
        "discord_client_id": env["DISCORD_CLIENT_ID"],
        "discord_client_secret": SecretStr(env["DISCORD_CLIENT_SECRET"]),
    }
    if settings.library_dir is None:
        # Offline there is no YouTube: give people something to play, searchable by name.
        library = ensure_demo_library(Path("data/demo-music"), settings.ffmpeg_executable())
        update["library_dir"] = library.resolve()
        update["search_provider"] = "local"
    return settings.model_copy(update=update)


async def run_bot_against(
    env: dict[str, str], settings: Settings, dashboard: DashboardPlan | None = None
) -> None:
    """Run the bot (and the dashboard on its database and bus) against the sandbox until cancelled."""
    from zilean.bot.runner import built_bot  # heavy (discord.py); only when the bot runs

    bot_settings = sandbox_settings(settings, env)
    connector = None
    if "SSL_CERT_FILE" in env:
        connector = aiohttp.TCPConnector(ssl=ssl.create_default_context(cafile=env["SSL_CERT_FILE"]))
    try:
        async with built_bot(bot_settings, connector=connector, guild_ready_timeout=0.5) as bot:
            if dashboard is None:
                await bot.start(env["DISCORD_TOKEN"], reconnect=True)
                return
            await with_dashboard(bot, bot_settings, env["DISCORD_TOKEN"], dashboard)
    except ZileanError:
        raise  # a user-facing reason: the CLI prints it as one line
    except Exception:
        log.exception("the bot stopped")
        raise
