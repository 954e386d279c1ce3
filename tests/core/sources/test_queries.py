"""How the resolver reads a query before resolving it."""

from __future__ import annotations

import pytest

from zilean.core.sources.resolver import _URL_LIKE, _clean, track_from_entry


@pytest.mark.parametrize(
    ("query", "cleaned"),
    [
        ("  <https://example.com/a.mp3>  ", "https://example.com/a.mp3"),
        ("www.example.com/a.mp3", "https://www.example.com/a.mp3"),
        ("never gonna give you up", "never gonna give you up"),
        ("a\x00b\x1b[31mc\x7f", "a b [31mc"),  # control characters are spaces
        ("\u202eevil\u2066 song\u200f", "evil song"),  # bidirectional controls go
        ("\t\n local:tone \r\n", "local:tone"),
        ("🧑\u200d🎤 singer", "🧑\u200d🎤 singer"),  # the zero-width joiner of emoji stays
    ],
)
def test_clean(query: str, cleaned: str) -> None:
    assert _clean(query) == cleaned


@pytest.mark.parametrize(
    ("query", "is_link"),
    [
        ("https://example.com/", True),
        ("FILE:///etc/passwd", True),
        ("file:/etc/passwd", True),
        ("data:text/html,hi", True),
        ("gopher://x", True),
        ("artist: song title", False),
        ("AC/DC - Back in Black", False),
    ],
)
def test_what_counts_as_a_link(query: str, is_link: bool) -> None:
    assert bool(_URL_LIKE.match(query)) is is_link


def test_track_from_entry() -> None:
    track = track_from_entry(
        {"title": "T", "url": "https://www.youtube.com/watch?v=x", "duration": 61.5, "extractor": "Youtube"}
    )
    assert (track.source, track.duration_ms, track.stream_url) == ("youtube", 61_500, None)
    assert track_from_entry({"url": "https://h/x/My%20Tune.mp3", "duration": None}).title == "My Tune"
