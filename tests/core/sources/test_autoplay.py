"""The autoplay picking rule: same artist, then same album, then any; never the finished or a recent track."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from zilean.core.sources.autoplay import as_autoplay, pick_local, pick_online, related_query
from zilean.core.sources.library import Entry
from zilean.core.track import Track


def entry(path: str, artist: str | None = None, album: str | None = None) -> Entry:
    return Entry(path=path, title=path, artist=artist, album=album, duration_ms=1000, stamp=(0, 0))


SEED = entry("a/one.flac", "Aurora Quartet", "Rivers")
SAME_ARTIST = entry("a/two.flac", "aurora  QUARTET", "Lakes")  # matched as normalized words
SAME_ALBUM = entry("b/rivers.flac", "Someone Else", "Rivers")
OTHER = entry("c/other.flac", "Nobody", "Nothing")
LIBRARY = [OTHER, SAME_ALBUM, SAME_ARTIST, SEED]


def pick(entries: list[Entry], recent: set[str] | None = None, seed: Entry | None = SEED) -> Entry | None:
    return pick_local(seed, entries, recent or set(), rng=random.Random(1))


def test_the_same_artist_comes_first() -> None:
    assert pick(LIBRARY) == SAME_ARTIST


def test_then_the_same_album_then_any() -> None:
    assert pick(LIBRARY, {"local:a/two.flac"}) == SAME_ALBUM
    assert pick(LIBRARY, {"local:a/two.flac", "local:b/rivers.flac"}) == OTHER


def test_nothing_when_everything_was_played_recently() -> None:
    recent = {"local:" + e.path for e in LIBRARY if e is not SEED}
    assert pick(LIBRARY, recent) is None
    assert pick([SEED]) is None  # never the finished track itself


def test_an_online_track_finds_local_tracks_by_its_artist() -> None:
    assert pick_local(None, LIBRARY, set(), artist="Aurora Quartet", rng=random.Random(3)) in (
        SEED,
        SAME_ARTIST,
    )


def test_untagged_tracks_match_no_artist_or_album() -> None:
    bare = entry("x.flac")
    untagged = [entry("y.flac"), entry("z.flac")]
    assert pick(untagged, seed=bare) in untagged  # only the "any" tier; None never equals None


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["A", "B", None]), st.sampled_from(["X", "Y", None])), max_size=8),
    st.sets(st.integers(0, 7)),
    st.integers(0, 2**16),
)
def test_the_pick_is_never_recent_and_from_the_best_tier(
    tags: list[tuple[str | None, str | None]], recent_ids: set[int], rng_seed: int
) -> None:
    entries = [entry(f"{i}.flac", artist, album) for i, (artist, album) in enumerate(tags)]
    seed = entry("seed.flac", "A", "X")
    recent = {f"local:{i}.flac" for i in recent_ids}
    picked = pick_local(seed, [seed, *entries], recent, rng=random.Random(rng_seed))
    fresh = [e for e in entries if "local:" + e.path not in recent]
    if not fresh:
        assert picked is None
        return
    assert picked in fresh
    if any(e.artist == "A" for e in fresh):
        assert picked.artist == "A"
    elif any(e.album == "X" for e in fresh):
        assert picked.album == "X"


def test_online_takes_the_first_hit_not_finished_or_recent() -> None:
    finished = Track(title="Song", url="https://v/1", source="youtube", artist="Band")
    hits = [finished, Track("B", "https://v/2", "youtube"), Track("C", "https://v/3", "youtube")]
    assert pick_online(finished, hits, {"https://v/2"}) == hits[2]
    assert pick_online(finished, hits[:2], {"https://v/2"}) is None
    assert related_query(finished) == "Band"
    assert related_query(Track(title="Only a title", url="u", source="http")) == "Only a title"


def test_an_autoplay_track_has_no_requester() -> None:
    marked = as_autoplay(Track(title="T", url="u", source="local", requester_id=5, stream_url="s"))
    assert (marked.autoplay, marked.requester_id, marked.stream_url) == (True, None, None)
