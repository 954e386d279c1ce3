"""settings, permissions, 247, dashboard, help."""

from __future__ import annotations

from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from zilean.bot import embeds
from zilean.bot.checks import in_guild, requires
from zilean.bot.cogs.base import CogBase, Ctx
from zilean.bot.errors import send
from zilean.core.errors import ZileanError
from zilean.core.limits import clock
from zilean.core.permissions import Action as Act
from zilean.core.permissions import Capability
from zilean.db.errors import InvalidSettingError

Flag = Literal["play", "skip", "clear", "settings"]
Verdict = Literal["allow", "deny", "default"]
VERDICTS: dict[str, bool | None] = {"allow": True, "deny": False, "default": None}
SHOWN = {True: "✅", False: "⛔", None: "·"}
WORDS = {value: word for word, value in VERDICTS.items()}


class Admin(CogBase):
    """Server settings and who may do what."""

    @commands.hybrid_group(name="settings", fallback="show", invoke_without_command=True)
    @in_guild()
    async def settings(self, ctx: Ctx) -> None:
        """Show this server's music settings."""
        assert ctx.guild is not None
        s = await self.bot.sessions.guild_settings(ctx.guild.id, fresh=True)
        lines = [
            f"Prefix: `{s.prefix or self.bot.settings.command_prefix}`",
            f"DJ role: {f'<@&{s.dj_role_id}>' if s.dj_role_id else 'none'}",
            f"Default volume: {s.volume}%",
            f"Idle timeout: {s.idle_timeout_s // 60} min {s.idle_timeout_s % 60} s",
            f"24/7: {'on' if s.always_on else 'off'}",
            "Announce channel: "
            + (f"<#{s.announce_channel_id}>" if s.announce_channel_id else "where commands are used"),
            f"Vote-skip ratio: more than {s.vote_skip_ratio:.0%} of listeners",
            "Longest track: " + (clock(s.max_track_length_s) if s.max_track_length_s else "no limit"),
            "Queued tracks per member: "
            + (str(s.max_queue_per_member) if s.max_queue_per_member else "no limit"),
            f"Audit log kept: {s.audit_retention_days} days",
            f"Fair queue: {'on (requesters take turns)' if s.fair_queue else 'off'}",
            f"Autoplay: {'on (related tracks follow the queue)' if s.autoplay else 'off'}",
            "Equalizer: " + ("flat" if not s.eq else "custom (see `eq`)"),
        ]
        await send(ctx, embeds.info("\n".join(lines), "Settings"))

    async def _update(self, ctx: Ctx, text: str, **changes: object) -> None:
        assert ctx.guild is not None
        before = await self.bot.sessions.guild_settings(ctx.guild.id, fresh=True)
        try:
            after = await self.bot.sessions.update_settings(ctx.guild.id, **changes)
        except InvalidSettingError as exc:
            raise ZileanError(str(exc)) from None
        await self.audit(
            ctx,
            "settings",
            before={name: getattr(before, name) for name in changes},
            after={name: getattr(after, name) for name in changes},
        )
        await self.reply(ctx, text)

    @settings.command(name="prefix")
    @app_commands.describe(prefix="1 to 5 characters")
    @requires(Act.SETTINGS)
    async def settings_prefix(self, ctx: Ctx, prefix: str) -> None:
        """Change the prefix for text commands."""
        await self._update(ctx, f"Prefix set to `{discord.utils.escape_markdown(prefix)}`.", prefix=prefix)

    @settings.command(name="djrole")
    @app_commands.describe(role="Members with this role may do everything (leave empty to unset)")
    @requires(Act.SETTINGS)
    async def settings_djrole(self, ctx: Ctx, role: discord.Role | None = None) -> None:
        """Set (or unset) the DJ role."""
        text = f"DJ role set to {role.mention}." if role else "DJ role unset."
        await self._update(ctx, text, dj_role_id=role.id if role else None)

    @settings.command(name="volume")
    @app_commands.describe(percent="0 to 200")
    @requires(Act.SETTINGS)
    async def settings_volume(self, ctx: Ctx, percent: commands.Range[int, 0, 200]) -> None:
        """Set the volume new sessions start at."""
        await self._update(ctx, f"Default volume set to {percent}%.", volume=percent)

    @settings.command(name="idle")
    @app_commands.describe(seconds="How long to wait with nothing playing before leaving")
    @requires(Act.SETTINGS)
    async def settings_idle(self, ctx: Ctx, seconds: commands.Range[int, 0, 86_400]) -> None:
        """Set the idle timeout (seconds)."""
        await self._update(ctx, f"I'll leave after {seconds} s of silence.", idle_timeout_s=seconds)

    @settings.command(name="announce")
    @app_commands.describe(channel="Where to post now-playing (leave empty: where commands are used)")
    @requires(Act.SETTINGS)
    async def settings_announce(self, ctx: Ctx, channel: discord.TextChannel | None = None) -> None:
        """Choose the channel for now-playing messages."""
        text = (
            f"Now-playing messages go to {channel.mention}." if channel else "Now-playing follows commands."
        )
        await self._update(ctx, text, announce_channel_id=channel.id if channel else None)

    @settings.command(name="voteratio")
    @app_commands.describe(ratio="A skip vote passes with more than this fraction of listeners (0.1–1)")
    @requires(Act.SETTINGS)
    async def settings_voteratio(self, ctx: Ctx, ratio: commands.Range[float, 0.01, 1.0]) -> None:
        """Set how many listeners must vote to skip."""
        await self._update(
            ctx, f"A skip vote now needs more than {ratio:.0%} of listeners.", vote_skip_ratio=ratio
        )

    @settings.command(name="maxlength")
    @app_commands.describe(seconds="The longest track members may queue (leave empty: no limit)")
    @requires(Act.SETTINGS)
    async def settings_maxlength(
        self, ctx: Ctx, seconds: commands.Range[int, 1, 86_400] | None = None
    ) -> None:
        """Limit how long a queued track may be (DJs are exempt)."""
        text = f"Tracks may be up to {clock(seconds)} long." if seconds else "No limit on track length."
        await self._update(ctx, text, max_track_length_s=seconds)

    @settings.command(name="maxqueue")
    @app_commands.describe(tracks="How many tracks one member may have queued (leave empty: no limit)")
    @requires(Act.SETTINGS)
    async def settings_maxqueue(self, ctx: Ctx, tracks: commands.Range[int, 1, 10_000] | None = None) -> None:
        """Limit how many tracks one member may have queued (DJs are exempt)."""
        text = f"Each member may queue up to {tracks} tracks." if tracks else "No limit on queued tracks."
        await self._update(ctx, text, max_queue_per_member=tracks)

    @settings.command(name="auditdays")
    @app_commands.describe(days="How many days the audit log keeps entries")
    @requires(Act.SETTINGS)
    async def settings_auditdays(self, ctx: Ctx, days: commands.Range[int, 1, 3650]) -> None:
        """Set how long the audit log is kept."""
        await self._update(ctx, f"The audit log keeps {days} days.", audit_retention_days=days)

    @settings.command(name="fairqueue")
    @app_commands.describe(
        state="on: requesters take turns in the queue; off: tracks queue in the order added"
    )
    @requires(Act.SETTINGS)
    async def settings_fairqueue(self, ctx: Ctx, state: Literal["on", "off"]) -> None:
        """Let requesters take turns in the queue (fair queue), or not."""
        text = (
            "⚖️ Fair queue is on: new tracks take turns by requester."
            if state == "on"
            else "Fair queue is off: tracks queue in the order they are added."
        )
        await self._update(ctx, text, fair_queue=state == "on")

    @commands.hybrid_command(name="autoplay")
    @app_commands.describe(
        state="on: when the queue runs out, keep playing related tracks; off: stop; empty: switch"
    )
    @in_guild()
    @requires(Act.SETTINGS)
    async def autoplay(self, ctx: Ctx, state: Literal["on", "off"] | None = None) -> None:
        """Keep playing related tracks when the queue runs out (autoplay), or not."""
        assert ctx.guild is not None
        if state is None:  # like `247`: no argument switches it
            current = (await self.bot.sessions.guild_settings(ctx.guild.id, fresh=True)).autoplay
            state = "off" if current else "on"
        text = (
            "📻 Autoplay is on: when the queue runs out, related tracks keep playing."
            if state == "on"
            else "Autoplay is off: the music stops when the queue runs out."
        )
        await self._update(ctx, text, autoplay=state == "on")

    @commands.hybrid_command(name="247", aliases=["24/7", "alwayson"])
    @app_commands.describe(enabled="on keeps me in voice even when idle")
    @in_guild()
    @requires(Act.SETTINGS)
    async def always_on(self, ctx: Ctx, enabled: bool | None = None) -> None:
        """Stay in voice even when nothing plays (24/7 mode)."""
        assert ctx.guild is not None
        current = (await self.bot.sessions.guild_settings(ctx.guild.id, fresh=True)).always_on
        value = (not current) if enabled is None else enabled
        await self._update(ctx, f"24/7 mode is {'on' if value else 'off'}.", always_on=value)

    @commands.hybrid_group(
        name="permissions", aliases=["perms"], fallback="show", invoke_without_command=True
    )
    @in_guild()
    async def permissions(self, ctx: Ctx) -> None:
        """Show who may do what here."""
        assert ctx.guild is not None
        rules = await self.bot.store.permissions.rules(ctx.guild.id)
        lines = ["Default: listeners may play, skip and control; DJs and admins may do everything."]
        for rule in rules:
            who = f"<@&{rule.target_id}>" if rule.target_kind == "role" else f"<@{rule.target_id}>"
            if rule.target_kind == "role" and rule.target_id == ctx.guild.id:
                who = "@everyone"
            flags = " ".join(
                f"{name} {SHOWN[value]}"
                for name, value in (
                    ("play", rule.can_play),
                    ("skip", rule.can_skip),
                    ("clear", rule.can_clear),
                    ("settings", rule.can_settings),
                )
            )
            lines.append(f"{who}: {flags}")
        await send(ctx, embeds.info("\n".join(lines), "Permissions"))

    @permissions.command(name="set")
    @app_commands.describe(
        target="A role or a member", action="What to allow or deny", verdict="allow, deny or default"
    )
    @requires(Act.SETTINGS)
    async def permissions_set(
        self, ctx: Ctx, target: discord.Role | discord.Member, action: Flag, verdict: Verdict
    ) -> None:
        """Allow or deny play / skip / clear / settings for a role or member."""
        assert ctx.guild is not None
        kind = "role" if isinstance(target, discord.Role) else "user"
        column = "can_" + Capability(action).value
        old = await self.bot.store.permissions.get(ctx.guild.id, kind, target.id)
        before = WORDS[getattr(old, column) if old is not None else None]
        await self.bot.store.permissions.set(ctx.guild.id, kind, target.id, **{column: VERDICTS[verdict]})
        await self.audit(
            ctx,
            "permissions",
            target=f"{kind}:{target.id}",
            target_name=target.name if isinstance(target, discord.Role) else target.display_name,
            flag=action,
            verdict=verdict,
            before={action: before},
            after={action: verdict},
        )
        await self.reply(ctx, f"{target.mention}: {action} → {verdict}.")

    @permissions.command(name="reset")
    @app_commands.describe(target="A role or a member")
    @requires(Act.SETTINGS)
    async def permissions_reset(self, ctx: Ctx, target: discord.Role | discord.Member) -> None:
        """Remove every rule for a role or member."""
        assert ctx.guild is not None
        kind = "role" if isinstance(target, discord.Role) else "user"
        removed = await self.bot.store.permissions.delete(ctx.guild.id, kind, target.id)
        if removed:
            await self.audit(ctx, "permissions_reset", target=f"{kind}:{target.id}")
        await self.reply(
            ctx, f"Rules for {target.mention} removed." if removed else "There were no rules to remove."
        )

    @commands.hybrid_command(name="dashboard", aliases=["web"])
    @in_guild()
    async def dashboard(self, ctx: Ctx) -> None:
        """Get the link to this server's dashboard."""
        assert ctx.guild is not None
        url = f"{self.bot.settings.web_base_url.rstrip('/')}/guilds/{ctx.guild.id}"
        await send(ctx, embeds.info(f"[Open the dashboard]({url})", "Dashboard"), ephemeral=True)

    @commands.hybrid_command(name="help")
    async def help(self, ctx: Ctx) -> None:
        """List every command."""
        prefix = self.bot.settings.command_prefix
        if ctx.guild is not None:
            prefix = (await self.bot.sessions.guild_settings(ctx.guild.id)).prefix or prefix
        lines = []
        for command in sorted(self.bot.commands, key=lambda c: c.name):
            lines.append(f"`{command.name}` — {command.short_doc}")
        text = f"Use `/command` or `{discord.utils.escape_markdown(prefix)}command`.\n" + "\n".join(lines)
        await send(ctx, embeds.info(text, "Commands"), ephemeral=True)
