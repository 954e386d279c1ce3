"""Text the bot shows: seek parsing, durations, progress bars, escaping and Discord's embed limits."""

from __future__ import annotations

import re

import pytest

from zilean.bot import embeds
from zilean.bot.formatting import duration, parse_seek, progress_bar, safe, track_link
from zilean.core.errors import ZileanError
from zilean.core.queue import LoopMode, QueueEntry
from zilean.core.track import Track


@pytest.mark.parametrize(
    ("text", "current", "expected"),
    [
        ("90", 0, 90_000),
        ("1:30", 0, 90_000),
        ("01:02:03", 0, 3_723_000),
        ("+30", 10_000, 40_000),
        ("-10", 25_000, 15_000),
        ("-10", 5_000, 0),
        (" + 5 ", 1_000, 6_000),
        ("2.5", 0, 2_500),
    ],
)
def test_parse_seek(text: str, current: int, expected: int) -> None:
    assert parse_seek(text, current) == expected


@pytest.mark.parametrize("text", ["", "abc", "1:75", "1::2", "--3", "1:2:3:4"])
def test_parse_seek_refuses_nonsense_with_an_example(text: str) -> None:
    with pytest.raises(ZileanError, match=r"1:30|59"):
        parse_seek(text, 0)


@pytest.mark.parametrize("text", ["9" * 400, "+" + "9" * 5000, "99999999999999999999:59", "999999:59:59"])
def test_parse_seek_refuses_times_past_any_track(text: str) -> None:
    """Hypothesis found `=seek 9…9` (400 digits) overflowing to an internal error."""
    with pytest.raises(ZileanError, match=r"past the end|1:30"):
        parse_seek(text, 0)


def test_durations_and_progress() -> None:
    assert duration(None) == "live"
    assert duration(61_000) == "1:01"
    assert duration(3_725_000) == "1:02:05"
    bar = progress_bar(30_000, 60_000, width=10)
    assert bar.startswith("▬▬▬▬▬🔘") and bar.endswith("0:30 / 1:00")
    assert progress_bar(999_999, 60_000, width=10).count("🔘") == 1


def test_titles_are_escaped_and_never_mention() -> None:
    text = safe("**bold** @everyone <@123> `code`\nnext line")
    assert "\\*\\*bold\\*\\*" in text and "@\u200beveryone" in text and "\n" not in text
    assert len(safe("x" * 1000)) == 256
    link = track_link(Track("a]b(c", "https://example.com/x", "http"))
    assert link.startswith("[a\\]b\\(c](https://example.com/x)") or link.startswith("[a\\]b(c](")
    assert "](" not in track_link(Track("t", "https://example.com/a)b", "http"))


def test_embeds_stay_inside_discord_limits() -> None:
    long = Track("💥" * 400 + "*", "https://example.com/" + "a" * 300, "http", 1000, requester_id=5)
    entries = [QueueEntry(i, long) for i in range(1, 60)]
    page = embeds.queue_page(entries[0], entries[1:], 2, total_ms=10**9, loop=LoopMode.QUEUE)
    assert len(page) <= 6000 and len(page.description or "") <= 4096
    assert "Page 3/6" in (page.footer.text or "")
    card = embeds.now_playing(
        long, 500, paused=True, volume=200, loop=LoopMode.ONE, effects=["nightcore"] * 300
    )
    assert len(card) <= 6000 and len(card.title or "") <= 256
    added = embeds.track_added(long, 3)
    assert len(added.description or "") <= 4096 and len(added) <= 6000
    assert embeds.page_count(0) == 1 and embeds.page_count(10) == 1 and embeds.page_count(11) == 2


def test_a_title_that_is_a_masked_link_stays_text() -> None:
    phish = "[Free Nitro](https://phish.example)"
    assert re.search(r"(?<!\\)[\[\]()]", safe(phish)) is None  # every bracket escaped
    link = track_link(Track(phish, "https://example.com/x", "http"))
    assert link == "[\\[Free Nitro\\]\\(https://phish.example\\)](https://example.com/x)"
