"""Buttons and menus: the persistent now-playing controls, queue pages and the search picker."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import discord

from zilean.bot import audit, embeds
from zilean.bot.checks import actor_for, scene_for
from zilean.bot.formatting import clip, duration
from zilean.core.errors import ZileanError
from zilean.core.permissions import Action, explain
from zilean.core.queue import LoopMode
from zilean.core.track import Track

if TYPE_CHECKING:
    from zilean.bot.client import ZileanBot
    from zilean.bot.session import GuildSession

log = logging.getLogger(__name__)
NONE = discord.AllowedMentions.none()
NEXT_LOOP = {LoopMode.OFF: LoopMode.QUEUE, LoopMode.QUEUE: LoopMode.ONE, LoopMode.ONE: LoopMode.OFF}


async def _authorised(
    bot: ZileanBot, interaction: discord.Interaction[Any], action: Action
) -> GuildSession | None:
    """The guild's session if the presser may do `action`; otherwise answer them (ephemerally), None."""
    guild = interaction.guild
    if guild is None or not isinstance(interaction.user, discord.Member):
        return None
    policy = await bot.sessions.policy(guild)
    decision = explain(action, actor_for(interaction.user), scene_for(guild), policy)
    session = bot.sessions.existing(guild.id)
    if not decision.allowed:
        await interaction.response.send_message(embed=embeds.error(decision.reason), ephemeral=True)
        return None
    if session is None or session.current is None:
        await interaction.response.send_message(embed=embeds.error("Nothing is playing."), ephemeral=True)
        return None
    return session


class NowPlayingView(discord.ui.View):
    """Pause/resume, skip, stop, loop and shuffle; persistent across restarts (fixed ids, no timeout)."""

    def __init__(self, bot: ZileanBot, *, paused: bool = False) -> None:
        super().__init__(timeout=None)
        self.bot = bot
        self.pause_button.emoji = "▶️" if paused else "⏸️"
        self.pause_button.label = "Resume" if paused else "Pause"

    async def _run(
        self,
        interaction: discord.Interaction[Any],
        action: Action,
        change: Callable[[GuildSession], Awaitable[str]],
    ) -> None:
        session = await _authorised(self.bot, interaction, action)
        if session is None:
            return
        try:
            text = await change(session)
        except ZileanError as exc:
            await interaction.response.send_message(embed=embeds.error(exc.message), ephemeral=True)
            return
        assert interaction.guild is not None  # _authorised returned a session
        await audit.record(
            self.bot, interaction.guild.id, interaction.user.id, "discord", f"button_{change.__name__}", {}
        )
        card = session.announcer.card()
        if card is not None and interaction.message is not None:
            embed, view = card
            await interaction.response.edit_message(embed=embed, view=view)
            session.announcer.message = interaction.message
        else:
            await interaction.response.send_message(embed=embeds.info(text), ephemeral=True)

    @discord.ui.button(
        label="Pause", emoji="⏸️", style=discord.ButtonStyle.secondary, custom_id="zilean:np:pause"
    )
    async def pause_button(
        self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]
    ) -> None:
        async def pause(session: GuildSession) -> str:
            if session.paused:
                await session.resume()
                return "Resumed."
            await session.pause()
            return "Paused."

        await self._run(interaction, Action.CONTROL, pause)

    @discord.ui.button(
        label="Skip", emoji="⏭️", style=discord.ButtonStyle.secondary, custom_id="zilean:np:skip"
    )
    async def skip_button(
        self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]
    ) -> None:
        async def skip(session: GuildSession) -> str:
            await session.skip()
            return "Skipped."

        await self._run(interaction, Action.SKIP, skip)

    @discord.ui.button(label="Stop", emoji="⏹️", style=discord.ButtonStyle.danger, custom_id="zilean:np:stop")
    async def stop_button(
        self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]
    ) -> None:
        async def stop(session: GuildSession) -> str:
            await session.stop()
            return "Stopped and cleared the queue."

        await self._run(interaction, Action.CLEAR, stop)

    @discord.ui.button(
        label="Loop", emoji="🔁", style=discord.ButtonStyle.secondary, custom_id="zilean:np:loop"
    )
    async def loop_button(
        self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]
    ) -> None:
        async def loop(session: GuildSession) -> str:
            mode = NEXT_LOOP[session.queue.loop]
            await session.edit(lambda queue: setattr(queue, "loop", mode))
            return f"Loop: {embeds.LOOP_LABELS[mode]}."

        await self._run(interaction, Action.CONTROL, loop)

    @discord.ui.button(
        label="Shuffle", emoji="🔀", style=discord.ButtonStyle.secondary, custom_id="zilean:np:shuffle"
    )
    async def shuffle_button(
        self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]
    ) -> None:
        async def shuffle(session: GuildSession) -> str:
            await session.edit(lambda queue: queue.shuffle())
            return "Shuffled the queue."

        await self._run(interaction, Action.CONTROL, shuffle)


class QueuePages(discord.ui.View):
    """Previous/next buttons over the queue pages (for the member who asked; 2 minutes)."""

    def __init__(self, session: GuildSession, author_id: int, page: int = 0) -> None:
        super().__init__(timeout=120)
        self.session = session
        self.author_id = author_id
        self.page = page
        self._sync()

    def embed(self) -> discord.Embed:
        """The current page."""
        queue = self.session.queue
        return embeds.queue_page(
            queue.current, queue.upcoming, self.page, total_ms=queue.upcoming_duration_ms, loop=queue.loop
        )

    def _sync(self) -> None:
        pages = embeds.page_count(len(self.session.queue.upcoming))
        self.page = max(0, min(self.page, pages - 1))
        self.previous_page.disabled = self.page == 0
        self.next_page.disabled = self.page >= pages - 1

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        """Only the member who asked turns the pages."""
        if interaction.user.id != self.author_id:
            await interaction.response.send_message(
                embed=embeds.error("Use `queue` yourself to browse it."), ephemeral=True
            )
            return False
        return True

    @discord.ui.button(label="Previous", emoji="◀️", style=discord.ButtonStyle.secondary)
    async def previous_page(
        self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]
    ) -> None:
        self.page -= 1
        self._sync()
        await interaction.response.edit_message(embed=self.embed(), view=self)

    @discord.ui.button(label="Next", emoji="▶️", style=discord.ButtonStyle.secondary)
    async def next_page(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        self.page += 1
        self._sync()
        await interaction.response.edit_message(embed=self.embed(), view=self)


class SearchPicker(discord.ui.View):
    """A select menu of search results; picking one queues it."""

    def __init__(
        self,
        tracks: Sequence[Track],
        author_id: int,
        on_pick: Callable[[discord.Interaction[Any], Track], Awaitable[None]],
    ) -> None:
        super().__init__(timeout=60)
        self.tracks = list(tracks)
        self.author_id = author_id
        self.on_pick = on_pick
        options = [
            discord.SelectOption(
                label=clip(track.title or "untitled", 100),
                description=clip(f"{track.artist or track.source} · {duration(track.duration_ms)}", 100),
                value=str(index),
            )
            for index, track in enumerate(self.tracks[:25])
        ]
        self.menu: discord.ui.Select[Any] = discord.ui.Select(placeholder="Pick a track", options=options)
        self.menu.callback = self._picked  # type: ignore[method-assign]
        self.add_item(self.menu)

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        """Only the member who searched picks."""
        if interaction.user.id != self.author_id:
            await interaction.response.send_message(
                embed=embeds.error("Run `search` yourself."), ephemeral=True
            )
            return False
        return True

    async def _picked(self, interaction: discord.Interaction[Any]) -> None:
        track = self.tracks[int(self.menu.values[0])]
        self.stop()
        await self.on_pick(interaction, track)
