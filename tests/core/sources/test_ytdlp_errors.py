"""yt-dlp's failures become a few kinds, each with a message safe for users."""

from __future__ import annotations

import pytest

from zilean.core.sources.ytdlp import failure_message
from zilean.core.sources.ytdlp_worker import classify_error


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("ERROR: [youtube] x: Sign in to confirm your age. This video may be inappropriate", "age"),
        ("ERROR: [youtube] x: Private video. Sign in if you've been granted access", "private"),
        ("ERROR: [youtube] x: The uploader has not made this video available in your country", "region"),
        ("ERROR: Unsupported URL: https://example.com/", "unsupported"),
        ("ERROR: [youtube] x: Video unavailable. This video has been removed", "unavailable"),
        ("ERROR: Unable to download webpage: The read operation timed out", "timeout"),
        (
            "ERROR: Unable to download webpage: <urlopen error zilean-guard:[a private network address]>",
            "unsafe",
        ),
    ],
)
def test_yt_dlp_failures_map_to_safe_kinds(message: str, kind: str) -> None:
    assert classify_error(message)[0] == kind


def test_guard_refusals_keep_their_reason() -> None:
    kind, detail = classify_error(
        "Unable to download: <urlopen error zilean-guard:[a loopback address (this machine)]>"
    )
    assert (kind, detail) == ("unsafe", "a loopback address (this machine)")
    assert failure_message(kind, detail) == (
        "That link leads to a loopback address (this machine), which the bot will not fetch."
    )
    assert "internal" not in failure_message("error", "internal detail")
