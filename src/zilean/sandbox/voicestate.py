"""Voice states on the main gateway: the bot's op 4 (VOICE_STATE_UPDATE + VOICE_SERVER_UPDATE), users'."""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING, Any

from zilean.sandbox import payloads
from zilean.sandbox.gateway import GUILD_VOICE_STATES, Gateway, GatewaySession
from zilean.sandbox.responses import DiscordHTTPError
from zilean.sandbox.world import VOICE, VoiceState, World

if TYPE_CHECKING:
    from zilean.sandbox.voice import VoiceServer

log = logging.getLogger(__name__)


class VoiceStates:
    """Moves users and the bot between voice channels and tells the gateway (and the voice server)."""

    def __init__(self, world: World, gateway: Gateway, voice: VoiceServer | None) -> None:
        self.world = world
        self.gateway = gateway
        self.voice = voice
        self.speaking: dict[int, bool] = {}
        gateway.on_voice_state = self.on_bot_op4

    def channel_of(self, guild_id: int, user_id: int) -> int | None:
        vs = self.world.guilds[guild_id].voice_states.get(user_id)
        return vs.channel_id if vs else None

    def move(
        self,
        guild_id: int,
        user_id: int,
        channel_id: int | None,
        session_id: str | None = None,
        **flags: bool,
    ) -> dict[str, Any]:
        """Set a member's voice channel (None leaves) and dispatch VOICE_STATE_UPDATE; returns the payload."""
        guild = self.world.guilds.get(guild_id)
        if guild is None or user_id not in guild.members:
            raise DiscordHTTPError(404, 10007, "Unknown Member")
        if channel_id is None:
            guild.voice_states.pop(user_id, None)
            state = None
        else:
            channel = guild.channels.get(channel_id)
            if channel is None or channel.type != VOICE:
                raise DiscordHTTPError(400, 50024, "Cannot execute action on this channel type")
            current = guild.voice_states.get(user_id)
            state = VoiceState(
                user_id,
                channel_id,
                session_id or (current.session_id if current else secrets.token_hex(16)),
                flags.get("self_mute", False),
                flags.get("self_deaf", False),
            )
            guild.voice_states[user_id] = state
        payload = payloads.voice_state(self.world, guild, state, user_id)
        self.gateway.dispatch("VOICE_STATE_UPDATE", payload, guild_id=guild_id, intent=GUILD_VOICE_STATES)
        return payload

    async def on_bot_op4(self, session: GatewaySession, data: dict[str, Any]) -> None:
        """The bot's op 4: update its state; when joining, hand out a voice server (token + endpoint)."""
        guild_id = int(data["guild_id"])
        raw_channel = data.get("channel_id")
        channel_id = int(raw_channel) if raw_channel else None
        bot_id = self.world.bot_user_id
        if guild_id not in self.world.guilds:
            return
        if channel_id is None:
            self.move(guild_id, bot_id, None)
            self.speaking.pop(guild_id, None)
            if self.voice is not None:
                self.voice.end_session(guild_id)
            return
        rejoin = self.channel_of(guild_id, bot_id) == channel_id
        token = secrets.token_hex(8)
        endpoint = None
        if self.voice is not None:
            self.voice.expect_session(
                guild_id=guild_id, user_id=bot_id, session_id=session.session_id, token=token
            )
            endpoint = self.voice.endpoint
        else:
            log.warning("no voice server in this sandbox; VOICE_SERVER_UPDATE carries a null endpoint")
        # Only the session that asked receives its voice server, as on Discord.
        server_update = {"token": token, "guild_id": str(guild_id), "endpoint": endpoint}
        if rejoin:
            # Re-joining the same channel (discord.py does this to resume after voice close 4015): a
            # connected VoiceClient only leaves its "connected" state on a server update, and then
            # needs the state update to finish the handshake, so the server update goes first.
            session.push("VOICE_SERVER_UPDATE", server_update)
        flags = {"self_mute": bool(data.get("self_mute")), "self_deaf": bool(data.get("self_deaf"))}
        self.move(guild_id, bot_id, channel_id, session.session_id, **flags)
        if not rejoin:
            session.push("VOICE_SERVER_UPDATE", server_update)

    def status(self, guild_id: int) -> dict[str, Any]:
        """The bot's voice status in a guild plus the voice server's analysis."""
        channel_id = self.channel_of(guild_id, self.world.bot_user_id)
        stats: dict[str, Any] = {}
        if self.voice is not None:
            stats = dict(self.voice.stats(guild_id))
        stats.setdefault("connected", False)
        stats["channel_id"] = str(channel_id) if channel_id else None
        stats.setdefault("speaking", False)
        stats["voice_server"] = self.voice is not None
        return stats
