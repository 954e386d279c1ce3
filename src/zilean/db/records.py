"""Frozen dataclasses the repositories return, and the Track <-> row mapping they share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from zilean.core.track import Track

LoopMode = Literal["off", "track", "queue"]
Origin = Literal["discord", "web", "cli"]
TargetKind = Literal["role", "user"]
ChannelKind = Literal["voice", "text"]

DEFAULT_VOLUME = 100  # shown percent; the gain applied is volume / 100 × 0.25
DEFAULT_IDLE_TIMEOUT_S = 300
DEFAULT_VOTE_SKIP_RATIO = 0.5
DEFAULT_AUDIT_RETENTION_DAYS = 90


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """One upcoming track; `id` stays valid while the entry is in the queue."""

    id: int
    track: Track
    added_at: datetime


@dataclass(frozen=True, slots=True)
class QueueSummary:
    """Length and total play time of a queue (entries without a duration, e.g. streams, are counted)."""

    count: int
    duration_ms: int
    unknown_durations: int


@dataclass(frozen=True, slots=True)
class GuildSettings:
    """Per-guild settings; a guild nobody configured gets these defaults. prefix None: COMMAND_PREFIX."""

    guild_id: int
    prefix: str | None = None
    volume: int = DEFAULT_VOLUME
    effects: tuple[str, ...] = ()
    loop_mode: LoopMode = "off"
    dj_role_id: int | None = None
    idle_timeout_s: int = DEFAULT_IDLE_TIMEOUT_S
    always_on: bool = False
    announce_channel_id: int | None = None
    updated_at: datetime | None = None
    vote_skip_ratio: float = DEFAULT_VOTE_SKIP_RATIO
    max_track_length_s: int | None = None  # None: no limit
    max_queue_per_member: int | None = None  # None: no limit
    audit_retention_days: int = DEFAULT_AUDIT_RETENTION_DAYS
    eq: Mapping[str, float] = field(default_factory=dict)  # {"hz": dB} of the bands not at 0
    fair_queue: bool = False  # interleave requesters round-robin
    autoplay: bool = False  # when the queue runs out, keep playing related tracks


@dataclass(frozen=True, slots=True)
class EqPreset:
    """A server's saved equalizer preset."""

    guild_id: int
    name: str
    gains: Mapping[str, float]
    created_by: int | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PlayerState:
    """What a guild's player is doing, saved so a restarted bot can resume at the right position.

    The position is an anchor: at `anchor_at` playback was at `position_ms`; while not paused it
    advances with the wall clock, so nobody has to write the position every second.
    """

    guild_id: int
    voice_channel_id: int | None = None
    text_channel_id: int | None = None
    track: Track | None = None
    position_ms: int = 0
    anchor_at: datetime | None = None
    paused: bool = False
    volume: int = DEFAULT_VOLUME
    effects: tuple[str, ...] = ()
    loop_mode: LoopMode = "off"
    updated_at: datetime | None = None

    def position_at(self, now: datetime) -> int:
        """The playback position at `now`, in ms (capped at the track's duration when known)."""
        position = self.position_ms
        if not self.paused and self.anchor_at is not None:
            position += max(0, int((now - self.anchor_at).total_seconds() * 1000))
        if self.track is not None and self.track.duration_ms is not None:
            position = min(position, self.track.duration_ms)
        return position


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """A track that was played."""

    id: int
    guild_id: int
    track: Track
    played_at: datetime


@dataclass(frozen=True, slots=True)
class PermissionRule:
    """What one role or member may do; None means "not set here", which differs from False (denied)."""

    guild_id: int
    target_kind: TargetKind
    target_id: int
    can_play: bool | None = None
    can_skip: bool | None = None
    can_clear: bool | None = None
    can_settings: bool | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """Who did what, from where."""

    id: int
    guild_id: int | None
    actor_id: int | None
    origin: Origin
    action: str
    detail: dict[str, Any] = field(default_factory=dict)
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class GuildInfo:
    """A guild as the bot sees it (the directory)."""

    guild_id: int
    name: str
    icon_url: str | None = None
    owner_id: int | None = None


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """A voice or text channel of a guild."""

    guild_id: int
    channel_id: int
    kind: ChannelKind
    name: str
    position: int = 0


@dataclass(frozen=True, slots=True)
class RoleInfo:
    """A role of a guild; `permissions` is Discord's permission bit field."""

    guild_id: int
    role_id: int
    name: str
    position: int = 0
    color: int = 0
    permissions: int = 0


@dataclass(frozen=True, slots=True)
class MemberInfo:
    """A member of a guild as the bot's live view has it; `voice_channel_id` None: not in voice."""

    guild_id: int
    user_id: int
    name: str
    display_name: str
    avatar_url: str | None = None
    role_ids: tuple[int, ...] = ()
    is_owner: bool = False
    is_admin: bool = False
    voice_channel_id: int | None = None


def track_values(track: Track, prefix: str = "") -> dict[str, Any]:
    """Column values for a Track (the stream URL expires, so it is never stored)."""
    return {
        f"{prefix}title": track.title,
        f"{prefix}url": track.url,
        f"{prefix}source": track.source,
        f"{prefix}duration_ms": track.duration_ms,
        f"{prefix}thumbnail": track.thumbnail,
        f"{prefix}artist": track.artist,
        f"{prefix}requester_id": track.requester_id,
        f"{prefix}autoplay": track.autoplay,
    }


def track_from(row: Mapping[str, Any], prefix: str = "") -> Track:
    """The Track stored in a row's track columns."""
    return Track(
        title=row[f"{prefix}title"],
        url=row[f"{prefix}url"],
        source=row[f"{prefix}source"],
        duration_ms=row[f"{prefix}duration_ms"],
        thumbnail=row[f"{prefix}thumbnail"],
        artist=row[f"{prefix}artist"],
        requester_id=row[f"{prefix}requester_id"],
        autoplay=bool(row[f"{prefix}autoplay"]),
    )


@dataclass(frozen=True, slots=True)
class WebSession:
    """A dashboard login, found by the hash of its cookie; tokens stay encrypted here."""

    id_hash: str
    user_id: int
    username: str
    avatar: str | None
    csrf_token: str
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime | None = None
    access_token_enc: str | None = None
    refresh_token_enc: str | None = None
    token_expires_at: datetime | None = None
    discord_guilds: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class LoginState:
    """An OAuth2 login in flight: the browser it belongs to, its PKCE verifier (encrypted), where to go."""

    state_hash: str
    browser_hash: str
    verifier_enc: str
    next_path: str | None
    expires_at: datetime
