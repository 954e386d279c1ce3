"""Messages the bot posts on its own: the now-playing card (edited, not re-posted), failures, queue end."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

import aiohttp
import discord

from zilean.bot import embeds
from zilean.bot.formatting import safe
from zilean.core.track import Track

if TYPE_CHECKING:
    from zilean.bot.client import ZileanBot
    from zilean.bot.session import GuildSession

log = logging.getLogger(__name__)
OFFLINE = (aiohttp.ClientError, OSError, asyncio.TimeoutError)  # Discord's API could not be reached
NONE = discord.AllowedMentions.none()


class Announcer:
    """Posts to the guild's music channel (the announce channel, else where the last command came from)."""

    def __init__(self, bot: ZileanBot, guild_id: int) -> None:
        self.bot = bot
        self.guild_id = guild_id
        self.session: GuildSession | None = None
        self.announce_channel_id: int | None = None
        self.message: discord.Message | None = None  # the now-playing card, edited on every change
        self._tasks: set[asyncio.Task[None]] = set()
        self._card_lock = asyncio.Lock()  # one card at a time, even when updates race

    def now_playing(self) -> None:
        """Show (or update) the now-playing card for the current track."""
        self._spawn(self._post_now_playing())

    def refresh(self) -> None:
        """Update the card after a pause, a volume or an effect change (never posts a new one)."""
        if self.message is not None:
            self._spawn(self._post_now_playing(edit_only=True))

    def track_failed(self, track: Track, message: str) -> None:
        """Say that a track could not be played (the queue moves on by itself)."""
        text = f"Couldn't play **{safe(track.title, 200)}**: {message}"
        self._spawn(self._send(embed=embeds.error(text)))

    def queue_finished(self) -> None:
        """Turn the card into `queue finished` (its buttons go away)."""
        if self.message is not None:
            message, self.message = self.message, None
            self._spawn(
                self._edit(
                    message, embed=embeds.info("The queue is finished. Add more with `play`."), view=None
                )
            )

    def say(self, embed: discord.Embed) -> None:
        """Post a one-off notice in the music channel."""
        self._spawn(self._send_only(embed))

    async def _send_only(self, embed: discord.Embed) -> None:
        await self._send(embed=embed)

    def card(self) -> tuple[discord.Embed, discord.ui.View] | None:
        """The now-playing embed and its buttons, or None when nothing plays."""
        from zilean.bot.views import NowPlayingView

        session = self.session
        if session is None or session.current is None:
            return None
        embed = embeds.now_playing(
            session.current.track,
            session.position_ms,
            paused=session.paused,
            volume=session.volume,
            loop=session.queue.loop,
            effects=session.effects,
        )
        return embed, NowPlayingView(self.bot, paused=session.paused)

    def channel(self) -> discord.abc.Messageable | None:
        """Where announcements go."""
        session = self.session
        channel_id = self.announce_channel_id or (session.text_channel_id if session else None)
        if channel_id is None:
            return None
        channel = self.bot.get_channel(channel_id)
        return channel if isinstance(channel, discord.abc.Messageable) else None

    async def _post_now_playing(self, *, edit_only: bool = False) -> None:
        async with self._card_lock:
            await self._post_card(edit_only=edit_only)

    async def _post_card(self, *, edit_only: bool) -> None:
        card = self.card()
        if card is None:
            return
        embed, view = card
        if self.message is not None:
            if await self._edit(self.message, embed=embed, view=view):
                return
            self.message = None
        if edit_only:
            return
        self.message = await self._send(embed=embed, view=view)

    async def _send(self, **kwargs: Any) -> discord.Message | None:
        channel = self.channel()
        if channel is None:
            return None
        try:
            return await channel.send(allowed_mentions=NONE, **kwargs)
        except (discord.HTTPException, *OFFLINE) as exc:
            log.warning("could not post in the music channel: %s", exc)
            return None

    async def _edit(self, message: discord.Message, **kwargs: Any) -> bool:
        try:
            await message.edit(allowed_mentions=NONE, **kwargs)
            return True
        except discord.HTTPException:
            return False
        except OFFLINE as exc:  # Discord unreachable: keep the card, the next update edits it again
            log.warning("could not update the now-playing card: %s", exc)
            return True

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("now-playing update failed", exc_info=task.exception())
