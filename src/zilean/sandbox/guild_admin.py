"""Control API for what a server admin does in Discord: add the bot to a new guild, kick it, rename the
guild, create/edit/delete roles and channels — each with the gateway event Discord sends for it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from zilean.sandbox import payloads
from zilean.sandbox.control import _int, _json, bad_request
from zilean.sandbox.gateway import GUILDS
from zilean.sandbox.responses import DiscordHTTPError, json_response
from zilean.sandbox.world import EVERYONE_PERMISSIONS, TEXT, VOICE, Guild

if TYPE_CHECKING:
    from zilean.sandbox.server import Sandbox

# GUILD_UPDATE carries the guild's own fields and roles, not its members, channels or voice states.
NOT_IN_GUILD_UPDATE = ("members", "channels", "voice_states", "member_count", "threads", "presences")


class GuildAdmin:
    """Routes under /_sandbox/guilds."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox
        self.world = sandbox.world

    def _guild(self, request: web.Request) -> Guild:
        guild = self.world.guilds.get(int(request.match_info["guild_id"]))
        if guild is None:
            raise DiscordHTTPError(404, 10004, "Unknown Guild")
        return guild

    def _dispatch(self, event: str, data: Any, guild_id: int) -> None:
        self.sb.gateway.dispatch(event, data, guild_id=guild_id, intent=GUILDS)

    async def create(self, request: web.Request) -> web.Response:
        """POST /_sandbox/guilds {name, owner_id}: a new guild with the bot in it → GUILD_CREATE."""
        body = await _json(request)
        owner_id = _int(body, "owner_id")
        if owner_id not in self.world.users or owner_id == self.world.bot_user_id:
            raise bad_request("owner_id must be a (human) sandbox user")
        guild = self.world.add_guild(str(body.get("name") or "New Guild")[:100], owner_id)
        self.world.add_channel(guild, "general", TEXT)
        self.world.add_channel(guild, "Voice", VOICE)
        bot_role = self.world.add_role(guild, self.world.bot.username, EVERYONE_PERMISSIONS, managed=True)
        self.world.add_member(guild, self.world.users[owner_id])
        self.world.add_member(guild, self.world.bot, [bot_role.id])
        for session in self.sb.gateway.sessions.values():
            if not session.invalidated and session.covers(guild.id) and session.intents & GUILDS:
                self.sb.gateway.send_guild_create(session, guild, joined=True)
        return json_response({"guild_id": str(guild.id)})

    async def remove_bot(self, request: web.Request) -> web.Response:
        """POST /_sandbox/guilds/{id}/remove-bot: the bot is kicked → GUILD_DELETE (not unavailable)."""
        guild = self._guild(request)
        del self.world.guilds[guild.id]
        self._dispatch("GUILD_DELETE", {"id": str(guild.id)}, guild.id)
        return json_response({"guild_id": str(guild.id), "removed": True})

    async def update(self, request: web.Request) -> web.Response:
        """PATCH /_sandbox/guilds/{id} {name?, owner_id?} → GUILD_UPDATE."""
        guild = self._guild(request)
        body = await _json(request)
        if body.get("name"):
            guild.name = str(body["name"])[:100]
        if body.get("owner_id"):
            owner_id = _int(body, "owner_id")
            if owner_id not in guild.members:
                raise bad_request("the new owner must be a member")
            guild.owner_id = owner_id
        data = {k: v for k, v in payloads.guild(self.world, guild).items() if k not in NOT_IN_GUILD_UPDATE}
        self._dispatch("GUILD_UPDATE", data, guild.id)
        return json_response(data)

    async def create_role(self, request: web.Request) -> web.Response:
        """POST /_sandbox/guilds/{id}/roles {name, permissions?, color?} → GUILD_ROLE_CREATE."""
        guild = self._guild(request)
        body = await _json(request)
        role = self.world.add_role(
            guild, str(body.get("name") or "new role")[:100], int(body.get("permissions", 0))
        )
        role.color = int(body.get("color", 0))
        self._dispatch(
            "GUILD_ROLE_CREATE", {"guild_id": str(guild.id), "role": payloads.role(role)}, guild.id
        )
        return json_response(payloads.role(role))

    async def edit_role(self, request: web.Request) -> web.Response:
        """PATCH /_sandbox/guilds/{id}/roles/{role_id} {name?, permissions?, color?} → GUILD_ROLE_UPDATE."""
        guild = self._guild(request)
        role = guild.roles.get(int(request.match_info["role_id"]))
        if role is None:
            raise DiscordHTTPError(404, 10011, "Unknown Role")
        body = await _json(request)
        if "name" in body:
            role.name = str(body["name"])[:100]
        if "permissions" in body:
            role.permissions = int(body["permissions"])
        if "color" in body:
            role.color = int(body["color"])
        self._dispatch(
            "GUILD_ROLE_UPDATE", {"guild_id": str(guild.id), "role": payloads.role(role)}, guild.id
        )
        return json_response(payloads.role(role))

    async def delete_role(self, request: web.Request) -> web.Response:
        """DELETE /_sandbox/guilds/{id}/roles/{role_id} → GUILD_ROLE_DELETE (members lose it)."""
        guild = self._guild(request)
        role_id = int(request.match_info["role_id"])
        if role_id not in guild.roles or role_id == guild.id:
            raise DiscordHTTPError(404, 10011, "Unknown Role")
        del guild.roles[role_id]
        for member in guild.members.values():
            member.roles = [r for r in member.roles if r != role_id]
        self._dispatch("GUILD_ROLE_DELETE", {"guild_id": str(guild.id), "role_id": str(role_id)}, guild.id)
        return json_response({"role_id": str(role_id), "deleted": True})

    async def create_channel(self, request: web.Request) -> web.Response:
        """POST /_sandbox/guilds/{id}/channels {name, type: "text"|"voice"} → CHANNEL_CREATE."""
        guild = self._guild(request)
        body = await _json(request)
        kind = VOICE if body.get("type") == "voice" else TEXT
        channel = self.world.add_channel(guild, str(body.get("name") or "new-channel")[:100], kind)
        self._dispatch("CHANNEL_CREATE", payloads.channel(channel), guild.id)
        return json_response(payloads.channel(channel))

    async def delete_channel(self, request: web.Request) -> web.Response:
        """DELETE /_sandbox/guilds/{id}/channels/{channel_id} → CHANNEL_DELETE (members in it leave voice)."""
        guild = self._guild(request)
        channel = guild.channels.get(int(request.match_info["channel_id"]))
        if channel is None:
            raise DiscordHTTPError(404, 10003, "Unknown Channel")
        for user_id, state in list(guild.voice_states.items()):
            if state.channel_id == channel.id:
                self.sb.voice_states.move(guild.id, user_id, None)
        del guild.channels[channel.id]
        self._dispatch("CHANNEL_DELETE", payloads.channel(channel), guild.id)
        return json_response({"channel_id": str(channel.id), "deleted": True})

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        g = "/_sandbox/guilds/{guild_id:\\d+}"
        r.add_post("/_sandbox/guilds", self.create)
        r.add_patch(g, self.update)
        r.add_post(f"{g}/remove-bot", self.remove_bot)
        r.add_post(f"{g}/roles", self.create_role)
        r.add_patch(f"{g}/roles/{{role_id:\\d+}}", self.edit_role)
        r.add_delete(f"{g}/roles/{{role_id:\\d+}}", self.delete_role)
        r.add_post(f"{g}/channels", self.create_channel)
        r.add_delete(f"{g}/channels/{{channel_id:\\d+}}", self.delete_channel)
