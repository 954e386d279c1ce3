"""eq: the 15-band equalizer (show, preset, set, reset, save, delete); kept per server, applied live."""

from __future__ import annotations

from discord import app_commands
from discord.ext import commands

from zilean.bot import embeds
from zilean.bot.checks import in_guild, requires
from zilean.bot.cogs.base import CogBase, Ctx
from zilean.bot.errors import send
from zilean.core import equalizer as eqm
from zilean.core.equalizer import PRESETS, Equalizer, EqualizerError
from zilean.core.errors import ZileanError
from zilean.core.permissions import Action
from zilean.db.errors import InvalidSettingError


class EqualizerCog(CogBase, name="Equalizer"):
    """Shaping the sound band by band."""

    async def _current(self, ctx: Ctx) -> Equalizer:
        assert ctx.guild is not None
        settings = await self.bot.sessions.guild_settings(ctx.guild.id, fresh=True)
        return Equalizer.from_mapping(settings.eq)

    async def _server_presets(self, guild_id: int) -> dict[str, Equalizer]:
        return {
            p.name: Equalizer.from_mapping(p.gains)
            for p in await self.bot.store.eq_presets.for_guild(guild_id)
        }

    async def _apply(self, ctx: Ctx, eq: Equalizer, text: str, **detail: object) -> None:
        """Store the guild's equalizer (the running track changes at once) and confirm."""
        assert ctx.guild is not None
        await self.session(ctx)  # remembers the channel, like every music command
        before = await self._current(ctx)
        await self.bot.sessions.update_settings(ctx.guild.id, eq=eq.to_mapping())
        await self.audit(ctx, "eq", before=before.to_mapping(), after=eq.to_mapping(), **detail)
        await self.reply(ctx, text)

    @commands.hybrid_group(name="eq", aliases=["equalizer"], fallback="show", invoke_without_command=True)
    @in_guild()
    async def eq(self, ctx: Ctx) -> None:
        """Show the equalizer's 15 bands and the presets."""
        assert ctx.guild is not None
        current = await self._current(ctx)
        server = await self._server_presets(ctx.guild.id)
        matching = [name for name, preset in {**PRESETS, **server}.items() if preset == current]
        title = "Equalizer" + (f" · {matching[0]}" if matching else " · custom")
        lines = [f"```\n{eqm.describe(current)}\n```", "Presets: " + ", ".join(f"`{n}`" for n in PRESETS)]
        if server:
            lines.append("This server's: " + ", ".join(f"`{n}`" for n in server))
        lines.append("Change a band with `eq set HZ DB` (−12 to +12 dB), or pick `eq preset NAME`.")
        await send(ctx, embeds.info("\n".join(lines), title))

    @eq.command(name="preset")
    @app_commands.describe(name="flat, bass, rock, pop, vocal, treble, or one this server saved")
    @requires(Action.CONTROL)
    async def eq_preset(self, ctx: Ctx, name: str) -> None:
        """Switch the equalizer to a preset."""
        assert ctx.guild is not None
        wanted = name.strip().lower()
        preset = PRESETS.get(wanted)
        if preset is None:
            saved = await self.bot.store.eq_presets.get(ctx.guild.id, wanted[: eqm.MAX_PRESET_NAME])
            if saved is None:
                server = await self._server_presets(ctx.guild.id)
                names = ", ".join([*PRESETS, *server])
                raise EqualizerError(f"There is no preset {name[:40]!r}. Presets: {names}.")
            preset = Equalizer.from_mapping(saved.gains)
        await self._apply(ctx, preset, f"🎚️ Equalizer: `{wanted}`.", preset=wanted)

    @eq.command(name="set")
    @app_commands.describe(
        band="The band in Hz: 25, 40, 63, 100 … 16000", gain="-12 to 12 dB (0 is untouched)"
    )
    @requires(Action.CONTROL)
    async def eq_set(self, ctx: Ctx, band: str, gain: str) -> None:
        """Set one band (Hz) to a gain from -12 to +12 dB."""
        hz = eqm.band(band)
        db = eqm.gain_db(gain)
        eq = (await self._current(ctx)).with_band(hz, db)
        await self._apply(ctx, eq, f"🎚️ {hz} Hz set to {db:+.1f} dB.", band=hz, gain=db)

    @eq.command(name="reset")
    @requires(Action.CONTROL)
    async def eq_reset(self, ctx: Ctx) -> None:
        """Set every band back to 0 dB (flat)."""
        await self._apply(ctx, eqm.FLAT, "🎚️ Equalizer reset: flat.")

    @eq.command(name="save")
    @app_commands.describe(name="A name for this server's preset (letters, digits, - and _)")
    @requires(Action.SETTINGS)
    async def eq_save(self, ctx: Ctx, name: str) -> None:
        """Save the current equalizer as one of this server's presets."""
        assert ctx.guild is not None
        cleaned = eqm.preset_name(name)
        if cleaned in PRESETS:
            raise EqualizerError(f"`{cleaned}` is a built-in preset; choose another name.")
        current = await self._current(ctx)
        try:
            await self.bot.store.eq_presets.save(ctx.guild.id, cleaned, current.to_mapping(), ctx.author.id)
        except InvalidSettingError as exc:
            raise ZileanError(exc.message[:1].upper() + exc.message[1:] + ".") from None
        await self.audit(ctx, "eq_save", name=cleaned, gains=current.to_mapping())
        await self.reply(
            ctx, f"💾 Saved this server's preset `{cleaned}`. Use it with `eq preset {cleaned}`."
        )

    @eq.command(name="delete")
    @app_commands.describe(name="One of this server's presets")
    @requires(Action.SETTINGS)
    async def eq_delete(self, ctx: Ctx, name: str) -> None:
        """Delete one of this server's presets."""
        assert ctx.guild is not None
        cleaned = name.strip().lower()
        if not await self.bot.store.eq_presets.delete(ctx.guild.id, cleaned[: eqm.MAX_PRESET_NAME]):
            raise EqualizerError(f"This server has no preset {name[:40]!r}.")
        await self.audit(ctx, "eq_delete", name=cleaned)
        await self.reply(ctx, f"Deleted the preset `{cleaned}`.")

    @eq_set.autocomplete("band")
    async def _bands(self, interaction: object, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=f"{hz} Hz", value=str(hz)) for hz in eqm.BANDS if current in str(hz)]

    @eq_preset.autocomplete("name")
    @eq_delete.autocomplete("name")
    async def _presets(self, interaction: object, current: str) -> list[app_commands.Choice[str]]:
        guild_id = getattr(interaction, "guild_id", None)
        server = [p.name for p in await self.bot.store.eq_presets.for_guild(guild_id)] if guild_id else []
        command = getattr(getattr(interaction, "command", None), "name", "")
        names = server if command == "delete" else [*PRESETS, *server]
        wanted = current.lower()
        return [app_commands.Choice(name=n, value=n) for n in names if wanted in n][:25]
