"""Every embed the bot sends, built in one place so replies look the same and stay inside Discord's limits."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from zilean.bot.formatting import (
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    FIELD_VALUE_LIMIT,
    clip,
    duration,
    progress_bar,
    safe,
    track_link,
    volume_label,
)
from zilean.core.queue import LoopMode, QueueEntry
from zilean.core.track import Track

COLOUR = discord.Colour(0x7C5CFF)
ERROR_COLOUR = discord.Colour(0xE5484D)
QUEUE_PAGE_SIZE = 10
LOOP_LABELS = {LoopMode.OFF: "off", LoopMode.ONE: "🔂 track", LoopMode.QUEUE: "🔁 queue"}


def requester(track: Track) -> str:
    """`<@id>` for the member who asked (rendered as a mention, never pinging: AllowedMentions.none())."""
    if track.autoplay:
        return "📻 Autoplay"
    return f"<@{track.requester_id}>" if track.requester_id else "—"


def info(text: str, title: str | None = None) -> discord.Embed:
    """A short confirmation."""
    return _fit(discord.Embed(title=title, description=clip(text, DESCRIPTION_LIMIT), colour=COLOUR))


def error(text: str) -> discord.Embed:
    """A friendly refusal or failure (the text is already safe to show)."""
    return _fit(discord.Embed(description=clip(f"⚠️ {text}", DESCRIPTION_LIMIT), colour=ERROR_COLOUR))


def track_added(track: Track, position: int | None, *, playing_now: bool = False) -> discord.Embed:
    """`Added to the queue` (or `Playing now`) with title, requester, duration and place."""
    title = "▶️ Playing now" if playing_now else "Added to the queue"
    embed = discord.Embed(title=title, description=track_link(track), colour=COLOUR)
    embed.add_field(name="Requested by", value=requester(track))
    embed.add_field(name="Duration", value=duration(track.duration_ms))
    if position is not None:
        embed.add_field(name="Position", value=str(position))
    return _with_thumbnail(embed, track)


def playlist_added(name: str, count: int, total_ms: int, truncated_from: int | None) -> discord.Embed:
    """`Added N tracks from <playlist>`."""
    text = f"**{count}** tracks from {safe(name)} ({duration(total_ms)})"
    if truncated_from:
        text += f"\nOnly the first {count} of {truncated_from} were queued."
    return _fit(discord.Embed(title="Added a playlist", description=text, colour=COLOUR))


def now_playing(
    track: Track, position_ms: int, *, paused: bool, volume: int, loop: LoopMode, effects: Sequence[str]
) -> discord.Embed:
    """The now-playing card: title, requester, progress bar, volume, loop and effects."""
    state = "⏸️ Paused" if paused else "▶️ Now playing"
    if track.autoplay:
        state = f"📻 Autoplay: {'paused' if paused else 'now playing'}"
    embed = discord.Embed(title=state, description=track_link(track), colour=COLOUR)
    embed.add_field(name="Requested by", value=requester(track))
    embed.add_field(name="Duration", value=duration(track.duration_ms))
    embed.add_field(name="Volume", value=volume_label(volume))
    embed.add_field(name="Progress", value=progress_bar(position_ms, track.duration_ms), inline=False)
    footer = f"Loop: {LOOP_LABELS[loop]}"
    if effects:
        footer += " · Effects: " + ", ".join(effects)
    embed.set_footer(text=clip(footer, 2048))
    return _with_thumbnail(embed, track)


def queue_page(
    current: QueueEntry | None,
    upcoming: Sequence[QueueEntry],
    page: int,
    *,
    total_ms: int,
    loop: LoopMode,
) -> discord.Embed:
    """One page (10 entries) of the queue with the total duration."""
    pages = page_count(len(upcoming))
    page = max(0, min(page, pages - 1))
    lines: list[str] = []
    if current is not None:
        lines.append(f"**Now:** {track_link(current.track, 150)} · {duration(current.track.duration_ms)}")
    start = page * QUEUE_PAGE_SIZE
    for index, entry in enumerate(upcoming[start : start + QUEUE_PAGE_SIZE], start=start + 1):
        lines.append(f"`{index}.` {track_link(entry.track, 100)} · {duration(entry.track.duration_ms)}")
    if not upcoming:
        lines.append("Nothing queued after this." if current else "The queue is empty.")
    embed = discord.Embed(title="Queue", description=_lines(lines), colour=COLOUR)
    embed.set_footer(
        text=f"Page {page + 1}/{pages} · {len(upcoming)} tracks · {duration(total_ms)}"
        f" · Loop: {LOOP_LABELS[loop]}"
    )
    return _fit(embed)


def page_count(entries: int) -> int:
    """How many queue pages `entries` upcoming entries fill (at least one)."""
    return max(1, -(-entries // QUEUE_PAGE_SIZE))


def history(entries: Sequence[QueueEntry]) -> discord.Embed:
    """The recently played tracks, most recent first."""
    lines = [f"`{i}.` {track_link(e.track, 150)}" for i, e in enumerate(entries[:15], start=1)]
    text = _lines(lines) if lines else "Nothing has been played yet."
    return _fit(discord.Embed(title="Recently played", description=text, colour=COLOUR))


def effects_list(active: Sequence[str], catalogue: Sequence[tuple[str, str]]) -> discord.Embed:
    """The active effects and every effect on offer."""
    embed = discord.Embed(
        title="Effects", description="Active: " + (", ".join(active) if active else "none"), colour=COLOUR
    )
    lines = [f"`{name}` — {text}" for name, text in catalogue]
    chunk: list[str] = []
    for line in lines:
        if sum(len(x) + 1 for x in chunk) + len(line) > FIELD_VALUE_LIMIT:
            embed.add_field(name="Available", value="\n".join(chunk), inline=False)
            chunk = []
        chunk.append(line)
    if chunk:
        embed.add_field(name="Available", value="\n".join(chunk), inline=False)
    return _fit(embed)


def _lines(lines: Sequence[str], limit: int = DESCRIPTION_LIMIT) -> str:
    """Whole lines joined up to `limit` characters (never a line cut in the middle of a link)."""
    kept: list[str] = []
    size = 0
    for line in lines:
        if size + len(line) + 1 > limit:
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept)


def _with_thumbnail(embed: discord.Embed, track: Track) -> discord.Embed:
    if track.thumbnail and track.thumbnail.startswith("https://"):
        embed.set_thumbnail(url=track.thumbnail)
    return _fit(embed)


def _fit(embed: discord.Embed) -> discord.Embed:
    """Drop trailing fields until the embed fits the 6000-character total (each part is clipped already)."""
    while len(embed) > EMBED_TOTAL_LIMIT and embed.fields:
        embed.remove_field(len(embed.fields) - 1)
    if len(embed) > EMBED_TOTAL_LIMIT and embed.description:
        embed.description = clip(
            embed.description, max(1, len(embed.description) - (len(embed) - EMBED_TOTAL_LIMIT))
        )
    return embed
