"""Load results (lavaplayer style): every resolution ends in exactly one of these four."""

from __future__ import annotations

from dataclasses import dataclass, field

from zilean.core.track import Track


@dataclass(frozen=True, slots=True)
class TrackLoaded:
    """The query named one track; `note` says so when it came from a fallback search provider."""

    track: Track
    note: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class PlaylistLoaded:
    """The query named a playlist or album.

    `truncated_from` is None when every track is here; otherwise how many the source had
    (at least `len(tracks) + 1` when the source does not say).
    """

    name: str
    tracks: tuple[Track, ...]
    truncated_from: int | None = None


@dataclass(frozen=True, slots=True)
class NoMatches:
    """A search found nothing."""

    query: str


@dataclass(frozen=True, slots=True)
class LoadFailed:
    """The query could not be loaded; `message` is safe to show users, `cause` is for metrics."""

    message: str
    # errors.cause_of: unsafe_url, source, playback, …, internal; not part of what the result "is"
    cause: str = field(default="source", compare=False)


LoadResult = TrackLoaded | PlaylistLoaded | NoMatches | LoadFailed
