"""What the player page shows, read from the database: one builder per fragment.

Each builder returns the context its template needs, so a page load, an htmx swap and an SSE push
render the same fragment from the same data. Nothing here asks Discord: guild names, members and
who is in voice come from the bot's published directory.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from zilean.core.effects import EFFECTS
from zilean.core.track import Track
from zilean.db import Database
from zilean.db.bus import Bus
from zilean.db.records import MemberInfo, PlayerState

QUEUE_PAGE = 50  # rows per queue page: the first renders with the page, the rest load on scroll
HISTORY_SIZE = 10
# The database says "track" for repeating one song; the dashboard says "one", as Discord users do.
LOOP_TO_WEB = {"off": "off", "track": "one", "queue": "queue"}
PLAYABLE_LINK = ("http://", "https://")


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who looks at the page: their id, the name shown and the session's CSRF token."""

    user_id: int
    name: str
    avatar_url: str | None
    csrf_token: str


class Names:
    """Display names of members, looked up once per render."""

    def __init__(self, db: Database, guild_id: int) -> None:
        self._db = db
        self._guild_id = guild_id
        self._known: dict[int, str] = {}

    async def of(self, user_id: int | None) -> str | None:
        """The member's display name (or "user ID" when the bot does not know them)."""
        if user_id is None:
            return None
        if user_id not in self._known:
            member = await self._db.directory.member(self._guild_id, user_id)
            self._known[user_id] = member.display_name if member else f"user {user_id}"
        return self._known[user_id]


def guild_view(guild_id: int, name: str, icon_url: str | None) -> dict[str, Any]:
    """The guild as templates use it (ids as strings, like the JSON API)."""
    return {"id": str(guild_id), "name": name, "icon_url": icon_url, "initials": initials(name)}


def initials(name: str) -> str:
    """Up to two letters for a server without an icon."""
    words = [w for w in name.split() if w]
    return "".join(w[0] for w in words[:2]).upper() or "?"


def link_of(track: Track) -> str | None:
    """The page to link the title to: only web links (not local paths or uploads' internals)."""
    return track.url if track.url.startswith(PLAYABLE_LINK) else None


async def nowplaying(state: PlayerState | None, names: Names, now: datetime | None = None) -> dict[str, Any]:
    """The now-playing fragment: the track, the position now and whether it is paused."""
    if state is None or state.track is None:
        return {"np": None}
    track = state.track
    return {
        "np": {
            "title": track.title,
            "link": link_of(track),
            "artist": track.artist,
            "requester": "Autoplay" if track.autoplay else await names.of(track.requester_id),
            "autoplay": track.autoplay,
            "duration_ms": track.duration_ms,
            "position_ms": state.position_at(now or datetime.now(UTC)),
            "paused": state.paused,
            "thumbnail": track.thumbnail
            if track.thumbnail and track.thumbnail.startswith(PLAYABLE_LINK)
            else None,
        }
    }


def controls(state: PlayerState | None, default_volume: int) -> dict[str, Any]:
    """The controls fragment: volume, loop mode and the effects as toggles."""
    active = set(state.effects) if state else set()
    return {
        "volume": state.volume if state else default_volume,
        "loop_mode": LOOP_TO_WEB.get(state.loop_mode, "off") if state else "off",
        "effects": [
            {"name": e.name, "description": e.description, "on": e.name in active} for e in EFFECTS.values()
        ],
    }


async def queue(db: Database, guild_id: int, names: Names, offset: int = 0) -> dict[str, Any]:
    """One page of the queue from `offset`, with the totals; never the whole queue."""
    summary = await db.queue.summary(guild_id)
    offset = max(0, min(offset, summary.count))
    entries = await db.queue.page(guild_id, offset, QUEUE_PAGE)
    rows = [
        {
            "id": entry.id,
            "title": entry.track.title,
            "duration_ms": entry.track.duration_ms,
            "requester": await names.of(entry.track.requester_id),
        }
        for entry in entries
    ]
    end = offset + len(rows)
    return {
        "queue": {
            "count": summary.count,
            "duration_ms": summary.duration_ms,
            "unknown_durations": summary.unknown_durations,
            "entries": rows,
            "offset": offset,
            "next_offset": end if end < summary.count else None,
        }
    }


async def history(db: Database, guild_id: int) -> dict[str, Any]:
    """The recently-played fragment (newest first), each with what to queue again."""
    recent = await db.history.recent(guild_id, HISTORY_SIZE)
    return {
        "history": [
            {"title": h.track.title, "url": h.track.url, "duration_ms": h.track.duration_ms} for h in recent
        ]
    }


def voice(
    state: PlayerState | None, member: MemberInfo | None, channel_names: dict[int, str]
) -> dict[str, Any]:
    """Where the viewer and the bot are in voice: "Join my voice channel" shows when only the viewer is."""
    bot_channel = state.voice_channel_id if state else None
    user_channel_id = member.voice_channel_id if member else None
    user_channel = None
    if user_channel_id is not None:
        user_channel = channel_names.get(user_channel_id, "a voice channel")
    return {
        "voice": {
            "bot_channel": bot_channel,
            "user_channel": user_channel,
            "can_join": user_channel_id is not None and bot_channel is None,
        }
    }


FRAGMENTS = ("banner", "nowplaying", "controls", "queue", "history")


async def _nothing() -> None:
    return None


async def player_context(
    db: Database,
    bus: Bus,
    guild: dict[str, Any],
    viewer: Viewer,
    *,
    kinds: tuple[str, ...] = FRAGMENTS,
    queue_offset: int = 0,
) -> dict[str, Any]:
    """The context of the named fragments (all of them: the whole player page).

    The independent reads run side by side: on a live update this is the time between the bot's
    event and the other pages seeing it.
    """
    guild_id = int(guild["id"])
    names = Names(db, guild_id)
    state, owner, member, recent = await asyncio.gather(
        db.player_state.load(guild_id),
        bus.owner_of(guild_id),
        db.directory.member(guild_id, viewer.user_id),
        history(db, guild_id) if "history" in kinds else _nothing(),
    )
    channel_names: dict[int, str] = {}
    if member is not None and member.voice_channel_id is not None:
        channel_names = {c.channel_id: c.name for c in await db.directory.channels(guild_id, "voice")}
    context: dict[str, Any] = {
        "guild": guild,
        "csrf_token": viewer.csrf_token,
        "bot_online": owner is not None,
    }
    # the banner (bot offline, the join offer) and the now-playing hint both use the voice state
    context.update(voice(state, member, channel_names))
    if "nowplaying" in kinds or "controls" in kinds:
        context.update(await nowplaying(state, names))
    if "controls" in kinds:
        default_volume = (await db.guild_settings.get(guild_id)).volume if state is None else 0
        context.update(controls(state, default_volume))
    if "queue" in kinds:
        context.update(await queue(db, guild_id, names, queue_offset))
    if recent is not None:
        context.update(recent)
    return context


def is_link(query: str) -> bool:
    """True for a link (played at once); search words and `local:` queries get a picker instead."""
    return query.strip().lower().startswith(PLAYABLE_LINK)
