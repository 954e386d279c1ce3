"""A guild's per-member limits on what may be queued: the longest track and how many tracks one member
may have waiting. Pure: the bot asks before it queues and refuses (or trims a playlist) with a reason."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from zilean.core.errors import ZileanError
from zilean.core.track import Track


class LimitReached(ZileanError):
    """Nothing could be queued: the reason says which limit and what it is."""


@dataclass(frozen=True, slots=True)
class QueueLimits:
    """None means no limit."""

    max_track_length_s: int | None = None
    max_queue_per_member: int | None = None


@dataclass(frozen=True, slots=True)
class Admitted:
    """The tracks that may be queued, and a note on what was left out (None: nothing)."""

    tracks: list[Track]
    note: str | None = None


def clock(seconds: int) -> str:
    """Seconds as M:SS or H:MM:SS."""
    hours, rest = divmod(max(0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def admit(tracks: Sequence[Track], limits: QueueLimits, queued_by_member: int) -> Admitted:
    """The tracks a member may add now, given how many of theirs are already waiting.

    Tracks of unknown length (streams) pass the length limit: there is nothing to compare.
    Raises LimitReached when none may be added.
    """
    longest = limits.max_track_length_s
    fitting = [
        t for t in tracks if longest is None or t.duration_ms is None or t.duration_ms <= longest * 1000
    ]
    notes = []
    if len(fitting) < len(tracks):
        if len(tracks) == 1:
            length = clock((tracks[0].duration_ms or 0) // 1000)
            raise LimitReached(
                f"That track is {length} long; this server allows tracks up to {clock(longest or 0)}."
            )
        notes.append(f"{len(tracks) - len(fitting)} longer than {clock(longest or 0)} left out")
        if not fitting:
            raise LimitReached(
                f"Every track there is longer than this server's limit of {clock(longest or 0)}."
            )
    cap = limits.max_queue_per_member
    if cap is not None:
        room = cap - queued_by_member
        if room <= 0:
            raise LimitReached(
                f"You already have {queued_by_member} tracks waiting; this server allows {cap} per member."
            )
        if len(fitting) > room:
            notes.append(f"{len(fitting) - room} over your limit of {cap} queued tracks left out")
            fitting = fitting[:room]
    return Admitted(fitting, "; ".join(notes) if notes else None)
