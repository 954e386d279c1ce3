"""Guild → session registry: creating sessions, voice joins and leaves, idle leave, restore after restart."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

import discord

from zilean.bot.checks import listener_ids
from zilean.bot.nowplaying import Announcer
from zilean.bot.saver import HEARTBEAT_S, Saver, reanchor_all
from zilean.bot.sender import SharedSenderVoiceClient
from zilean.bot.session import GuildSession
from zilean.bot.store import Store, loop_from_db
from zilean.config import Settings
from zilean.core.equalizer import Equalizer
from zilean.core.errors import ZileanError
from zilean.core.logctx import guild_context
from zilean.core.permissions import GuildPolicy
from zilean.core.queue import Queue
from zilean.core.queue import QueueEntry as CoreEntry
from zilean.core.sources import Resolver
from zilean.db.connector import utcnow
from zilean.db.records import GuildSettings

if TYPE_CHECKING:
    from zilean.bot.client import ZileanBot

log = logging.getLogger(__name__)

SETTINGS_TTL_S = 5.0  # dashboard edits reach the bot within this
VOICE_TIMEOUT_S = 20.0


class SessionManager:
    """Owns every GuildSession of this bot process."""

    def __init__(self, bot: ZileanBot, store: Store, resolver: Resolver, settings: Settings) -> None:
        self.bot = bot
        self.store = store
        self.resolver = resolver
        self.ffmpeg = settings.ffmpeg_executable()
        self._sessions: dict[int, GuildSession] = {}
        self._creating: dict[int, asyncio.Lock] = {}
        self._settings_cache: dict[int, tuple[float, GuildSettings]] = {}
        self._idle: dict[int, asyncio.Task[None]] = {}
        self._leaving: set[int] = set()
        self._joining: dict[int, asyncio.Lock] = {}
        self._anchors: asyncio.Task[None] | None = None  # one position writer for every guild

    # --- settings and policy ---------------------------------------------------------------

    async def guild_settings(self, guild_id: int, *, fresh: bool = False) -> GuildSettings:
        """The guild's settings, cached for a few seconds."""
        cached = self._settings_cache.get(guild_id)
        if cached is not None and not fresh and time.monotonic() - cached[0] < SETTINGS_TTL_S:
            return cached[1]
        settings = await self.store.settings.get(guild_id)
        self._settings_cache[guild_id] = (time.monotonic(), settings)
        return settings

    async def update_settings(self, guild_id: int, **changes: object) -> GuildSettings:
        """Change guild settings and apply them to the running session."""
        settings = await self.store.settings.update(guild_id, **changes)
        self._settings_cache[guild_id] = (time.monotonic(), settings)
        session = self._sessions.get(guild_id)
        if session is not None:
            session.announcer.announce_channel_id = settings.announce_channel_id
            session.fair_queue = settings.fair_queue
            session.autoplay = settings.autoplay
            if "eq" in changes:
                await session.set_eq(Equalizer.from_mapping(settings.eq))  # live, like effects
            self.schedule_idle_check(guild_id)
        return settings

    async def policy(self, guild: discord.Guild) -> GuildPolicy:
        """The guild's permission policy, read fresh."""
        return await self.store.policy(guild.id)

    # --- sessions --------------------------------------------------------------------------

    def existing(self, guild_id: int) -> GuildSession | None:
        """The guild's session if it has one."""
        return self._sessions.get(guild_id)

    async def get(self, guild_id: int) -> GuildSession:
        """The guild's session, created (from its saved state) on first use."""
        session = self._sessions.get(guild_id)
        if session is not None:
            return session
        if self._anchors is None:
            self._anchors = asyncio.get_running_loop().create_task(
                reanchor_all(self.store, lambda: (s.saver for s in self._sessions.values())), name="anchors"
            )
        lock = self._creating.setdefault(guild_id, asyncio.Lock())
        async with lock:
            session = self._sessions.get(guild_id)
            if session is None:
                session = await self._create(guild_id)
                self._sessions[guild_id] = session
            return session

    async def _create(self, guild_id: int) -> GuildSession:
        settings = await self.guild_settings(guild_id, fresh=True)
        saved = await self.store.player.load(guild_id)
        queued = await self.store.queued(guild_id)
        announcer = Announcer(self.bot, guild_id)
        announcer.announce_channel_id = settings.announce_channel_id
        saver = Saver(self.store, guild_id, [entry.id for entry in queued])
        source = saved or settings
        session = GuildSession(
            guild_id,
            self.resolver,
            self.ffmpeg,
            saver,
            announcer,
            volume=source.volume,
            effects=source.effects,
            loop=loop_from_db(source.loop_mode),
            eq=Equalizer.from_mapping(settings.eq),
            fair_queue=settings.fair_queue,
            autoplay=settings.autoplay,
        )
        announcer.session = session
        current = (
            CoreEntry(max((e.id for e in queued), default=0) + 1, saved.track)
            if saved and saved.track
            else None
        )
        session.queue = Queue.restore(
            current, [CoreEntry(e.id, e.track) for e in queued], loop=loop_from_db(source.loop_mode)
        )
        if saved is not None:
            session.text_channel_id = saved.text_channel_id
            if current is not None:
                # Resume where it was when last saved: at most one heartbeat behind the truth.
                elapsed = saved.position_at(utcnow()) - saved.position_ms
                session.resume_at_ms = saved.position_ms + min(elapsed, int(HEARTBEAT_S * 500))
        session.on_idle = lambda: self.schedule_idle_check(guild_id)
        return session

    # --- voice -----------------------------------------------------------------------------

    async def join(self, session: GuildSession, channel: discord.VoiceChannel | discord.StageChannel) -> None:
        """Connect to (or move to) `channel` (one join at a time per guild)."""
        async with self._joining.setdefault(channel.guild.id, asyncio.Lock()):
            await self._join(session, channel)

    async def _join(
        self, session: GuildSession, channel: discord.VoiceChannel | discord.StageChannel
    ) -> None:
        guild = channel.guild
        voice = guild.voice_client
        try:
            if isinstance(voice, discord.VoiceClient) and voice.is_connected():
                if voice.channel.id != channel.id:
                    await voice.move_to(channel, timeout=VOICE_TIMEOUT_S)
            else:
                if voice is not None:
                    await voice.disconnect(force=True)
                voice = await channel.connect(
                    timeout=VOICE_TIMEOUT_S, self_deaf=True, cls=SharedSenderVoiceClient
                )
        except (TimeoutError, discord.ClientException) as exc:
            log.warning("could not join voice channel %s: %r", channel.id, exc)
            raise ZileanError(
                "I couldn't join that voice channel. Check my permissions and try again."
            ) from None
        assert isinstance(voice, discord.VoiceClient)
        session.attach(voice)
        self.schedule_idle_check(guild.id)

    async def leave(self, guild: discord.Guild) -> None:
        """Stop, forget the queue and disconnect."""
        session = self._sessions.pop(guild.id, None)
        self._leaving.add(guild.id)
        try:
            if session is not None:
                session.announcer.queue_finished()
                await session.stop()
                await session.saver.forget()
                await session.close()
            else:
                await self.store.player.delete(guild.id)
            if guild.voice_client is not None:
                await guild.voice_client.disconnect(force=True)
        finally:
            self._leaving.discard(guild.id)
            task = self._idle.pop(guild.id, None)
            if task is not None:
                task.cancel()

    async def voice_state_changed(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        """React to voice moves: the bot dropped (reconnect), or people left it alone (idle check)."""
        guild = member.guild
        session = self._sessions.get(guild.id)
        if session is None:
            return
        me = self.bot.user
        if me is not None and member.id == me.id:
            if before.channel is not None and after.channel is None and guild.id not in self._leaving:
                await self._recover(session, before.channel)
            return
        self.schedule_idle_check(guild.id)

    async def _recover(
        self, session: GuildSession, channel: discord.abc.GuildChannel | discord.abc.Connectable
    ) -> None:
        """The bot was disconnected from voice without `leave`: come back and carry on."""
        with guild_context(session.guild_id):
            log.info("voice connection dropped; rejoining %s", getattr(channel, "id", "?"))
            await asyncio.sleep(1.0)
            if not isinstance(channel, discord.VoiceChannel | discord.StageChannel):
                return
            voice = channel.guild.voice_client
            if voice is not None and voice.is_connected():
                return  # discord.py reconnected by itself
            try:
                await self.join(session, channel)
            except ZileanError:
                log.warning("could not rejoin after a voice drop")

    # --- idle auto-leave -------------------------------------------------------------------

    def schedule_idle_check(self, guild_id: int) -> None:
        """(Re)start the idle timer: leave after the idle timeout with nothing playing or nobody listening."""
        task = self._idle.pop(guild_id, None)
        if task is not None:
            task.cancel()
        self._idle[guild_id] = asyncio.get_running_loop().create_task(self._idle_watch(guild_id))

    def _is_idle(self, guild: discord.Guild) -> str | None:
        session = self._sessions.get(guild.id)
        voice = guild.voice_client
        channel = getattr(voice, "channel", None)
        if voice is None or channel is None:
            return None
        if isinstance(channel, discord.VoiceChannel | discord.StageChannel) and not listener_ids(channel):
            return "everyone left"
        if session is None or session.current is None:
            return "nothing was playing"
        return None

    async def _idle_watch(self, guild_id: int) -> None:
        settings = await self.guild_settings(guild_id)
        guild = self.bot.get_guild(guild_id)
        if guild is None or settings.always_on:
            return
        if self._is_idle(guild) is None:
            return
        await asyncio.sleep(settings.idle_timeout_s)
        reason = self._is_idle(guild)
        if reason is None or (await self.guild_settings(guild_id, fresh=True)).always_on:
            return
        with guild_context(guild_id):
            log.info("leaving voice: %s", reason)
            session = self._sessions.get(guild_id)
            if session is not None:
                session.announcer.queue_finished()
                session.announcer.say(_left_embed(reason))
            self._idle.pop(guild_id, None)
            await self.leave(guild)

    # --- restart ---------------------------------------------------------------------------

    async def restore_all(self) -> None:
        """After a restart: rejoin every voice channel that had music and carry on where it was."""
        saved_players = await self.store.player.load_all()
        await asyncio.gather(*(self._restore(saved) for saved in saved_players))

    async def _restore(self, saved: Any) -> None:
        guild = self.bot.get_guild(saved.guild_id)
        if guild is None or saved.voice_channel_id is None:
            return  # another shard's guild, or it was not in voice
        channel = guild.get_channel(saved.voice_channel_id)
        if not isinstance(channel, discord.VoiceChannel | discord.StageChannel):
            return
        with guild_context(guild.id):
            try:
                session = await self.get(guild.id)
                await self.join(session, channel)
                if session.current is not None and not saved.paused and session.resume_at_ms is not None:
                    await session.resume()
                log.info("restored the player in channel %s", channel.id)
            except Exception:
                log.exception("could not restore the player")

    async def shutdown(self) -> None:
        """Stop every player and write what is pending (the saved state stays for the next start)."""
        for task in self._idle.values():
            task.cancel()
        if self._anchors is not None:
            self._anchors.cancel()
            self._anchors = None
        # Side by side: each close waits for its ffmpeg to exit (one by one took > 30 s at 100 guilds).
        sessions = list(self._sessions.values())
        results = await asyncio.gather(*(session.close() for session in sessions), return_exceptions=True)
        for session, result in zip(sessions, results, strict=True):
            if isinstance(result, Exception):
                log.error("could not close the player of guild %s", session.guild_id, exc_info=result)
        self._sessions.clear()


def _left_embed(reason: str) -> discord.Embed:
    from zilean.bot import embeds

    return embeds.info(f"I left the voice channel because {reason}. Use `play` to bring me back.")
