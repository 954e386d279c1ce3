"""The bot's one error translator: user-safe messages as (ephemeral) replies, everything else logged."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from zilean.bot import embeds
from zilean.bot.checks import Refused
from zilean.core.errors import ZileanError

if TYPE_CHECKING:
    from zilean.bot.client import ZileanBot

log = logging.getLogger(__name__)

GENERIC = "Something went wrong on my side. Please try again."
NONE = discord.AllowedMentions.none()


def user_message(error: BaseException) -> str | None:
    """The message to show for `error`, or None when it should stay silent."""
    error = getattr(error, "original", error)
    if isinstance(error, commands.HybridCommandError):
        error = error.original
    error = getattr(error, "original", error)
    if isinstance(error, ZileanError):
        return error.message
    if isinstance(error, Refused):
        return error.message
    if isinstance(error, commands.CommandNotFound):
        return None
    if isinstance(error, commands.MissingRequiredArgument | commands.MissingRequiredAttachment):
        return f"`{error.param.name}` is missing. Try `help` for how to use this command."
    if isinstance(error, commands.ArgumentParsingError):  # e.g. an unclosed " or « (discord.py's quotes)
        return "The quotes in that don't match up: close each one, or leave them out."
    if isinstance(error, commands.UserInputError | app_commands.TransformerError):
        return "That doesn't look right. Try `help` for how to use this command."
    if isinstance(error, commands.NoPrivateMessage):
        return "Music commands work in servers, not in direct messages."
    if isinstance(error, commands.CommandOnCooldown):
        return f"Slow down a little: try again in {error.retry_after:.0f} s."
    if isinstance(error, commands.CheckFailure | app_commands.CheckFailure):
        return "You can't use that here."
    return GENERIC


async def send(
    ctx: commands.Context[Any],
    embed: discord.Embed,
    *,
    ephemeral: bool = False,
    view: discord.ui.View | None = None,
) -> discord.Message | None:
    """Reply to a prefix or slash command; never pings anyone."""
    kwargs: dict[str, Any] = {"embed": embed, "allowed_mentions": NONE, "ephemeral": ephemeral}
    if view is not None:
        kwargs["view"] = view
    if ctx.interaction is None:
        # A prefix command: answer as a reply, so the answer is tied to the command (no ping).
        reference = ctx.message.to_reference(fail_if_not_exists=False)
        return await ctx.send(reference=reference, mention_author=False, **kwargs)
    return await ctx.send(**kwargs)


async def send_error(ctx: commands.Context[Any], text: str) -> None:
    """An error reply: ephemeral for slash commands, even after a public defer."""
    interaction = ctx.interaction
    if interaction is not None and interaction.response.is_done() and not _deferred_ephemeral(interaction):
        try:
            await interaction.delete_original_response()
        except discord.HTTPException:
            log.debug("could not remove the deferred response")
        await interaction.followup.send(embed=embeds.error(text), ephemeral=True, allowed_mentions=NONE)
        return
    await send(ctx, embeds.error(text), ephemeral=True)


def _deferred_ephemeral(interaction: discord.Interaction[Any]) -> bool:
    flags = getattr(interaction, "_zilean_ephemeral", False)
    return bool(flags)


def install_error_handlers(bot: ZileanBot) -> None:
    """Translate command errors (prefix and slash) into friendly replies."""

    @bot.event
    async def on_command_error(ctx: commands.Context[Any], error: commands.CommandError) -> None:
        message = user_message(error)
        if message is None:
            return
        if message == GENERIC:
            log.error("command %s failed", ctx.command, exc_info=getattr(error, "original", error))
        try:
            await send_error(ctx, message)
        except discord.HTTPException:
            log.warning("could not send an error reply for %s", ctx.command, exc_info=True)

    async def on_app_command_error(
        interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        message = user_message(error) or GENERIC
        if message == GENERIC:
            log.error("slash command failed", exc_info=getattr(error, "original", error))
        try:
            if interaction.response.is_done():
                await interaction.followup.send(
                    embed=embeds.error(message), ephemeral=True, allowed_mentions=NONE
                )
            else:
                await interaction.response.send_message(
                    embed=embeds.error(message), ephemeral=True, allowed_mentions=NONE
                )
        except discord.HTTPException:
            log.warning("could not send an error reply", exc_info=True)

    bot.tree.on_error = on_app_command_error  # type: ignore[method-assign]
