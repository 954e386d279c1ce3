"""The bot's commands, one cog per area; each cog is a small class given the bot."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zilean.bot.client import ZileanBot


async def load_cogs(bot: ZileanBot) -> None:
    """Add every cog to the bot."""
    from zilean.bot.cogs.admin import Admin
    from zilean.bot.cogs.equalizer import EqualizerCog
    from zilean.bot.cogs.lyrics import LyricsCog
    from zilean.bot.cogs.playback import Playback
    from zilean.bot.cogs.queueing import Queueing

    await bot.add_cog(Playback(bot))
    await bot.add_cog(Queueing(bot))
    await bot.add_cog(Admin(bot))
    await bot.add_cog(EqualizerCog(bot))
    await bot.add_cog(LyricsCog(bot))
