"""queue, nowplaying, remove, move, shuffle, clear, loop, previous, replay, seek, volume, effect, history."""

from __future__ import annotations

from typing import Literal

from discord import app_commands
from discord.ext import commands

from zilean.bot import embeds
from zilean.bot.checks import in_guild, requires
from zilean.bot.cogs.base import CogBase, Ctx
from zilean.bot.errors import send
from zilean.bot.formatting import echo, parse_seek, progress_bar, track_link, volume_label
from zilean.bot.views import QueuePages
from zilean.core.effects import effect_names, resolve
from zilean.core.errors import ZileanError
from zilean.core.permissions import Action
from zilean.core.queue import LoopMode, Queue, QueueEntry
from zilean.core.track import Track


class Queueing(CogBase):
    """Looking at and rearranging the queue; shaping what plays."""

    @commands.hybrid_command(name="queue", aliases=["q"])
    @app_commands.describe(page="Which page")
    @in_guild()
    async def queue(self, ctx: Ctx, page: int = 1) -> None:
        """Show the queue."""
        session = await self.session(ctx)
        view = QueuePages(session, ctx.author.id, max(page, 1) - 1)
        await send(ctx, view.embed(), view=view)

    @commands.hybrid_command(name="nowplaying", aliases=["np"])
    @in_guild()
    async def nowplaying(self, ctx: Ctx) -> None:
        """Show what is playing, with a progress bar and buttons."""
        session = await self.playing(ctx)
        card = session.announcer.card()
        assert card is not None
        embed, view = card
        message = await send(ctx, embed, view=view)
        if message is not None:
            session.announcer.message = message  # later updates edit this card

    @commands.hybrid_command(name="remove", aliases=["rm"])
    @app_commands.describe(position="The track's place in the queue")
    @in_guild()
    @requires(Action.CLEAR)
    async def remove(self, ctx: Ctx, position: int) -> None:
        """Remove a track from the queue."""
        session = await self.session(ctx)
        entry = await session.edit(lambda queue: queue.remove(position))
        assert isinstance(entry, QueueEntry)
        await self.audit(ctx, "remove", title=entry.track.title)
        await self.reply(ctx, f"Removed {track_link(entry.track, 200)}.")

    @commands.hybrid_command(name="move", aliases=["mv"])
    @app_commands.describe(source="The track's place now", destination="Where it should go")
    @in_guild()
    @requires(Action.CLEAR)
    async def move(self, ctx: Ctx, source: int, destination: int) -> None:
        """Move a track to another place in the queue."""
        session = await self.session(ctx)
        entry = await session.edit(lambda queue: queue.move(source, destination))
        assert isinstance(entry, QueueEntry)
        await self.reply(ctx, f"Moved {track_link(entry.track, 200)} to {destination}.")

    @commands.hybrid_command(name="shuffle")
    @in_guild()
    @requires(Action.CONTROL)
    async def shuffle(self, ctx: Ctx) -> None:
        """Shuffle the queue."""
        session = await self.session(ctx)
        if not session.queue.upcoming:
            raise ZileanError("The queue is empty.")
        await session.edit(lambda queue: queue.shuffle())
        await self.reply(ctx, f"🔀 Shuffled {len(session.queue.upcoming)} tracks.")

    @commands.hybrid_command(name="clear")
    @in_guild()
    @requires(Action.CLEAR)
    async def clear(self, ctx: Ctx) -> None:
        """Remove every track from the queue (the current one keeps playing)."""
        session = await self.session(ctx)
        dropped = await session.edit(lambda queue: queue.clear())
        await self.audit(ctx, "clear", dropped=dropped)
        await self.reply(ctx, f"Cleared {dropped} tracks from the queue.")

    @commands.hybrid_command(name="loop", aliases=["repeat"])
    @app_commands.describe(mode="off, one (this track) or queue")
    @in_guild()
    @requires(Action.CONTROL)
    async def loop(self, ctx: Ctx, mode: Literal["off", "one", "queue"] | None = None) -> None:
        """Repeat this track or the whole queue."""
        session = await self.session(ctx)
        chosen = LoopMode(mode) if mode else _next_loop(session.queue.loop)

        def set_loop(queue: Queue) -> None:
            queue.loop = chosen

        await session.edit(set_loop)
        session.announcer.refresh()
        await self.reply(ctx, f"Loop: {embeds.LOOP_LABELS[chosen]}.")

    @commands.hybrid_command(name="previous", aliases=["back"])
    @in_guild()
    @requires(Action.CONTROL)
    async def previous(self, ctx: Ctx) -> None:
        """Play the previous track again."""
        session = await self.session(ctx)
        await self.ensure_voice(ctx, session)
        entry = await session.previous()
        await self.reply(ctx, f"⏮️ Back to {track_link(entry.track, 200)}.")

    @commands.hybrid_command(name="replay", aliases=["restart"])
    @in_guild()
    @requires(Action.CONTROL)
    async def replay(self, ctx: Ctx) -> None:
        """Start this track again from the beginning."""
        session = await self.playing(ctx)
        await session.replay()
        await self.reply(ctx, "🔄 From the top.")

    @commands.hybrid_command(name="seek")
    @app_commands.describe(time="1:30, 90, +30 or -10")
    @in_guild()
    @requires(Action.CONTROL)
    async def seek(self, ctx: Ctx, time: str) -> None:
        """Jump to a time in this track (1:30, 90, +30, -10)."""
        session = await self.playing(ctx)
        target = parse_seek(time, session.position_ms)
        await session.seek(target)
        assert session.current is not None
        await self.reply(ctx, f"⏩ {progress_bar(target, session.current.track.duration_ms)}")

    @commands.hybrid_command(name="volume", aliases=["vol", "v"])
    @app_commands.describe(percent="0 to 200 (100 is normal)")
    @in_guild()
    @requires(Action.CONTROL)
    async def volume(self, ctx: Ctx, percent: int | None = None) -> None:
        """Show or set the volume (0–200 %)."""
        session = await self.session(ctx)
        if percent is None and ctx.interaction is None and not ctx.view.eof:
            # `=volume loud`: discord.py leaves an optional number unset when the word isn't one.
            raise ZileanError("Give the volume as a whole number from 0 to 200, e.g. `=volume 80`.")
        if percent is not None and not 0 <= percent <= 200:
            raise ZileanError("Volume goes from 0 to 200 %.")
        if percent is None:
            await self.reply(ctx, f"Volume: {volume_label(session.volume)}")
            return
        await session.set_volume(percent)
        session.announcer.refresh()
        await self.reply(ctx, f"Volume set to {volume_label(percent)}.")

    @commands.hybrid_group(
        name="effect", aliases=["effects", "fx"], fallback="list", invoke_without_command=True
    )
    @in_guild()
    async def effect(self, ctx: Ctx) -> None:
        """List the audio effects (and which are on)."""
        session = await self.session(ctx)
        catalogue = [(effect.name, effect.description) for effect in resolve(effect_names())]
        await send(ctx, embeds.effects_list(session.effects, catalogue))

    @effect.command(name="add")
    @app_commands.describe(name="The effect to add")
    @requires(Action.CONTROL)
    async def effect_add(self, ctx: Ctx, name: str) -> None:
        """Add an effect (e.g. nightcore, bassboost)."""
        session = await self.session(ctx)
        if name.strip().lower() not in effect_names():  # core's message would repeat the name raw
            raise ZileanError(f"Unknown effect “{echo(name)}”. Valid effects: {', '.join(effect_names())}.")
        chosen = resolve([name.strip().lower()])[0].name
        if chosen in session.effects:
            raise ZileanError(f"`{chosen}` is already on.")
        await session.set_effects([*session.effects, chosen])
        session.announcer.refresh()
        await self.reply(ctx, f"🎛️ Added `{chosen}`. Effects: {', '.join(session.effects)}.")

    @effect.command(name="remove")
    @app_commands.describe(name="The effect to remove")
    @requires(Action.CONTROL)
    async def effect_remove(self, ctx: Ctx, name: str) -> None:
        """Remove an effect."""
        session = await self.session(ctx)
        if name.lower() not in session.effects:
            raise ZileanError(f"“{echo(name)}” is not on.")
        await session.set_effects([e for e in session.effects if e != name.lower()])
        session.announcer.refresh()
        await self.reply(ctx, f"Removed `{name.lower()}`. Effects: {', '.join(session.effects) or 'none'}.")

    @effect.command(name="clear")
    @requires(Action.CONTROL)
    async def effect_clear(self, ctx: Ctx) -> None:
        """Turn every effect off."""
        session = await self.session(ctx)
        await session.set_effects([])
        session.announcer.refresh()
        await self.reply(ctx, "Effects cleared.")

    @effect_add.autocomplete("name")
    @effect_remove.autocomplete("name")
    async def _effect_names(self, interaction: object, current: str) -> list[app_commands.Choice[str]]:
        wanted = current.lower()
        return [app_commands.Choice(name=n, value=n) for n in effect_names() if wanted in n][:25]

    @commands.hybrid_command(name="history")
    @in_guild()
    async def history(self, ctx: Ctx) -> None:
        """Show the recently played tracks."""
        assert ctx.guild is not None
        recent = await self.bot.store.recent_history(ctx.guild.id)
        entries = [QueueEntry(item.id, item.track) for item in recent]
        await send(ctx, embeds.history(entries))


def _next_loop(mode: LoopMode) -> LoopMode:
    return {LoopMode.OFF: LoopMode.QUEUE, LoopMode.QUEUE: LoopMode.ONE, LoopMode.ONE: LoopMode.OFF}[mode]


__all__ = ["Queueing", "Track"]
