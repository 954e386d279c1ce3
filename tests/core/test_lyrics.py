"""Lyrics: the LRC parser, page splitting, and the client against a local fake of lrclib over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakes.lrclib import FakeLrclib, record, refusing_port, running
from zilean.core.lyrics import (
    USER_AGENT,
    LyricLine,
    LyricsClient,
    LyricsError,
    LyricsNotFound,
    clean_title,
    paginate,
    parse_lrc,
)

SYNCED = "[ar:Zilean Band]\n[00:01.50]Tick\n[00:03.25][00:09.00]Tock\n\n[00:05.1]Chime\nno stamp here\n"


@pytest.fixture
def fake() -> Iterator[FakeLrclib]:
    with running(FakeLrclib()) as served:
        served.records += [
            record(
                1, "Clockwork", "Zilean Band", album="Time", duration=30, plain="Tick\nTock", synced=SYNCED
            ),
            record(2, "Clockwork", "Other Band", duration=200, plain="Someone else's words"),
            record(3, "Clockwork", "Zilean Band", album="Live", duration=95, plain="The live words"),
            record(4, "Silence", "Zilean Band", duration=60, instrumental=True),
        ]
        yield served


def test_lrc_lines_are_parsed_in_time_order_and_tags_skipped() -> None:
    assert parse_lrc(SYNCED) == (
        LyricLine(1500, "Tick"),
        LyricLine(3250, "Tock"),
        LyricLine(5100, "Chime"),
        LyricLine(9000, "Tock"),
    )
    assert parse_lrc("[01:02:33]colon fraction\n[10:00]no fraction\n[1:02.345]ms") == (
        LyricLine(62330, "colon fraction"),
        LyricLine(62345, "ms"),
        LyricLine(600000, "no fraction"),
    )
    assert parse_lrc("") == () and parse_lrc("[offset:+200]\nplain words") == ()


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 99 * 60_000 + 59_990).map(lambda ms: ms - ms % 10),
            st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=30).map(str.strip),
        ),
        max_size=20,
    )
)
def test_written_lrc_reads_back(lines: list[tuple[int, str]]) -> None:
    lines = [(ms, text) for ms, text in lines if not text.startswith("[")]
    lrc = "\n".join(
        f"[{ms // 60000:02d}:{ms // 1000 % 60:02d}.{ms % 1000 // 10:02d}]{text}" for ms, text in lines
    )
    parsed = parse_lrc(lrc)
    assert [(line.time_ms, line.text) for line in parsed] == sorted(lines, key=lambda pair: pair[0])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(max_size=120).map(lambda t: t.replace("\n", " ")), max_size=60), st.integers(20, 300))
def test_pages_stay_within_the_limit_and_keep_every_line(lines: list[str], limit: int) -> None:
    pages = paginate(lines, limit)
    assert all(len(page) <= limit for page in pages)
    if all(len(line) <= limit for line in lines):
        joined = "\n".join(pages).split("\n")
        assert [line for line in joined if line.strip()] == [line for line in lines if line.strip()]


def test_the_line_being_sung() -> None:
    client_free = parse_lrc(SYNCED)
    from zilean.core.lyrics import Lyrics

    lyrics = Lyrics(1, "t", "a", "", 30, False, "", client_free)
    assert [lyrics.line_at(ms) for ms in (0, 1499, 1500, 3300, 9000, 99_000)] == [None, None, 0, 1, 3, 3]
    assert lyrics.text == "Tick\nTock\nChime\nTock"  # no plain lyrics: the synced words


def test_video_titles_are_cleaned_for_the_lookup() -> None:
    assert clean_title("Zilean Band - Clockwork (Official Video)", None) == ("Clockwork", "Zilean Band")
    assert clean_title("Clockwork [Lyrics] (HD)", "Zilean Band") == ("Clockwork", "Zilean Band")
    assert clean_title("Tone - 440", "Somebody") == ("Tone - 440", "Somebody")
    assert clean_title("(Official Video)", None) == ("(Official Video)", None)


async def test_a_track_is_matched_exactly_first_with_its_duration(fake: FakeLrclib) -> None:
    client = LyricsClient(fake.base_url)
    try:
        found = await client.for_track("Clockwork", "Zilean Band", 96_400)
    finally:
        await client.aclose()
    assert (found.id, found.plain) == (3, "The live words")  # the 95 s release, not the 30 s one
    assert fake.paths() == ["/api/get"]
    asked = fake.requests[0]
    assert asked.query == {"track_name": "Clockwork", "artist_name": "Zilean Band", "duration": "96"}
    assert asked.user_agent == USER_AGENT and USER_AGENT.startswith("GroovyZilean/")


async def test_without_an_exact_match_the_search_finds_the_closest_length(fake: FakeLrclib) -> None:
    client = LyricsClient(fake.base_url + "/")
    try:
        # No artist (a local file without tags): straight to the search.
        by_title = await client.for_track("Clockwork", None, 199_000)
        # An artist lrclib files differently: /api/get answers 404, then the search.
        fake.records.append(record(5, "Hourglass", "Zilean Band feat. Sand", duration=120, plain="Grains"))
        by_search = await client.for_track("Hourglass", "Zilean Band", 120_000)
    finally:
        await client.aclose()
    assert by_title.id == 2 and by_title.artist_name == "Other Band"
    assert by_search.plain == "Grains"
    assert fake.paths() == ["/api/search", "/api/get", "/api/search"]
    assert fake.requests[0].query == {"q": "Clockwork"}
    assert fake.requests[2].query == {"q": "Zilean Band Hourglass"}


async def test_a_bracketed_part_of_the_title_is_dropped_when_nothing_matches(fake: FakeLrclib) -> None:
    client = LyricsClient(fake.base_url)
    try:
        found = await client.for_track("Clockwork (Suite No. 2, Op. 7)", "Zilean Band", 95_000)
    finally:
        await client.aclose()
    assert found.id == 3
    assert [r.query.get("q") for r in fake.requests] == [
        None,  # /api/get
        "Zilean Band Clockwork (Suite No. 2, Op. 7)",
        "Zilean Band Clockwork",
    ]


async def test_synced_and_instrumental_records(fake: FakeLrclib) -> None:
    client = LyricsClient(fake.base_url)
    try:
        synced = await client.for_track("Clockwork", "Zilean Band", 30_000)
        silent = await client.search("silence zilean")
    finally:
        await client.aclose()
    assert synced.synced[0] == LyricLine(1500, "Tick") and synced.album_name == "Time"
    assert silent.instrumental and silent.text == ""


async def test_not_found_is_a_clear_error_and_is_remembered(fake: FakeLrclib) -> None:
    client = LyricsClient(fake.base_url)
    try:
        with pytest.raises(LyricsNotFound, match="No lyrics found for “Nobody Nothing”"):
            await client.for_track("Nothing", "Nobody", 10_000)
        assert fake.paths() == ["/api/get", "/api/search"]
        with pytest.raises(LyricsNotFound):
            await client.for_track("Nothing", "Nobody", 10_000)
        with pytest.raises(LyricsNotFound, match="what to look for"):
            await client.search("   ")
    finally:
        await client.aclose()
    assert fake.paths() == ["/api/get", "/api/search"]  # the second time came from the cache


async def test_answers_are_cached_and_failures_are_not(fake: FakeLrclib) -> None:
    client = LyricsClient(fake.base_url, cache_size=2)
    try:
        fake.status = 503
        with pytest.raises(LyricsError, match=r"answered with an error \(503\)"):
            await client.search("clockwork live")
        fake.status = None
        assert (await client.search("clockwork live")).id == 3  # the 503 was not remembered
        assert (await client.search("Clockwork   LIVE")).id == 3  # same query: from the cache
        assert len(fake.requests) == 2
        await client.search("silence")
        await client.search("other band")  # the cache holds two: the first query is dropped
        await client.search("clockwork live")
    finally:
        await client.aclose()
    assert len(fake.requests) == 5


async def test_a_slow_service_times_out_with_a_clear_message(fake: FakeLrclib) -> None:
    fake.hang = True
    client = LyricsClient(fake.base_url, timeout_s=0.3)
    try:
        with pytest.raises(LyricsError, match="took too long"):
            await client.search("clockwork")
    finally:
        await client.aclose()


async def test_an_unreachable_service_is_a_clear_error() -> None:
    with refusing_port() as base:
        client = LyricsClient(base)
        try:
            with pytest.raises(LyricsError, match="can't be reached"):
                await client.for_track("Clockwork", "Zilean Band", None)
        finally:
            await client.aclose()
