"""What the player tells listeners: state, events and the end reason that decides if the queue advances."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PlayerState(StrEnum):
    """Where the player's state machine is."""

    IDLE = "idle"  # nothing loaded; read_frame() returns None
    LOADING = "loading"  # ffmpeg started, no packet yet; read_frame() hands out silence
    PLAYING = "playing"
    PAUSED = "paused"


class EndReason(StrEnum):
    """Why a track stopped playing (lavaplayer's vocabulary)."""

    FINISHED = "finished"  # played to the end
    FAILED = "failed"  # the pipeline broke; the event carries a user-safe message
    STOPPED = "stopped"  # a user or the bot stopped playback
    REPLACED = "replaced"  # another track was started in its place

    @property
    def may_advance(self) -> bool:
        """True when the queue should move on to the next entry."""
        return self in (EndReason.FINISHED, EndReason.FAILED)


@dataclass(frozen=True, slots=True)
class TrackStarted:
    """The first frame of a track was handed to the sink."""

    tag: object
    position_ms: int


@dataclass(frozen=True, slots=True)
class TrackPaused:
    """Playback was paused at `position_ms`."""

    tag: object
    position_ms: int


@dataclass(frozen=True, slots=True)
class TrackResumed:
    """Playback resumed at `position_ms`."""

    tag: object
    position_ms: int


@dataclass(frozen=True, slots=True)
class TrackEnded:
    """A track ended; `message` is set (and safe to show users) only when `reason` is FAILED."""

    tag: object
    reason: EndReason
    position_ms: int
    message: str | None = None


PlayerEvent = TrackStarted | TrackPaused | TrackResumed | TrackEnded
