"""The bot's audit trail: every command and button that changes something, with where it came from.

A command records its own entry when it has details worth keeping (`CogBase.audit`: the track played,
settings before and after); every other command that changes something gets a plain entry when it
completes (`record_completed`), so nothing is missed. The origin is "discord" unless the command
arrived through the bus, whose row says "web" or "cli" (bus_bridge sets `ctx.origin`).
Writing the log never fails a command: a failure is logged and the command goes on.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from discord.ext import commands

    from zilean.bot.client import ZileanBot

log = logging.getLogger(__name__)

# Commands that only show something: nothing to audit.
READ_ONLY = frozenset(
    {"help", "queue", "nowplaying", "history", "dashboard", "settings", "permissions", "search"}
)
MAX_DETAIL_CHARS = 300


def origin_of(ctx: commands.Context[Any]) -> str:
    """ "discord", or the bus command's origin ("web", "cli")."""
    return str(getattr(ctx, "origin", "discord"))


async def record(
    bot: ZileanBot, guild_id: int, actor_id: int | None, origin: str, action: str, detail: dict[str, Any]
) -> None:
    """Write one entry; a failure is logged, never raised."""
    try:
        await bot.store.audit.record(guild_id, actor_id, origin, action, detail)  # type: ignore[arg-type]
    except Exception:
        log.warning("could not write the audit log (%s in guild %s)", action, guild_id, exc_info=True)


async def record_command(ctx: commands.Context[Any], action: str, detail: dict[str, Any]) -> None:
    """The entry for a command (called by the command itself); marks the context as audited."""
    if ctx.guild is None:
        return
    ctx.audited = True  # type: ignore[attr-defined]
    await record(ctx.bot, ctx.guild.id, ctx.author.id, origin_of(ctx), action, detail)


async def record_completed(ctx: commands.Context[Any]) -> None:
    """After a command ran: a plain entry unless it recorded its own or only shows something."""
    command = ctx.command
    if ctx.guild is None or command is None or getattr(ctx, "audited", False):
        return
    if command.qualified_name in READ_ONLY:
        return
    # Positional arguments follow the cog and the context in ctx.args; keyword-only ones are in kwargs.
    positional = ctx.args[2:] if command.cog is not None else ctx.args[1:]
    given = {**dict(zip(command.clean_params, positional, strict=False)), **ctx.kwargs}
    detail = {key: _short(value) for key, value in given.items() if value is not None}
    await record_command(ctx, command.qualified_name.replace(" ", "_"), detail)


def _short(value: Any) -> Any:
    if isinstance(value, bool | int | float):
        return value
    text = str(getattr(value, "id", value)) if hasattr(value, "mention") else str(value)
    return text[:MAX_DETAIL_CHARS]
