"""Track: the value that flows from sources through the queue into the player."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class Track:
    """One playable item.

    `url` is what users see and what identifies the track (a web page, a file URL, `local:…`);
    `stream_url` is the media URL ffmpeg reads, which expires and is resolved shortly before playing.
    """

    title: str
    url: str
    source: str  # "youtube", "soundcloud", "http", "upload", "spotify", "local", "search", ...
    duration_ms: int | None = None
    stream_url: str | None = None
    thumbnail: str | None = None
    artist: str | None = None
    requester_id: int | None = None
    autoplay: bool = False  # chosen by autoplay when the queue ran out, not requested

    def with_stream(self, stream_url: str) -> Track:
        return replace(self, stream_url=stream_url)
