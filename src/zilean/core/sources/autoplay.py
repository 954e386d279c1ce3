"""Autoplay: which track plays next when the queue runs out (the server turned `/autoplay on`).

The rule, for a finished local track: another track by the same artist, else one from the same
album, else any track of the library — never one played in the last RECENT_HISTORY plays, so a
small library does not loop one song. Online tracks get related results from the search provider
(see Resolver.related); this module only decides among candidates, it fetches nothing.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace

from zilean.core.sources.library import LOCAL_PREFIX, Entry, normalize
from zilean.core.track import Track

RECENT_HISTORY = 25  # plays an autoplayed track must not repeat


def _same(a: str | None, b: str | None) -> bool:
    return bool(a and b) and normalize(a or "") == normalize(b or "")


def pick_local(
    finished: Entry | None,
    entries: Iterable[Entry],
    recent_urls: Collection[str],
    *,
    artist: str | None = None,
    rng: random.Random | None = None,
) -> Entry | None:
    """A library entry related to `finished`: same artist, then same album, then any; None if all are recent.

    `artist` stands in when the finished track is not in the library (e.g. an online track).
    """
    rng = rng or random.Random()
    seed_path = finished.path if finished else None
    fresh = [e for e in entries if e.path != seed_path and LOCAL_PREFIX + e.path not in recent_urls]
    fresh.sort(key=lambda e: e.path)  # the same library and rng pick the same track
    seed_artist = finished.artist if finished and finished.artist else artist
    seed_album = finished.album if finished else None
    tiers: Sequence[list[Entry]] = (
        [e for e in fresh if _same(e.artist, seed_artist)],
        [e for e in fresh if _same(e.album, seed_album)],
        fresh,
    )
    for tier in tiers:
        if tier:
            return rng.choice(tier)
    return None


def pick_online(finished: Track, hits: Iterable[Track], recent_urls: Collection[str]) -> Track | None:
    """The first search hit that is not the finished track and was not played recently."""
    for hit in hits:
        if hit.url != finished.url and hit.url not in recent_urls:
            return hit
    return None


def related_query(track: Track) -> str:
    """What to search for tracks related to an online track: its artist, else its title."""
    return track.artist or track.title


def as_autoplay(track: Track) -> Track:
    """The track marked as chosen by autoplay (no member requested it)."""
    return replace(track, requester_id=None, autoplay=True, stream_url=None)
