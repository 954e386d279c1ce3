"""Publish the bot's live view of its guilds to the database (the directory) for the dashboard.

The web may not ask Discord who is a member of what, so the bot writes it down: the whole guild when
it becomes available (at connect, after an outage) or is joined, then every change the gateway
reports (members joining, changing and leaving, roles, channels, the guild itself, who is in which
voice channel).

Every change is queued as a key ("member 12 of guild 3", "roles of guild 3", "guild 3"), and one
worker writes the keys in order, each from discord.py's cache *at the time it is written*. So a
burst of changes to one thing costs one write, the writes can never overtake each other with stale
data, and after the queue drains the database equals the cache. A failed write is logged and retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict

import discord
from discord.ext import commands

from zilean.db.bus.events import EventLog
from zilean.db.connector import Connector
from zilean.db.records import ChannelInfo, GuildInfo, MemberInfo, RoleInfo
from zilean.db.repos.directory import DirectoryRepo

log = logging.getLogger(__name__)

EVENT_KIND = "directory"
RETRY_DELAYS_S = (1.0, 5.0, 30.0)  # then every 30 s until the database answers again
# Without the presences intent, GUILD_CREATE lists only the bot and the members in voice (Discord:
# "Request Guild Members"), so every guild's member list is asked for with one op 8. They share the
# gateway's 110 sends a minute with the voice joins (op 4): at most one op 8 every 3 s (20 a minute)
# leaves 90 a minute for joins. The first guild is asked for at once.
CHUNK_SPACING_S = 3.0

# What a key names: the whole guild, its own fields, its channels, its roles, or one member.
GUILD, META, CHANNELS, ROLES, MEMBER = "guild", "meta", "channels", "roles", "member"
Key = tuple[str, int, int]  # (what, guild_id, user_id or 0)


def guild_info(guild: discord.Guild) -> GuildInfo:
    """The directory record of a guild."""
    return GuildInfo(
        guild_id=guild.id,
        name=guild.name,
        icon_url=guild.icon.url if guild.icon else None,
        owner_id=guild.owner_id,
    )


def channel_infos(guild: discord.Guild) -> list[ChannelInfo]:
    """The guild's voice and text channels."""
    voice = [ChannelInfo(guild.id, c.id, "voice", c.name, c.position) for c in guild.voice_channels]
    text = [ChannelInfo(guild.id, c.id, "text", c.name, c.position) for c in guild.text_channels]
    return voice + text


def role_infos(guild: discord.Guild) -> list[RoleInfo]:
    """The guild's roles, @everyone included (its id is the guild's)."""
    return [
        RoleInfo(guild.id, r.id, r.name, r.position, r.color.value, r.permissions.value) for r in guild.roles
    ]


def member_info(member: discord.Member) -> MemberInfo:
    """The directory record of a member; avatar_url None when they have no avatar of their own."""
    avatar = member.guild_avatar or member.avatar
    voice = member.voice.channel if member.voice is not None else None
    return MemberInfo(
        guild_id=member.guild.id,
        user_id=member.id,
        name=member.name,
        display_name=member.display_name,
        avatar_url=avatar.url if avatar else None,
        role_ids=tuple(r.id for r in member.roles if not r.is_default()),
        is_owner=member.guild.owner_id == member.id,
        is_admin=member.guild_permissions.administrator,
        voice_channel_id=voice.id if voice is not None else None,
    )


class DirectoryPublisher:
    """Keeps the directory tables equal to the bot's cache; `install()` hooks it to the gateway events."""

    def __init__(self, bot: commands.Bot, connector: Connector, events: EventLog | None) -> None:
        self.repo = DirectoryRepo(connector)
        self.events = events
        self._bot = bot
        self._pending: OrderedDict[Key, None] = OrderedDict()
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._worker: asyncio.Task[None] | None = None
        self._failures: dict[Key, int] = {}
        self._retries: set[asyncio.TimerHandle] = set()
        self._next_chunk_at = 0.0  # loop time before which no op 8 is sent

    # --- hooks -----------------------------------------------------------------------------

    def install(self) -> None:
        """Listen to the events that change the directory (in addition to the bot's own handlers)."""
        for name in (
            "on_ready",
            "on_guild_join",
            "on_guild_available",
            "on_guild_remove",
            "on_guild_update",
            "on_member_join",
            "on_member_update",
            "on_raw_member_remove",
            "on_user_update",
            "on_guild_role_create",
            "on_guild_role_update",
            "on_guild_role_delete",
            "on_guild_channel_create",
            "on_guild_channel_update",
            "on_guild_channel_delete",
            "on_voice_state_update",
        ):
            self._bot.add_listener(getattr(self, name), name)

    def _owns(self, guild_id: int) -> bool:
        """Whether the guild belongs to this process's shards (others publish theirs)."""
        count = self._bot.shard_count or 1
        shard_ids = getattr(self._bot, "shard_ids", None) or range(count)
        return (guild_id >> 22) % count in shard_ids

    async def on_ready(self) -> None:
        """(Re)connected: forget the guilds the bot left while offline.

        The guilds it is in were each announced just before as guild_available, which publishes them.
        """
        present = {guild.id for guild in self._bot.guilds}
        try:
            stored = await self.repo.guild_ids()
        except Exception:
            log.exception(
                "directory: could not list the stored guilds; guilds left while offline stay listed"
            )
            return
        for guild_id in stored:
            if guild_id not in present and self._owns(guild_id):
                self.request(GUILD, guild_id)  # not in the cache any more: the write removes it

    async def on_guild_join(self, guild: discord.Guild) -> None:
        self.request(GUILD, guild.id)

    async def on_guild_available(self, guild: discord.Guild) -> None:
        self.request(GUILD, guild.id)  # at connect, and back after an outage

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        self.request(GUILD, guild.id)

    async def on_guild_update(self, before: discord.Guild, after: discord.Guild) -> None:
        self.request(META, after.id)
        if before.owner_id != after.owner_id:
            self.request(GUILD, after.id)  # is_owner (and the owner's rights) moved

    async def on_member_join(self, member: discord.Member) -> None:
        self.request(MEMBER, member.guild.id, member.id)

    async def on_member_update(self, before: discord.Member, after: discord.Member) -> None:
        self.request(MEMBER, after.guild.id, after.id)

    async def on_raw_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        self.request(MEMBER, payload.guild_id, payload.user.id)

    async def on_user_update(self, before: discord.User, after: discord.User) -> None:
        for guild in after.mutual_guilds:
            self.request(MEMBER, guild.id, after.id)

    async def on_guild_role_create(self, role: discord.Role) -> None:
        self.request(ROLES, role.guild.id)

    async def on_guild_role_update(self, before: discord.Role, after: discord.Role) -> None:
        # A role's permissions decide is_admin for everyone who has it: republish the members too.
        self.request(GUILD if before.permissions != after.permissions else ROLES, after.guild.id)

    async def on_guild_role_delete(self, role: discord.Role) -> None:
        self.request(GUILD, role.guild.id)  # members lose the role (and perhaps administrator)

    async def on_guild_channel_create(self, channel: discord.abc.GuildChannel) -> None:
        self.request(CHANNELS, channel.guild.id)

    async def on_guild_channel_update(
        self, before: discord.abc.GuildChannel, after: discord.abc.GuildChannel
    ) -> None:
        self.request(CHANNELS, after.guild.id)

    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        self.request(CHANNELS, channel.guild.id)

    async def on_voice_state_update(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        if before.channel != after.channel:
            self.request(MEMBER, member.guild.id, member.id)

    # --- the queue -------------------------------------------------------------------------

    def request(self, what: str, guild_id: int, user_id: int = 0) -> None:
        """Queue a write of `what` from the cache (a key already waiting is not queued twice)."""
        if (GUILD, guild_id, 0) in self._pending and what != GUILD:
            return  # the whole guild is rewritten anyway
        self._pending[(what, guild_id, user_id)] = None
        self._idle.clear()
        self._wakeup.set()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._run(), name="zilean-directory")

    async def idle(self) -> None:
        """Wait until every queued change is written (tests and benchmarks)."""
        await self._idle.wait()

    async def stop(self) -> None:
        """Stop the worker; changes still queued are dropped (the next start publishes everything)."""
        for handle in self._retries:
            handle.cancel()
        self._retries.clear()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None

    async def _run(self) -> None:
        while True:
            if not self._pending:
                if not self._retries:
                    self._idle.set()
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            key, _ = self._pending.popitem(last=False)
            try:
                change = await self._write(key)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._retry_later(key, exc)
                continue
            self._failures.pop(key, None)
            if change is not None and self.events is not None:
                await self._announce(key[1], change)

    async def _write(self, key: Key) -> str | None:
        """Write one key from the cache; returns the change to announce (None: nothing changed)."""
        what, guild_id, user_id = key
        guild = self._bot.get_guild(guild_id)
        if guild is None:  # the bot is not (or no longer) in it
            if what == GUILD and await self.repo.remove_guild(guild_id):
                log.info("directory: guild %s removed", guild_id)
                return "removed"
            return None
        if what == GUILD:
            if not guild.chunked:  # GUILD_CREATE listed only part of its members
                loop = asyncio.get_running_loop()
                wait = self._next_chunk_at - loop.time()
                if wait > 0:  # over the op 8 budget: come back later, write other keys meanwhile
                    self._again_in(key, wait)
                    return None
                self._next_chunk_at = loop.time() + CHUNK_SPACING_S
                await guild.chunk()  # one op 8 at a time (this worker writes one key at a time)
            started = time.perf_counter()
            members = [member_info(m) for m in guild.members]
            await self.repo.replace_guild(guild_info(guild), channel_infos(guild), role_infos(guild), members)
            log.info(
                "directory: published guild %s (%d members) in %.0f ms",
                guild_id,
                len(members),
                (time.perf_counter() - started) * 1000,
            )
            return "guild"
        if what == META:
            await self.repo.update_guild(guild_info(guild))
            return "guild"
        if what == CHANNELS:
            await self.repo.replace_channels(guild_id, channel_infos(guild))
            return "channels"
        if what == ROLES:
            await self.repo.replace_roles(guild_id, role_infos(guild))
            return "roles"
        member = guild.get_member(user_id)
        if member is None:
            await self.repo.remove_member(guild_id, user_id)
            return "member_removed"
        await self.repo.upsert_member(member_info(member))
        return "member"

    async def _announce(self, guild_id: int, change: str) -> None:
        assert self.events is not None
        try:
            await self.events.publish(guild_id, EVENT_KIND, {"change": change})
        except Exception:
            log.warning("directory: the %s change of guild %s was stored but not announced", change, guild_id)

    def _retry_later(self, key: Key, exc: Exception) -> None:
        failures = self._failures[key] = self._failures.get(key, 0) + 1
        delay = RETRY_DELAYS_S[min(failures, len(RETRY_DELAYS_S)) - 1]
        log.error(
            "directory: writing %s of guild %s failed (%s); retrying in %.0f s", key[0], key[1], exc, delay
        )
        self._again_in(key, delay)

    def _again_in(self, key: Key, delay: float) -> None:
        """Queue `key` again after `delay` seconds (idle() waits for it)."""

        def again() -> None:
            self._retries.discard(handle)
            self.request(*key)

        handle = asyncio.get_running_loop().call_later(delay, again)
        self._retries.add(handle)
