"""What the dashboard does, shared by the JSON API and the HTML pages (both call these, nothing else).

    services = request.app.state.web.services          # or the `Services` dependency (web/deps.py)
    await services.servers_for(user)                    # list[ServerView]: guilds shared with the bot
    await services.invitable_servers(user)              # list[InvitableServer]: managed, bot missing
    await services.guild_status(guild_id)               # StatusView
    await services.queue_page(guild_id, cursor, limit)  # QueuePage (cursor None = the start)
    await services.history(guild_id, limit)             # list[HistoryItem], newest first
    await services.act(user, guild_id, "pause", {}, client_ip="…")  # ActionResult

Access control is NOT done here: callers get the guild through the `GuildAccess` dependency, which
checks the bot's live view of members first. `act` runs every control through the bus and the bot's
own checks and returns the bot's reply or refusal as it is.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from zilean.config import Settings
from zilean.db import Database
from zilean.db.bus import BotProcess, Bus
from zilean.db.connector import utcnow
from zilean.db.errors import DatabaseError
from zilean.db.records import PlayerState
from zilean.web.actions import ACTIONS, PLAY_ACTIONS, Body, MoveBody, RemoveBody, bus_payload
from zilean.web.ratelimit import RateLimiter
from zilean.web.sessions import SessionUser
from zilean.web.views import (
    LOOP_TO_WEB,
    ActionResult,
    HistoryItem,
    InvitableServer,
    QueueEntryView,
    QueuePage,
    ServerView,
    StatusView,
    TrackView,
)

log = logging.getLogger(__name__)

ONLINE_TTL_S = 1.0
DEFAULT_PAGE = 50
MAX_PAGE = 200
BOT_OFFLINE = "the bot is offline"
NO_ANSWER = "The bot did not answer in time; it may still do it."
# Discord's MANAGE_GUILD and ADMINISTRATOR permission bits: who may invite the bot.
MANAGE_GUILD = 1 << 5
ADMINISTRATOR = 1 << 3
INVITE_PERMISSIONS = 3230720  # View Channels, Send Messages, Embed Links, Read History, Connect, Speak


def icon_url(guild_id: int, icon: str | None) -> str | None:
    """Discord's CDN URL for a guild icon hash (a full URL is kept as it is)."""
    if not icon:
        return None
    if icon.startswith(("http://", "https://", "/")):
        return icon
    return f"https://cdn.discordapp.com/icons/{guild_id}/{icon}.png?size=128"


def status_from_state(
    guild_id: int, state: PlayerState | None, *, bot_online: bool, volume: int = 100
) -> StatusView:
    """A StatusView from the saved player state (None: nothing saved yet)."""
    now = utcnow()
    if state is None:
        return StatusView(
            guild_id=guild_id,
            bot_online=bot_online,
            connected=False,
            paused=False,
            volume=volume,
            effects=(),
            loop="off",
            position_ms=0,
            anchor_at=None,
            position_now_ms=0,
            track=None,
        )
    return StatusView(
        guild_id=guild_id,
        bot_online=bot_online,
        connected=state.voice_channel_id is not None,
        paused=state.paused,
        volume=state.volume,
        effects=tuple(state.effects),
        loop=LOOP_TO_WEB.get(state.loop_mode, "off"),
        position_ms=state.position_ms,
        anchor_at=state.anchor_at if state.track is not None else None,
        position_now_ms=state.position_at(now) if state.track is not None else 0,
        track=TrackView.of(state.track) if state.track is not None else None,
        voice_channel_id=state.voice_channel_id,
    )


def parse_cursor(cursor: str | None) -> int:
    """The offset an opaque queue cursor stands for (ValueError when it is not one of ours)."""
    if cursor in (None, ""):
        return 0
    offset = int(str(cursor))
    if offset < 0:
        raise ValueError("negative cursor")
    return offset


class Services:
    """The dashboard's operations on one Database and Bus."""

    def __init__(self, settings: Settings, db: Database, bus: Bus, limiter: RateLimiter) -> None:
        self.settings = settings
        self.db = db
        self.bus = bus
        self.limiter = limiter
        self._live: list[BotProcess] = []
        self._live_at: float | None = None

    @property
    def bot_user_id(self) -> int | None:
        """The bot's user id (Discord: the application id), so it is not counted as a listener."""
        client_id = self.settings.discord_client_id
        return int(client_id) if client_id and client_id.isdigit() else None

    # --- reading -----------------------------------------------------------------------------

    async def bot_online(self, guild_id: int) -> bool:
        """True while a live bot process runs the guild's shard. An "online" answer is reused for
        ONLINE_TTL_S (every page and status request asks; bots beat every 2 s and count as gone after
        10 s), so a bot that just stopped may read as online for that long more."""
        now = time.monotonic()
        fresh = self._live_at is not None and now - self._live_at < ONLINE_TTL_S
        if fresh and any(process.owns(guild_id) for process in self._live):
            return True
        # "offline" is never served from the cache: a bot that just started counts at once
        stale = timedelta(seconds=self.bus.options.timing.stale_after_s)
        self._live = await self.bus.heartbeats.live(stale)
        self._live_at = now
        return any(process.owns(guild_id) for process in self._live)

    async def servers_for(self, user: SessionUser) -> list[ServerView]:
        """The servers the user shares with the bot (the bot's live member view), by name."""
        servers = []
        for guild in await self.db.directory.guilds_of(user.id):
            gid = guild.guild_id
            state = await self.db.player_state.load(gid)
            listeners = 0
            if state is not None and state.voice_channel_id is not None:
                members = await self.db.directory.voice_members(gid, state.voice_channel_id)
                listeners = sum(1 for member in members if member.user_id != self.bot_user_id)
            servers.append(
                ServerView(
                    id=gid,
                    name=guild.name,
                    icon_url=guild.icon_url,
                    playing=TrackView.of(state.track) if state and state.track else None,
                    paused=bool(state and state.paused),
                    listeners=listeners,
                    bot_online=await self.bot_online(gid),
                )
            )
        return sorted(servers, key=lambda server: server.name.casefold())

    async def invitable_servers(self, user: SessionUser) -> list[InvitableServer]:
        """Servers from the user's login that they manage and the bot is not in: "Add the bot" links."""
        shared = {guild.guild_id for guild in await self.db.directory.guilds_of(user.id)}
        found = []
        for raw in user.session.discord_guilds:
            try:
                guild_id = int(raw["id"])
                permissions = int(raw.get("permissions") or 0)
            except (KeyError, TypeError, ValueError):
                continue
            manages = bool(raw.get("owner")) or permissions & (MANAGE_GUILD | ADMINISTRATOR)
            if guild_id in shared or not manages:
                continue
            found.append(
                InvitableServer(
                    id=guild_id,
                    name=str(raw.get("name") or guild_id),
                    icon_url=icon_url(guild_id, raw.get("icon")),
                    invite_url=self.invite_url(guild_id),
                )
            )
        return sorted(found, key=lambda server: server.name.casefold())

    def invite_url(self, guild_id: int | None = None) -> str:
        """The bot's invite link (for one guild when given)."""
        origin = _origin(self.settings.discord_api_base)
        url = (
            f"{origin}/oauth2/authorize?client_id={self.settings.discord_client_id or ''}"
            f"&scope=bot+applications.commands&permissions={INVITE_PERMISSIONS}"
        )
        return f"{url}&guild_id={guild_id}&disable_guild_select=true" if guild_id else url

    async def latest_event_id(self) -> int:
        """The newest bus event id: a page renders with it and opens its stream with ?after=ID."""
        return await self.bus.events.latest_id()

    async def guild_status(self, guild_id: int) -> StatusView:
        """The player of a guild as the database has it, with whether the bot is online."""
        state = await self.db.player_state.load(guild_id)
        volume = 100
        if state is None:
            volume = (await self.db.guild_settings.get(guild_id)).volume
        return status_from_state(guild_id, state, bot_online=await self.bot_online(guild_id), volume=volume)

    async def queue_page(
        self, guild_id: int, cursor: str | None = None, limit: int = DEFAULT_PAGE
    ) -> QueuePage:
        """A page of the queue from `cursor` (None: the start); ValueError for a cursor not ours."""
        offset = parse_cursor(cursor)
        limit = max(1, min(limit, MAX_PAGE))
        entries = await self.db.queue.page(guild_id, offset, limit)
        summary = await self.db.queue.summary(guild_id)
        end = offset + len(entries)
        return QueuePage(
            entries=tuple(
                QueueEntryView(id=entry.id, place=offset + i + 1, track=TrackView.of(entry.track))
                for i, entry in enumerate(entries)
            ),
            total=summary.count,
            duration_ms=summary.duration_ms,
            next_cursor=str(end) if end < summary.count else None,
        )

    async def history(self, guild_id: int, limit: int = 15) -> list[HistoryItem]:
        """Recently played tracks, newest first."""
        entries = await self.db.history.recent(guild_id, max(1, min(limit, 100)))
        return [HistoryItem(id=e.id, track=TrackView.of(e.track), played_at=e.played_at) for e in entries]

    # --- acting ------------------------------------------------------------------------------

    async def act(
        self,
        user: SessionUser,
        guild_id: int,
        action: str,
        payload: Mapping[str, Any] | Body | None = None,
        *,
        client_ip: str | None = None,
    ) -> ActionResult:
        """Run one control as `user` through the bus and the bot's checks; never raises for the user's
        mistakes. `payload` is the API body (a dict, e.g. from a form, or an already validated Body)."""
        spec = ACTIONS.get(action)
        if spec is None:
            return ActionResult(False, f"unknown action {action!r}", 404)
        model, bus_action = spec
        try:
            body = payload if isinstance(payload, model) else model.model_validate(dict(payload or {}))
        except ValidationError as exc:
            return ActionResult(False, _validation_message(exc), 422)
        limited = await self._limited(user, action, client_ip)
        if limited is not None:
            return limited
        if not await self.bot_online(guild_id):
            return ActionResult(False, BOT_OFFLINE, 503)
        index = None
        if isinstance(body, MoveBody | RemoveBody):
            index = await self.db.queue.index_of(guild_id, body.entry_id)
            if index is None:
                return ActionResult(False, "That track is no longer in the queue.", 400)
            index += 1
        try:
            command = await self.bus.send(
                guild_id,
                bus_action,
                bus_payload(body, index),
                user_id=user.id,
                timeout_s=self.settings.web_command_timeout_s,
            )
        except DatabaseError as exc:
            log.error("cannot queue %s for guild %s: %s", action, guild_id, exc.message)
            return ActionResult(False, "The dashboard cannot reach its database; try again.", 503)
        return _result(command.status, command.outcome, command.id)

    async def run_command(
        self,
        user: SessionUser,
        guild_id: int,
        bus_action: str,
        payload: dict[str, Any],
        *,
        client_ip: str | None = None,
    ) -> ActionResult:
        """Send an already validated bus command (the managers' settings and permission edits) with the
        same rate limits, offline answer and outcome mapping as `act`."""
        limited = await self._limited(user, bus_action, client_ip)
        if limited is not None:
            return limited
        if not await self.bot_online(guild_id):
            return ActionResult(False, BOT_OFFLINE, 503)
        try:
            command = await self.bus.send(
                guild_id, bus_action, payload, user_id=user.id, timeout_s=self.settings.web_command_timeout_s
            )
        except DatabaseError as exc:
            log.error("cannot queue %s for guild %s: %s", bus_action, guild_id, exc.message)
            return ActionResult(False, "The dashboard cannot reach its database; try again.", 503)
        return _result(command.status, command.outcome, command.id)

    async def _limited(self, user: SessionUser, action: str, client_ip: str | None) -> ActionResult | None:
        checks = [("action", str(user.id))]
        if client_ip:
            checks.append(("ip-action", client_ip))
        if action in PLAY_ACTIONS:
            checks.append(("play", str(user.id)))
        for rule, key in checks:
            wait = await self.limiter.hit(rule, key)
            if wait is not None:
                what = "songs added" if rule == "play" else "actions"
                return ActionResult(
                    False, f"Too many {what}; try again in {wait} s.", 429, retry_after_s=wait
                )
        return None


def _result(status: str, outcome: str | None, command_id: int) -> ActionResult:
    message = outcome or ""
    if status == "done":
        return ActionResult(True, message or "Done.", 200, command_id=command_id)
    if status == "refused":
        return ActionResult(False, message or "The bot refused.", 403, command_id=command_id)
    if status == "failed":
        return ActionResult(False, message or "The bot could not do that.", 500, command_id=command_id)
    if status == "expired":
        return ActionResult(False, BOT_OFFLINE, 503, command_id=command_id)
    return ActionResult(
        False, "The bot did not answer in time; it may still do it.", 504, command_id=command_id
    )


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def _origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
