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


# Texts as yt-dlp 2026.10 composes them (yt_dlp/extractor/youtube/_video.py, _base.py, common.py,
# networking/exceptions.py; the quoted reasons are YouTube's own), and what each becomes.
LOGIN_HINT = (
    "Use --cookies-from-browser or --cookies for the authentication. See  "
    "https://github.com/yt-dlp/yt-dlp/wiki/FAQ#how-do-i-pass-cookies-to-yt-dlp  for how to manually pass "
    "cookies. Also see  https://github.com/yt-dlp/yt-dlp/wiki/Extractors#exporting-youtube-cookies  for "
    "tips on effectively exporting YouTube cookies"
)


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        (f"ERROR: [youtube] dQw4w9WgXcQ: Sign in to confirm you’re not a bot. {LOGIN_HINT}", "signin"),
        ("ERROR: [youtube] dQw4w9WgXcQ: Please sign in. YouTube is requiring a captcha challenge "
         "before playback", "signin"),
        ("ERROR: [vimeo] 1: This video is only available for registered users. Use --cookies-from-browser or "
         "--cookies for the authentication.", "signin"),
        (f"ERROR: [youtube] x: Sign in to confirm your age. This video may be inappropriate for some users. "
         f"{LOGIN_HINT}", "age"),
        (f"ERROR: [youtube] x: Private video. Sign in if you've been granted access to this video. "
         f"{LOGIN_HINT}", "private"),
        ("ERROR: [youtube] x: Video unavailable. This content isn’t available, try again later. The current "
         "session has been rate-limited by YouTube for up to an hour.", "rate_limited"),
        ("ERROR: [soundcloud] x: Unable to download JSON metadata: HTTP Error 429: Too Many Requests",
         "rate_limited"),
        ("ERROR: [niconico] sm9: This video is for premium members only", "premium"),
        ("ERROR: [youtube] x: This live event will begin in 3 hours.", "live"),
        ("ERROR: [twitcasting] x: This live event has not yet started", "live"),
        ("ERROR: [youtube] x: Video unavailable. This video has been removed by the uploader", "unavailable"),
        ("ERROR: [generic] Unable to download webpage: [Errno -2] Name or service not known", "network"),
    ],
)  # fmt: skip
def test_real_yt_dlp_messages_are_classified(message: str, kind: str) -> None:
    assert classify_error(message)[0] == kind


@pytest.mark.parametrize(
    ("kind", "says"),
    [("signin", "YTDLP_COOKIES_FILE"), ("rate_limited", "429"), ("premium", "premium"), ("age", "age")],
)
def test_each_kind_says_what_it_is_and_what_the_owner_can_do(kind: str, says: str) -> None:
    message = failure_message(kind)
    assert says in message
    assert "--cookies" not in message and "http" not in message  # yt-dlp's own hints are for its CLI
