"""What the dashboard shows, as frozen dataclasses with `.json()` in the API's shape (ids as strings).

Pages get these objects from zilean.web.services; the JSON API returns `.json()` of the same objects,
so both always agree. Discord ids are strings in JSON (they exceed JavaScript's 2^53).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from zilean.core.track import Track

# The bus and the database say "track" for repeating one song; the dashboard and Discord say "one".
LOOP_TO_WEB = {"off": "off", "track": "one", "queue": "queue"}
LOOP_FROM_WEB = {web: bus for bus, web in LOOP_TO_WEB.items()}


def sid(value: int | None) -> str | None:
    """A Discord id as JSON wants it."""
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class TrackView:
    """A track as the dashboard shows it."""

    title: str
    url: str | None
    duration_ms: int | None
    artist: str | None = None
    thumbnail: str | None = None
    requester_id: int | None = None
    source: str | None = None
    autoplay: bool = False  # chosen by autoplay, not requested

    @classmethod
    def of(cls, track: Track) -> TrackView:
        """From a core Track."""
        return cls(
            title=track.title,
            url=track.url,
            duration_ms=track.duration_ms,
            artist=track.artist,
            thumbnail=track.thumbnail,
            requester_id=track.requester_id,
            source=track.source,
            autoplay=track.autoplay,
        )

    @classmethod
    def from_payload(cls, data: dict[str, Any] | None) -> TrackView | None:
        """From the "track" object of a bus "player" event."""
        if not data:
            return None
        return cls(
            title=str(data.get("title") or ""),
            url=data.get("url"),
            duration_ms=data.get("duration_ms"),
            artist=data.get("artist"),
            thumbnail=data.get("thumbnail"),
            requester_id=data.get("requester_id"),
            source=data.get("source"),
            autoplay=bool(data.get("autoplay")),
        )

    def json(self) -> dict[str, Any]:
        """The API's track object."""
        return {
            "title": self.title,
            "url": self.url,
            "duration_ms": self.duration_ms,
            "artist": self.artist,
            "thumbnail": self.thumbnail,
            "requester_id": sid(self.requester_id),
            "source": self.source,
            "autoplay": self.autoplay,
        }


@dataclass(frozen=True, slots=True)
class StatusView:
    """A guild's player: GET /api/servers/{id}/status and the "player" live event.

    `position_ms` is the position at `anchor_at` (ISO time, None when paused or idle); a page
    advances the bar itself from that anchor while not paused, with no request per second.
    `position_now_ms` is the position at the time the view was built.
    """

    guild_id: int
    bot_online: bool
    connected: bool
    paused: bool
    volume: int
    effects: tuple[str, ...]
    loop: str  # "off" | "one" | "queue"
    position_ms: int
    anchor_at: datetime | None
    position_now_ms: int
    track: TrackView | None
    voice_channel_id: int | None = None

    def json(self) -> dict[str, Any]:
        """The API's status object."""
        return {
            "guild_id": str(self.guild_id),
            "bot_online": self.bot_online,
            "connected": self.connected,
            "paused": self.paused,
            "volume": self.volume,
            "effects": list(self.effects),
            "loop": self.loop,
            "position_ms": self.position_now_ms,
            "anchor_position_ms": self.position_ms,
            "anchor_at": self.anchor_at.isoformat() if self.anchor_at else None,
            "track": self.track.json() if self.track else None,
            "voice_channel_id": sid(self.voice_channel_id),
        }


@dataclass(frozen=True, slots=True)
class ServerView:
    """One server in the user's list: GET /api/servers and the /guilds page."""

    id: int
    name: str
    icon_url: str | None
    playing: TrackView | None
    paused: bool = False
    listeners: int = 0
    bot_online: bool = False

    def json(self) -> dict[str, Any]:
        """The API's server object."""
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": self.icon_url,
            "playing": self.playing.json() if self.playing else None,
            "paused": self.paused,
            "listeners": self.listeners,
            "bot_online": self.bot_online,
        }


@dataclass(frozen=True, slots=True)
class InvitableServer:
    """A server the user manages (from their login) where the bot is missing: an "Add the bot" link."""

    id: int
    name: str
    icon_url: str | None
    invite_url: str


@dataclass(frozen=True, slots=True)
class QueueEntryView:
    """One upcoming track; `place` is its 1-based place in the queue (what `move`'s "to" counts in)."""

    id: int
    place: int
    track: TrackView

    def json(self) -> dict[str, Any]:
        """The API's queue entry object."""
        return {
            "id": str(self.id),
            "place": self.place,
            "title": self.track.title,
            "url": self.track.url,
            "duration_ms": self.track.duration_ms,
            "artist": self.track.artist,
            "thumbnail": self.track.thumbnail,
            "requester_id": sid(self.track.requester_id),
        }


@dataclass(frozen=True, slots=True)
class QueuePage:
    """A slice of the queue: GET /api/servers/{id}/queue. `next_cursor` is None on the last page."""

    entries: tuple[QueueEntryView, ...]
    total: int
    duration_ms: int
    next_cursor: str | None

    def json(self) -> dict[str, Any]:
        """The API's queue page object."""
        return {
            "entries": [entry.json() for entry in self.entries],
            "total": self.total,
            "duration_ms": self.duration_ms,
            "next_cursor": self.next_cursor,
        }


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """A recently played track."""

    id: int
    track: TrackView
    played_at: datetime

    def json(self) -> dict[str, Any]:
        """The API's history object."""
        return {"id": str(self.id), "played_at": self.played_at.isoformat(), **self.track.json()}


@dataclass(frozen=True, slots=True)
class ActionResult:
    """How a control ended: `ok`, the bot's reply or refusal (`message`), and the HTTP status to answer.

    200 done; 400 bad input; 403 refused by the bot's checks; 404 unknown action; 429 rate limited
    (`retry_after_s` set); 500 the bot failed; 503 the bot is offline; 504 no answer in time.
    """

    ok: bool
    message: str
    http_status: int = 200
    retry_after_s: int | None = None
    command_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def json(self) -> dict[str, Any]:
        """The API's answer body: {"ok": true, "message"} or {"ok": false, "error"}."""
        if self.ok:
            return {"ok": True, "message": self.message, **self.extra}
        return {"ok": False, "error": self.message, **self.extra}
