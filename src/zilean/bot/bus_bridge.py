"""Dashboard/CLI commands from the bus, run through the bot's own commands: same checks, same code.

A bus command becomes the prefix command a member would have typed (`seek 90`, `settings prefix !`):
the member is looked up in the guild, a context is built around a stand-in message from them, and
discord.py's own `Command.invoke` runs the checks (the one permission policy), the argument
converters and the command. Replies are captured instead of sent; they become the outcome.

Outcome rules: the command ran → done (with its reply); a check, a bad argument or a ZileanError
(a reason meant for the user, e.g. "Nothing is playing.") → refused with that reason; anything else
→ failed with the generic message (and a log line with the traceback).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands
from discord.ext.commands.view import StringView

from zilean.bot import audit
from zilean.bot.errors import GENERIC, user_message
from zilean.core.effects import resolve
from zilean.core.errors import ZileanError
from zilean.db.bus.records import Command, CommandHandler, Outcome

if TYPE_CHECKING:
    from zilean.bot.client import ZileanBot
    from zilean.db.bus import Bus
    from zilean.db.bus.worker import BotWorker

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 60.0
LOOP_NAMES = {"off": "off", "track": "one", "queue": "queue"}
SETTING_COMMANDS = {
    "prefix": "settings prefix",
    "dj_role_id": "settings djrole",
    "volume": "settings volume",
    "idle_timeout_s": "settings idle",
    "announce_channel_id": "settings announce",
    "always_on": "247",
    "vote_skip_ratio": "settings voteratio",
    "max_track_length_s": "settings maxlength",
    "max_queue_per_member": "settings maxqueue",
    "audit_retention_days": "settings auditdays",
    "fair_queue": "settings fairqueue",
    "autoplay": "autoplay",
}
VERDICT_WORDS = {True: "allow", False: "deny", None: "default"}


class NotTranslatable(ZileanError):
    """A bus payload that has no equivalent bot command."""


def command_lines(command: Command) -> list[str]:
    """The prefix command line(s), without prefix, that carry out a bus command."""
    action, p = command.action, command.payload
    if action in ("pause", "resume", "stop", "shuffle", "clear", "previous", "leave", "join"):
        return [action]
    if action == "play":
        return [f"play {p.get('position', 'end')} {p['query']}"]
    if action == "skip":
        return [f"skip {int(p['to'])}" if p.get("to") else "skip"]
    if action == "seek":
        return [f"seek {int(p['position_ms']) // 1000}"]
    if action == "volume":
        return [f"volume {int(p['percent'])}"]
    if action == "loop":
        return [f"loop {LOOP_NAMES[p['mode']]}"]
    if action == "remove":
        return [f"remove {int(p['index'])}"]
    if action == "move":
        return [f"move {int(p['from'])} {int(p['to'])}"]
    if action == "effects":  # the dashboard sets the whole list; the bot adds one at a time
        names = [
            effect.name for effect in resolve([str(n).lower() for n in p["effects"]])
        ]  # unknown: refused
        return ["effect clear", *(f"effect add {name}" for name in names)]
    if action == "settings":
        return [_setting_line(key, value) for key, value in dict(p["changes"]).items()]
    if action == "permission":
        target = int(p["target_id"])
        lines = []
        for flag, value in dict(p["rules"]).items():
            lines.append(f"permissions set {target} {flag.removeprefix('can_')} {VERDICT_WORDS[value]}")
        return lines
    raise NotTranslatable(f"the bot has no command for {action!r}")


def _setting_line(key: str, value: Any) -> str:
    if key not in SETTING_COMMANDS:
        raise NotTranslatable(f"unknown setting {key!r}; use {', '.join(SETTING_COMMANDS)}")
    if key == "always_on":
        return f"247 {'true' if value else 'false'}"
    if key in ("fair_queue", "autoplay"):
        return f"{SETTING_COMMANDS[key]} {'on' if value else 'off'}"
    return SETTING_COMMANDS[key] if value is None else f"{SETTING_COMMANDS[key]} {value}"


class _StandIn:
    """The parts of a discord.Message that commands read: author, guild, channel, no attachments."""

    def __init__(self, state: Any, author: discord.Member, channel: Any, content: str) -> None:
        self._state = state
        self.id = discord.utils.time_snowflake(discord.utils.utcnow())
        self.author = author
        self.guild = author.guild
        self.channel = channel
        self.content = content
        self.attachments: list[discord.Attachment] = []
        self.mentions: list[discord.abc.User] = []
        self.role_mentions: list[discord.Role] = []
        self.channel_mentions: list[Any] = []
        self.reference = None
        self.type = discord.MessageType.default

    def to_reference(self, *, fail_if_not_exists: bool = True) -> None:
        """Nothing to reply to: the answer goes to the dashboard, not into a channel."""
        return None


class BusContext(commands.Context[Any]):
    """A command context whose replies are collected (for the outcome) instead of posted."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.replies: list[str] = []

    async def send(self, content: str | None = None, **kwargs: Any) -> Any:  # type: ignore[override]
        """Collect the reply's text."""
        parts = [content] if content else []
        embeds = list(kwargs.get("embeds") or []) + ([kwargs["embed"]] if kwargs.get("embed") else [])
        for embed in embeds:
            parts.extend(part for part in (embed.title, embed.description) if part)
        if parts:
            self.replies.append("\n".join(parts))
        return None

    async def reply(self, content: str | None = None, **kwargs: Any) -> Any:  # type: ignore[override]
        """Same as send."""
        return await self.send(content, **kwargs)


class BusBridge:
    """The bot's CommandHandler for the bus."""

    def __init__(self, bot: ZileanBot) -> None:
        self.bot = bot

    async def __call__(self, command: Command) -> Outcome:
        """Run one bus command as its member would have typed it."""
        try:
            async with asyncio.timeout(READY_TIMEOUT_S):
                await self.bot.wait_until_ready()
            guild = self.bot.get_guild(command.guild_id)
            if guild is None:
                return Outcome.refused("The bot is not in that server.")
            member = await self._member(guild, command.user_id)
            if member is None:
                return Outcome.refused("You are not a member of that server.")
            lines = command_lines(command)
        except ZileanError as exc:  # NotTranslatable, an unknown effect
            return Outcome.refused(exc.message)
        except (KeyError, TypeError, ValueError):
            return Outcome.refused(f"The {command.action!r} command is missing or has bad details.")
        except TimeoutError:
            return Outcome.failed("The bot is still connecting to Discord; try again in a moment.")
        replies: list[str] = []
        for line in lines:
            outcome = await self._run_line(member, line, replies, command.origin)
            if outcome is not None:
                return outcome
        return Outcome.done("\n".join(replies))

    async def _member(self, guild: discord.Guild, user_id: int | None) -> discord.Member | None:
        if user_id is None:
            return None
        member = guild.get_member(user_id)
        if member is not None:
            return member
        try:
            return await guild.fetch_member(user_id)
        except (discord.NotFound, discord.Forbidden):
            return None

    def _channel_for(self, guild: discord.Guild) -> Any:
        """Where announcements go: the session's channel if it has one, else the system channel."""
        session = self.bot.sessions.existing(guild.id)
        channel_id = getattr(session, "text_channel_id", None)
        channel = guild.get_channel(channel_id) if channel_id else None
        if channel is None:
            channel = guild.system_channel or next(iter(guild.text_channels), None)
        return channel

    async def _run_line(
        self, member: discord.Member, line: str, replies: list[str], origin: str = "web"
    ) -> Outcome | None:
        name, _, rest = line.partition(" ")
        found = self.bot.get_command(name)
        if found is None:
            return Outcome.failed(GENERIC)
        ctx = BusContext(
            message=_StandIn(self.bot._connection, member, self._channel_for(member.guild), line),  # type: ignore[arg-type]
            bot=self.bot,
            view=StringView(rest),
            prefix="",
            command=found,
            invoked_with=name,
        )
        ctx.origin = origin  # type: ignore[attr-defined]  # the audit log's "web" or "cli"
        try:
            await found.invoke(ctx)
        except commands.CommandError as exc:
            reason = user_message(exc) or GENERIC
            original = _original(exc)
            if isinstance(original, ZileanError | commands.CheckFailure | commands.UserInputError):
                return Outcome.refused(reason)
            log.error("bus command %r failed", line, exc_info=original)
            return Outcome.failed(reason)
        replies.extend(ctx.replies)
        await audit.record_completed(ctx)
        return None


def _original(error: BaseException) -> BaseException:
    while isinstance(error, commands.CommandInvokeError | commands.HybridCommandError):
        error = error.original
    return error


async def start_bus_worker(bot: ZileanBot, bus: Bus, shard_ids: Sequence[int] | None = None) -> BotWorker:
    """Start claiming this bot process's bus commands (its shards) and running them through the bot."""
    ids = list(shard_ids if shard_ids is not None else (bot.shard_ids or [0]))
    handler: CommandHandler = BusBridge(bot)
    metrics = getattr(bot, "metrics", None)  # zilean.bot.metrics.BotMetrics, set by runner.built_bot
    if metrics is not None:
        handler = metrics.bus_handler(handler)
    worker = bus.worker(handler, shard_ids=ids, shard_count=bot.shard_count or 1)
    await worker.start()
    return worker
