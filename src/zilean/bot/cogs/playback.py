"""join, leave, play, playfile, search, pause, resume, skip, stop."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from zilean.bot import embeds
from zilean.bot.checks import Refused, decision_for, in_guild, listener_ids, requires
from zilean.bot.cogs.base import CogBase, Ctx
from zilean.bot.errors import NONE, send
from zilean.bot.formatting import echo
from zilean.bot.views import SearchPicker
from zilean.core.errors import ZileanError
from zilean.core.limits import Admitted, QueueLimits, admit
from zilean.core.permissions import Action, Basis, vote_passes, votes_needed
from zilean.core.queue import Placement
from zilean.core.sources import LoadFailed, NoMatches, PlaylistLoaded, TrackLoaded
from zilean.core.sources.results import LoadResult
from zilean.core.track import Track

log = logging.getLogger(__name__)

Position = Literal["end", "next", "now"]
NOW_NEEDS_SKIP = (
    "This server's rules don't let you skip outright, and `now` would skip the current track. "
    "Use `next` to play it after this one."
)
PLACEMENTS = {"end": Placement.END, "next": Placement.NEXT, "now": Placement.NOW, None: Placement.END}
SEARCH_RESULTS = 5
UNLIMITED = frozenset({Basis.OWNER, Basis.ADMINISTRATOR, Basis.DJ_ROLE})  # queue limits don't bind them


class Playback(CogBase):
    """Getting music going and stopping it."""

    @commands.hybrid_command(name="join")
    @in_guild()
    @requires(Action.JOIN)
    async def join(self, ctx: Ctx) -> None:
        """Bring me into your voice channel."""
        session = await self.session(ctx)
        author = ctx.author
        channel = author.voice.channel if isinstance(author, discord.Member) and author.voice else None
        if not isinstance(channel, discord.VoiceChannel | discord.StageChannel):
            raise ZileanError("Join a voice channel first.")
        await self.bot.sessions.join(session, channel)
        await self.reply(ctx, f"Joined **{discord.utils.escape_markdown(channel.name)}**.")

    @commands.hybrid_command(name="leave", aliases=["disconnect", "dc"])
    @in_guild()
    @requires(Action.CLEAR, connected=True)
    async def leave(self, ctx: Ctx) -> None:
        """Stop, clear the queue and leave the voice channel."""
        assert ctx.guild is not None
        if ctx.guild.voice_client is None:
            raise ZileanError("I'm not in a voice channel.")
        await self.bot.sessions.leave(ctx.guild)
        await self.audit(ctx, "leave")
        await self.reply(ctx, "Left the voice channel. 👋")

    @commands.hybrid_command(name="play", aliases=["p"])
    @app_commands.describe(
        query="A link, search words, or local:<name>",
        position="Where to queue it (default: at the end)",
        file="An audio file to play",
    )
    @in_guild()
    @requires(Action.PLAY)
    async def play(
        self,
        ctx: Ctx,
        file: discord.Attachment | None = None,
        position: Position | None = None,
        *,
        query: str | None = None,
    ) -> None:
        """Play a song or playlist from a link, a search, or an uploaded file."""
        if file is None and ctx.message is not None and ctx.interaction is None and ctx.message.attachments:
            file = ctx.message.attachments[0]
        if file is None and not (query and query.strip()):
            raise ZileanError("Tell me what to play: a link, some search words, or attach a file.")
        if position == "now":
            # `now` ends the current track: that is a skip, and needs the skip permission (no vote).
            skipping = await decision_for(ctx, Action.SKIP)
            if skipping.may_vote:  # `=skip` would only count as a vote: there is no vote for `now`
                raise Refused(NOW_NEEDS_SKIP)
            if not skipping.allowed:
                raise Refused(skipping.reason)
        await ctx.defer()  # resolving can take longer than Discord's 3 s
        if file is not None:
            result = await self.bot.resolver.resolve_file(file.url, file.filename)
        else:
            assert query is not None
            result = await self.bot.resolver.resolve(query)
        await self._enqueue(ctx, result, PLACEMENTS[position])

    @commands.hybrid_command(name="playfile")
    @app_commands.describe(file="An audio file (mp3, m4a, ogg, opus, flac, wav, webm, mp4, aac)")
    @in_guild()
    @requires(Action.PLAY)
    async def playfile(self, ctx: Ctx, file: discord.Attachment) -> None:
        """Play an uploaded audio file."""
        await ctx.defer()
        result = await self.bot.resolver.resolve_file(file.url, file.filename)
        await self._enqueue(ctx, result, Placement.END)

    @commands.hybrid_command(name="search")
    @app_commands.describe(query="What to look for")
    @in_guild()
    @requires(Action.PLAY)
    async def search(self, ctx: Ctx, *, query: str) -> None:
        """Search and pick one of the top results."""
        await ctx.defer()
        tracks = await self.bot.resolver.search(query, SEARCH_RESULTS)
        if not tracks:
            raise ZileanError(f"Nothing found for “{echo(query, 100)}”.")

        async def pick(interaction: discord.Interaction[Any], track: Track) -> None:
            decision = await decision_for(ctx, Action.PLAY)
            if not decision.allowed:
                await interaction.response.send_message(embed=embeds.error(decision.reason), ephemeral=True)
                return
            await interaction.response.defer()
            try:
                session = await self.session(ctx)
                await self.ensure_voice(ctx, session)
                chosen = dataclasses.replace(track, requester_id=ctx.author.id)
                await self._admit(ctx, session, [chosen], decision.basis)
                _, where = await session.add([chosen])
                embed = embeds.track_added(chosen, where or None, playing_now=where == 0)
            except ZileanError as exc:
                embed = embeds.error(exc.message)
            await interaction.edit_original_response(embed=embed, view=None)

        lines = [
            f"`{i}.` {embeds.track_link(t, 150)} · {embeds.duration(t.duration_ms)}"
            for i, t in enumerate(tracks, 1)
        ]
        picker = SearchPicker(tracks, ctx.author.id, pick)
        await send(ctx, embeds.info("\n".join(lines), "Pick a track"), view=picker)

    async def _enqueue(self, ctx: Ctx, result: LoadResult, placement: Placement) -> None:
        if isinstance(result, LoadFailed):
            raise ZileanError(result.message)
        if isinstance(result, NoMatches):
            raise ZileanError(f"Nothing found for “{echo(result.query, 100)}”.")
        session = await self.session(ctx)
        await self.ensure_voice(ctx, session)
        requester = ctx.author.id
        basis = getattr(getattr(ctx, "decision", None), "basis", None)
        if isinstance(result, TrackLoaded):
            track = dataclasses.replace(result.track, requester_id=requester)
            await self._admit(ctx, session, [track], basis)
            _, where = await session.add([track], placement)
            await self.audit(ctx, "play", title=track.title, url=track.url)
            embed = embeds.track_added(track, where or None, playing_now=where == 0)
            if result.note:  # found by a fallback search provider: say so
                embed.set_footer(text=result.note)
            await send(ctx, embed)
            return
        assert isinstance(result, PlaylistLoaded)
        tracks = [dataclasses.replace(t, requester_id=requester) for t in result.tracks]
        if not tracks:
            raise ZileanError("That playlist is empty.")
        admitted = await self._admit(ctx, session, tracks, basis)
        tracks = admitted.tracks
        await session.add(tracks, placement)
        await self.audit(ctx, "play_playlist", name=result.name, count=len(tracks))
        total = sum(t.duration_ms or 0 for t in tracks)
        await send(ctx, embeds.playlist_added(result.name, len(tracks), total, result.truncated_from))
        if admitted.note:
            await self.reply(ctx, f"Not everything was queued: {admitted.note}.")

    async def _admit(self, ctx: Ctx, session: Any, tracks: list[Track], basis: Basis | None) -> Admitted:
        """The tracks this server's per-member limits let the author queue (LimitReached: none)."""
        if basis in UNLIMITED:
            return Admitted(tracks)
        assert ctx.guild is not None
        settings = await self.bot.sessions.guild_settings(ctx.guild.id)
        limits = QueueLimits(settings.max_track_length_s, settings.max_queue_per_member)
        mine = sum(1 for entry in session.queue.upcoming if entry.track.requester_id == ctx.author.id)
        return admit(tracks, limits, mine)

    @commands.hybrid_command(name="pause")
    @in_guild()
    @requires(Action.CONTROL)
    async def pause(self, ctx: Ctx) -> None:
        """Pause the music."""
        session = await self.playing(ctx)
        await session.pause()
        session.announcer.refresh()
        await self.reply(ctx, "⏸️ Paused. Use `resume` to continue.")

    @commands.hybrid_command(name="resume", aliases=["unpause"])
    @in_guild()
    @requires(Action.CONTROL)
    async def resume(self, ctx: Ctx) -> None:
        """Continue after a pause."""
        session = await self.playing(ctx)
        await self.ensure_voice(ctx, session)
        await session.resume()
        session.announcer.refresh()
        await self.reply(ctx, "▶️ Resumed.")

    @commands.hybrid_command(name="skip", aliases=["s", "next"])
    @app_commands.describe(to="Skip to this place in the queue")
    @in_guild()
    @requires(Action.SKIP)
    async def skip(self, ctx: Ctx, to: int | None = None) -> None:
        """Skip this track (or jump to the n-th in the queue)."""
        session = await self.playing(ctx)
        decision = ctx.decision  # type: ignore[attr-defined]
        if not decision.allowed:
            await self._vote(ctx, session)
            return
        entry = await session.skip(to)
        await self.audit(ctx, "skip", to=to)
        if entry is None:
            await self.reply(ctx, "⏭️ Skipped. The queue is finished.")
        else:
            await self.reply(ctx, f"⏭️ Skipped. Now: {embeds.track_link(entry.track, 200)}")

    async def _vote(self, ctx: Ctx, session: Any) -> None:
        assert ctx.guild is not None
        channel = session.voice.channel if session.voice is not None else None
        if channel is None:
            raise Refused("I'm not in a voice channel.")
        listeners = listener_ids(channel)
        if ctx.author.id not in listeners:
            raise Refused("Join my voice channel to vote.")
        session.skip_votes.add(ctx.author.id)
        ratio = (await self.bot.sessions.guild_settings(ctx.guild.id)).vote_skip_ratio
        needed = votes_needed(len(listeners), ratio)
        have = len(session.skip_votes & listeners)
        why = ctx.decision.reason  # type: ignore[attr-defined]  # the policy's refusal of an outright skip
        if vote_passes(session.skip_votes, listeners, ratio):
            await session.skip()
            await self.audit(ctx, "skip_vote_passed", votes=have)
            await self.reply(ctx, f"{why}\n⏭️ Vote passed ({have}/{needed}). Skipped.")
        else:
            await self.audit(ctx, "skip_vote", votes=have, needed=needed)
            await self.reply(
                ctx, f"{why}\n🗳️ Skip vote: {have}/{needed}. More listeners must vote with `skip`."
            )

    @commands.hybrid_command(name="stop")
    @in_guild()
    @requires(Action.CLEAR)
    async def stop(self, ctx: Ctx) -> None:
        """Stop the music and clear the queue."""
        session = await self.session(ctx)
        session.announcer.queue_finished()
        await session.stop()
        await self.audit(ctx, "stop")
        await self.reply(ctx, "⏹️ Stopped and cleared the queue.")


__all__ = ["NONE", "Playback"]
