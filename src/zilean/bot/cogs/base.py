"""What every music cog needs: the guild's session, the member's voice channel, and short replies."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from zilean.bot import audit, embeds
from zilean.bot.errors import send
from zilean.core.errors import ZileanError

if TYPE_CHECKING:
    from zilean.bot.client import ZileanBot
    from zilean.bot.session import GuildSession

Ctx = commands.Context[Any]


class CogBase(commands.Cog):
    """Shared helpers for the music cogs."""

    def __init__(self, bot: ZileanBot) -> None:
        self.bot = bot

    async def session(self, ctx: Ctx) -> GuildSession:
        """The guild's session; remembers this channel as the place to announce tracks."""
        assert ctx.guild is not None  # every command has the in-guild check
        session = await self.bot.sessions.get(ctx.guild.id)
        session.text_channel_id = ctx.channel.id
        return session

    async def playing(self, ctx: Ctx) -> GuildSession:
        """The guild's session, refusing when nothing is loaded."""
        session = await self.session(ctx)
        if session.current is None:
            raise ZileanError("Nothing is playing.")
        return session

    async def ensure_voice(self, ctx: Ctx, session: GuildSession) -> None:
        """Join the author's voice channel unless the bot is already connected in this guild."""
        assert ctx.guild is not None
        voice = ctx.guild.voice_client
        if isinstance(voice, discord.VoiceClient) and voice.is_connected():
            if session.voice is not voice:
                session.attach(voice)
            return
        author = ctx.author
        channel = author.voice.channel if isinstance(author, discord.Member) and author.voice else None
        if not isinstance(channel, discord.VoiceChannel | discord.StageChannel):
            raise ZileanError("Join a voice channel first.")
        await self.bot.sessions.join(session, channel)

    async def reply(self, ctx: Ctx, text: str, title: str | None = None) -> None:
        """A short confirmation embed."""
        await send(ctx, embeds.info(text, title))

    async def audit(self, ctx: Ctx, what: str, /, **detail: Any) -> None:
        """Record the action in the audit log, with its origin (failures there never fail the command)."""
        await audit.record_command(ctx, what, detail)
