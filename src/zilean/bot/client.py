"""The discord.py bot: built from Settings, a database and a resolver; owns the guild sessions."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import aiohttp
import discord
import yarl
from discord.ext import commands

from zilean.bot.directory import DirectoryPublisher
from zilean.bot.errors import install_error_handlers
from zilean.bot.sessions import SessionManager
from zilean.bot.store import Store
from zilean.config import DISCORD_API_BASE, DISCORD_GATEWAY_URL, Settings
from zilean.core.sources import Resolver
from zilean.db.bus import Bus
from zilean.db.bus.worker import BotWorker

log = logging.getLogger(__name__)

VOICE_LEAVE_TIMEOUT_S = 5.0


async def _leave(voice: discord.VoiceProtocol) -> None:
    """Leave one voice channel at shutdown, giving up after VOICE_LEAVE_TIMEOUT_S.

    `VoiceClient.disconnect` waits up to its 20 s timeout for the confirming VOICE_STATE_UPDATE.
    At shutdown many leaves queue behind discord.py's gateway limit of 110 sends a minute, so the
    bound here cancels them, and each cancelled leave still waited its 20 s for a confirmation that
    could not come (100 guilds: SIGTERM to exit 25.7 s). The voice connection is closed either way,
    and the gateway close that follows ends the session.
    """
    async with asyncio.timeout(VOICE_LEAVE_TIMEOUT_S):
        if not isinstance(voice, discord.VoiceClient):
            await voice.disconnect(force=True)
            return
        voice.stop()
        # discord.py has no public way to skip the wait, so this uses its connection state. Close
        # the voice websocket first: if the leave below is cancelled, nothing tries to reconnect.
        await voice._connection.soft_disconnect()
        await voice._connection.disconnect(force=True, wait=False)  # cleans up, even when cancelled


def apply_endpoints(api_base: str, gateway_url: str) -> None:
    """Point discord.py at another REST base / gateway (the sandbox, a REST proxy); a no-op for Discord's own.

    discord.py keeps these as class attributes, so this affects the whole process: an explicit opt-in
    made only when DISCORD_API_BASE / DISCORD_GATEWAY_URL differ from Discord's.
    """
    if api_base.rstrip("/") != DISCORD_API_BASE:
        discord.http.Route.BASE = api_base.rstrip("/")
        log.info("discord REST base: %s", discord.http.Route.BASE)
    if gateway_url != DISCORD_GATEWAY_URL:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
        log.info("discord gateway: %s", gateway_url)


def intents() -> discord.Intents:
    """Guilds, voice states, members (privileged: the dashboard's directory) and message content."""
    chosen = discord.Intents.default()
    chosen.message_content = True
    chosen.members = True
    chosen.typing = False
    chosen.presences = False
    return chosen


class ZileanBot(commands.AutoShardedBot):
    """The music bot. Collaborators are passed in; nothing is read from globals."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        resolver: Resolver,
        *,
        connector: aiohttp.BaseConnector | None = None,
        shard_ids: Sequence[int] | None = None,
        shard_count: int | None = None,
        guild_ready_timeout: float = 2.0,
        sync_commands: bool = True,
        bus: Bus | None = None,
    ) -> None:
        options: dict[str, Any] = {}
        if shard_ids is not None:
            options["shard_ids"] = list(shard_ids)
        if shard_count is not None:
            options["shard_count"] = shard_count
        super().__init__(
            command_prefix=self._prefix_for,
            intents=intents(),
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            case_insensitive=True,
            strip_after_prefix=True,
            connector=connector,
            guild_ready_timeout=guild_ready_timeout,
            # Not at start-up: discord.py then sends one op 8 per guild, and 100 of them used up the
            # gateway's 110 sends a minute, so the voice joins (op 4) of the first minute timed out
            # (62 of 100 guilds never joined; issue #12's benchmark). Without the presences intent
            # GUILD_CREATE lists only the bot and members in voice, so the directory asks for each
            # guild's members itself, one op 8 every 3 s (bot/directory.py, CHUNK_SPACING_S).
            chunk_guilds_at_startup=False,
            activity=discord.Activity(type=discord.ActivityType.listening, name="/play"),
            # Music needs a guild's voice channel: slash commands are offered in guilds only, for a
            # guild install (not in DMs, group DMs or as a user-installed app).
            allowed_contexts=discord.app_commands.AppCommandContext(
                guild=True, dm_channel=False, private_channel=False
            ),
            allowed_installs=discord.app_commands.AppInstallationType(guild=True, user=False),
            **options,
        )
        self.settings = settings
        self.store = store
        self.resolver = resolver
        self.sync_commands = sync_commands
        self.sessions = SessionManager(self, store, resolver, settings)
        self.bus = bus
        self.bus_worker: BotWorker | None = None
        self._restored = False
        self._set_up = self._synced = False
        self.directory = DirectoryPublisher(self, store.connector, store.events)
        self.directory.install()

    async def _prefix_for(self, bot: commands.Bot, message: discord.Message) -> list[str]:
        prefix = self.settings.command_prefix
        if message.guild is not None:
            prefix = (await self.sessions.guild_settings(message.guild.id)).prefix or prefix
        return commands.when_mentioned_or(prefix)(bot, message)

    async def setup_hook(self) -> None:
        """Load the cogs, register the persistent views and publish the slash commands."""
        from zilean.bot.cogs import load_cogs
        from zilean.bot.views import NowPlayingView

        if not self._set_up:  # a login retried after a network error runs this hook again
            await load_cogs(self)
            self.add_view(NowPlayingView(self))
            install_error_handlers(self)
            self._set_up = True
        for command in self.tree.get_commands():
            if isinstance(command, discord.app_commands.Command | discord.app_commands.Group):
                command.guild_only = True  # dm_permission: false, for clients that predate `contexts`
        if self.sync_commands and not self._synced:
            synced = await self.tree.sync()
            self._synced = True
            log.info("published %d slash commands", len(synced))

    async def on_ready(self) -> None:
        """Log in once; on the first READY, bring back every guild that was playing before a restart."""
        log.info(
            "logged in as %s (%s) in %d guilds",
            self.user,
            self.user.id if self.user else "?",
            len(self.guilds),
        )
        if not self._restored:
            self._restored = True
            await self.sessions.restore_all()
            if self.bus is not None:
                from zilean.bot.bus_bridge import start_bus_worker

                shard_ids = list(self.shard_ids or range(self.shard_count or 1))
                self.bus_worker = await start_bus_worker(self, self.bus, shard_ids)

    async def on_command_completion(self, ctx: commands.Context[Any]) -> None:
        """Every command that changed something is in the audit log (bot/audit.py)."""
        from zilean.bot.audit import record_completed

        await record_completed(ctx)

    async def on_voice_state_update(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        """Let the guild's session react to people (or the bot) joining, leaving and being moved."""
        await self.sessions.voice_state_changed(member, before, after)

    async def close(self) -> None:
        """Stop every player (their ffmpeg processes) before discord.py closes the connections."""
        if self.bus_worker is not None:
            worker, self.bus_worker = self.bus_worker, None
            await worker.stop()
        await self.directory.stop()
        await self.sessions.shutdown()
        # discord.py leaves voice one guild after the other, each waiting for the gateway: do it
        # side by side with a bound, so stopping a bot in many voice channels stays quick.
        leaving = [_leave(voice) for voice in list(self.voice_clients)]
        await asyncio.gather(*leaving, return_exceptions=True)
        await super().close()
