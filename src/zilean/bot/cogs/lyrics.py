"""lyrics: the words of the song playing (or of one named), from an lrclib-compatible service."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from zilean.bot import embeds
from zilean.bot.checks import in_guild
from zilean.bot.cogs.base import CogBase, Ctx
from zilean.bot.errors import send
from zilean.bot.formatting import DESCRIPTION_LIMIT, safe
from zilean.core.errors import ZileanError
from zilean.core.lyrics import Lyrics, LyricsClient, paginate
from zilean.core.text import escape_markdown

if TYPE_CHECKING:
    from zilean.bot.client import ZileanBot

MAX_PAGES = 4  # one message each (a message's embeds share one 6000-character budget)
SOURCE = "lrclib"


class LyricsCog(CogBase, name="Lyrics"):
    """Lyrics for what plays."""

    def __init__(self, bot: ZileanBot) -> None:
        super().__init__(bot)
        base = bot.settings.lyrics_api_base.strip()
        self.client = LyricsClient(base) if base else None

    async def cog_unload(self) -> None:
        if self.client is not None:
            await self.client.aclose()

    @commands.hybrid_command(name="lyrics", aliases=["ly"])
    @app_commands.describe(query="A song to look up, e.g. artist and title (default: the one playing)")
    @in_guild()
    async def lyrics(self, ctx: Ctx, *, query: str | None = None) -> None:
        """Show the lyrics of the song playing, or of a song you name."""
        if self.client is None:
            raise ZileanError("Lyrics are turned off on this bot.")
        position_ms: int | None = None
        if query and query.strip():
            await ctx.defer()  # the lookup may take a few seconds; Discord wants an answer in 3
            found = await self.client.search(query)
        else:
            session = await self.playing(ctx)
            entry = session.current
            assert entry is not None
            await ctx.defer()
            track = entry.track
            found = await self.client.for_track(track.title, track.artist, track.duration_ms)
            position_ms = session.position_ms
        for page in lyrics_embeds(found, position_ms):
            await send(ctx, page)


def lyrics_embeds(found: Lyrics, position_ms: int | None = None) -> list[discord.Embed]:
    """The messages to send: markdown escaped, each description within Discord's limit.

    Plain lyrics are shown as they are; synced-only lyrics show their lines, the one being sung in bold.
    """
    title = safe(f"{found.track_name} — {found.artist_name}" if found.artist_name else found.track_name)
    if not found.text:
        return [embeds.info("🎼 This track is instrumental: it has no lyrics.", title)]
    if found.plain.strip() or not found.synced:
        lines = [escape_markdown(line) for line in found.text.splitlines()]
        current = None
    else:
        lines = [escape_markdown(line.text) for line in found.synced]
        current = found.line_at(position_ms) if position_ms is not None else None
    if current is not None and lines[current].strip():
        lines[current] = f"**{lines[current]}**"
    pages = paginate(lines, DESCRIPTION_LIMIT)
    cut = len(pages) > MAX_PAGES
    pages = pages[:MAX_PAGES]
    result = []
    for number, text in enumerate(pages, start=1):
        embed = embeds.info(text, title if number == 1 else None)
        footer = f"{SOURCE} · page {number}/{len(pages)}" if len(pages) > 1 else SOURCE
        if cut and number == len(pages):
            footer += " · the rest is too long for Discord"
        embed.set_footer(text=footer)
        result.append(embed)
    return result
