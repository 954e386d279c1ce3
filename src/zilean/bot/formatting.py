"""Text helpers for Discord: safe titles, durations, positions typed by users, progress bars."""

from __future__ import annotations

import re

import discord

from zilean.core.errors import ZileanError
from zilean.core.text import escape_markdown
from zilean.core.track import Track

# Discord's documented embed limits.
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000
CONTENT_LIMIT = 2000

SEEK_TEXT_MAX = 40
SEEK_MAX_S = 7 * 24 * 3600  # a week: longer than any track, live streams included
_SEEK = re.compile(r"^\s*([+-])?\s*(?:(\d+):)?(?:(\d+):)?(\d+(?:\.\d+)?)\s*$")


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def safe(text: str, limit: int = TITLE_LIMIT) -> str:
    """User- or site-provided text made inert: markdown and mentions escaped, then clipped."""
    # Our escape, not discord.utils.escape_markdown: that one leaves [text](url) links alone.
    escaped = discord.utils.escape_mentions(escape_markdown(text))
    return clip(escaped, limit)


def duration(ms: int | None) -> str:
    """`m:ss` or `h:mm:ss`; `live` for unknown lengths."""
    if ms is None:
        return "live"
    seconds = max(0, ms) // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


MAX_LINK_URL = 200  # longer URLs are left out rather than eating the embed's budget


def track_link(track: Track, limit: int = TITLE_LIMIT) -> str:
    """The track's escaped title (at most `limit` characters), as a masked link when its URL is a web page."""
    url = track.url
    linkable = url.startswith(("http://", "https://")) and len(url) <= MAX_LINK_URL
    linkable = linkable and not any(ch in url for ch in "()<> ")
    title = safe(track.title, limit)
    if not linkable:
        return title
    return f"[{title}]({url})"  # brackets in the title are escaped: they cannot end the link text early


def progress_bar(position_ms: int, duration_ms: int | None, width: int = 18) -> str:
    """A text progress bar like `▬▬▬🔘▬▬▬ 1:02 / 3:10`."""
    if not duration_ms:
        return f"🔘{'▬' * (width - 1)} {duration(position_ms)} / live"
    filled = min(width - 1, int(width * max(0, position_ms) / duration_ms))
    return f"{'▬' * filled}🔘{'▬' * (width - 1 - filled)} {duration(position_ms)} / {duration(duration_ms)}"


def parse_seek(text: str, current_ms: int) -> int:
    """A seek target in ms from `mm:ss`, `h:mm:ss`, seconds, or a relative `+30` / `-10`."""
    match = _SEEK.match(text) if len(text) <= SEEK_TEXT_MAX else None
    if not match:
        raise ZileanError("Give a time like `1:30`, `90`, `+30` or `-10`.")
    sign, first, second, last = match.groups()
    parts = [int(p) for p in (first, second) if p is not None]
    if any(p >= 60 for p in parts[1:]) or (parts and float(last) >= 60):
        raise ZileanError("Minutes and seconds go up to 59, e.g. `1:30`.")
    seconds = float(last)
    for index, value in enumerate(reversed(parts)):
        seconds += value * 60 ** (index + 1)
    if seconds > SEEK_MAX_S:  # not past the end of any track; `inf` and ffmpeg-sized numbers stop here
        raise ZileanError("That is past the end of the track.")
    offset = int(seconds * 1000)
    if sign == "+":
        return current_ms + offset
    if sign == "-":
        return max(0, current_ms - offset)
    return offset


def volume_label(percent: int) -> str:
    """How a volume is shown: the user-facing percentage and a speaker icon."""
    icon = "🔇" if percent == 0 else "🔈" if percent < 50 else "🔉" if percent < 120 else "🔊"
    return f"{icon} {percent}%"


_UNSHOWN = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def echo(text: str, limit: int = 40) -> str:
    """What a member typed, safe to repeat in a reply: no control or bidi characters, no markdown, clipped."""
    shown = _UNSHOWN.sub("", text).strip()
    if len(shown) > limit:
        shown = shown[:limit] + "…"
    return escape_markdown(shown) or "(nothing)"
