"""REST /api/v10 for the bot: identity, gateway, channels and messages, guild members and roles, reactions."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from zilean.sandbox import payloads
from zilean.sandbox.hub import Hub
from zilean.sandbox.messages import read_body
from zilean.sandbox.responses import (
    UNAUTHORIZED,
    UNKNOWN_GUILD,
    UNKNOWN_MEMBER,
    UNKNOWN_ROLE,
    UNKNOWN_USER,
    DiscordHTTPError,
    json_response,
    no_content,
    read_json,
    unknown,
)
from zilean.sandbox.voicestate import VoiceStates

if TYPE_CHECKING:
    from zilean.sandbox.oauth import OAuth
from zilean.sandbox.world import Guild

API_PREFIXES = ("/api/v10", "/api/v9", "/api")
# Routes that authenticate with something other than the bot token (interaction/webhook tokens, OAuth2).
OPEN_PATHS = re.compile(r"^/api(/v\d+)?/(webhooks/|interactions/|oauth2/token|users/@me|oauth2/@me)")


def auth_middleware(token: str, bearer_ok: Callable[[str], bool]) -> Any:
    """401 with Discord's body unless `Authorization: Bot <token>` (or a valid Bearer on /users/@me)."""

    @web.middleware
    async def check(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/api/") and not OPEN_PATHS.match(request.path):
            if request.headers.get("Authorization") != f"Bot {token}":
                raise UNAUTHORIZED
        elif re.match(r"^/api(/v\d+)?/users/@me", request.path):
            header = request.headers.get("Authorization", "")
            if header != f"Bot {token}" and not (header.startswith("Bearer ") and bearer_ok(header[7:])):
                raise UNAUTHORIZED
        return await handler(request)  # type: ignore[no-any-return]

    return check


class RestApi:
    """The bot-facing REST routes (those not about commands, interactions or OAuth2)."""

    def __init__(self, hub: Hub, voice: VoiceStates, gateway_url: Callable[[], str], oauth: OAuth) -> None:
        self.hub = hub
        self.oauth = oauth
        self.world = hub.world
        self.voice = voice
        self.gateway_url = gateway_url

    def _guild(self, request: web.Request) -> Guild:
        guild = self.world.guilds.get(int(request.match_info["guild_id"]))
        if guild is None:
            raise unknown("Guild", UNKNOWN_GUILD)
        return guild

    async def me(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization", "").startswith("Bearer "):
            return await self.oauth.me(request)
        bot = {
            **payloads.user(self.world.bot),
            "verified": True,
            "mfa_enabled": False,
            "flags": 0,
            "email": None,
        }
        return json_response(bot)

    async def my_guilds(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization", "").startswith("Bearer "):
            return await self.oauth.my_guilds(request)
        bot_id = self.world.bot_user_id
        return json_response([payloads.partial_guild(g, bot_id) for g in self.world.guilds.values()])

    async def user(self, request: web.Request) -> web.Response:
        user = self.world.users.get(int(request.match_info["user_id"]))
        if user is None:
            raise unknown("User", UNKNOWN_USER)
        return json_response(payloads.user(user))

    async def application(self, request: web.Request) -> web.Response:
        owner = self.world.users[self.world.owner_user_id or self.world.bot_user_id]
        return json_response(
            {
                "id": str(self.world.application_id),
                "name": self.world.bot.username,
                "description": "Groovy Zilean in the local sandbox",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": payloads.user(owner),
                "verify_key": "0" * 64,
                "team": None,
                # The privileged intents enabled "in the portal" (what READY's application.flags says).
                "flags": self.hub.gateway.application_flags(),
                "bot": payloads.user(self.world.bot),
                "redirect_uris": list(self.oauth.sb.config.redirect_uris),
            }
        )

    async def gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self.gateway_url()})

    async def gateway_bot(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1}
        return json_response({"url": self.gateway_url(), "shards": 1, "session_start_limit": limit})

    # --- channels and messages ------------------------------------------------------------------------
    async def get_channel(self, request: web.Request) -> web.Response:
        channel = self.world.channel(int(request.match_info["channel_id"]))
        if channel is None:
            raise unknown("Channel", 10003)
        return json_response(payloads.channel(channel))

    async def create_message(self, request: web.Request) -> web.Response:
        channel_id = int(request.match_info["channel_id"])
        self.hub.text_channel(channel_id)
        body = await read_body(request)
        message = self.hub.post(channel_id, self.world.bot_user_id, body)
        return json_response(self.hub.render(message))

    async def get_message(self, request: web.Request) -> web.Response:
        channel_id, message_id = int(request.match_info["channel_id"]), int(request.match_info["message_id"])
        return json_response(self.hub.render(self.hub.message(channel_id, message_id)))

    async def list_messages(self, request: web.Request) -> web.Response:
        """GET messages: newest first like Discord; before/after/around and limit (1-100, default 50)."""
        channel_id = int(request.match_info["channel_id"])
        self.hub.text_channel(channel_id)
        found = [m for m in self.world.channel_messages(channel_id) if not m.ephemeral]
        query = request.query
        limit = max(1, min(100, int(query.get("limit", 50))))
        if "after" in query:
            found = [m for m in found if m.id > int(query["after"])][:limit]
        elif "before" in query:
            found = [m for m in found if m.id < int(query["before"])][-limit:]
        elif "around" in query:
            pivot = int(query["around"])
            older = [m for m in found if m.id <= pivot][-((limit + 1) // 2) :]
            found = older + [m for m in found if m.id > pivot][: limit - len(older)]
        else:
            found = found[-limit:]
        return json_response([self.hub.render(m) for m in reversed(found)])

    async def edit_message(self, request: web.Request) -> web.Response:
        channel_id, message_id = int(request.match_info["channel_id"]), int(request.match_info["message_id"])
        message = self.hub.message(channel_id, message_id)
        if message.author_id != self.world.bot_user_id:
            raise DiscordHTTPError(403, 50005, "Cannot edit a message authored by another user")
        return json_response(self.hub.render(self.hub.edit(message, await read_body(request))))

    async def delete_message(self, request: web.Request) -> web.Response:
        channel_id, message_id = int(request.match_info["channel_id"]), int(request.match_info["message_id"])
        self.hub.delete(self.hub.message(channel_id, message_id))
        return no_content()

    async def typing(self, request: web.Request) -> web.Response:
        self.hub.text_channel(int(request.match_info["channel_id"]))
        return no_content()

    async def react(self, request: web.Request) -> web.Response:
        """PUT/DELETE a reaction by the bot; dispatches MESSAGE_REACTION_ADD/REMOVE."""
        channel_id, message_id = int(request.match_info["channel_id"]), int(request.match_info["message_id"])
        message = self.hub.message(channel_id, message_id)
        emoji = request.match_info["emoji"]
        users = message.reactions.setdefault(emoji, set())
        bot_id = self.world.bot_user_id
        adding = request.method == "PUT"
        (users.add if adding else users.discard)(bot_id)
        data = {
            "user_id": str(bot_id),
            "channel_id": str(channel_id),
            "message_id": str(message_id),
            "emoji": {"id": None, "name": emoji},
            "type": 0,
            "burst": False,
        }
        if message.guild_id:
            data["guild_id"] = str(message.guild_id)
        event = "MESSAGE_REACTION_ADD" if adding else "MESSAGE_REACTION_REMOVE"
        self.hub.gateway.dispatch(event, data, guild_id=message.guild_id, intent=1 << 10)
        return no_content()

    # --- guilds, members, roles -----------------------------------------------------------------------
    async def get_guild(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        data = payloads.guild(self.world, guild)
        for key in ("members", "channels", "voice_states", "threads", "presences"):
            data.pop(key)
        return json_response(data)

    async def guild_channels(self, request: web.Request) -> web.Response:
        return json_response([payloads.channel(c) for c in self._guild(request).channels.values()])

    async def guild_roles(self, request: web.Request) -> web.Response:
        return json_response([payloads.role(r) for r in self._guild(request).roles.values()])

    async def list_members(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        after = int(request.query.get("after", 0))
        limit = max(1, min(1000, int(request.query.get("limit", 1))))
        found = sorted((m for uid, m in guild.members.items() if uid > after), key=lambda m: m.user_id)[
            :limit
        ]
        return json_response([payloads.member(self.world, m) for m in found])

    async def get_member(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        member = guild.members.get(int(request.match_info["user_id"]))
        if member is None:
            raise unknown("Member", UNKNOWN_MEMBER)
        return json_response(payloads.member(self.world, member))

    async def edit_member(self, request: web.Request) -> web.Response:
        """PATCH member: nick, roles, and channel_id (move or disconnect from voice)."""
        guild = self._guild(request)
        user_id = int(request.match_info["user_id"])
        member = guild.members.get(user_id)
        if member is None:
            raise unknown("Member", UNKNOWN_MEMBER)
        body = await read_json(request)
        if "nick" in body:
            member.nick = body["nick"] or None
        if "roles" in body:
            member.roles = [int(r) for r in body["roles"] if int(r) in guild.roles and int(r) != guild.id]
        if "channel_id" in body:
            channel = body["channel_id"]
            self.voice.move(guild.id, user_id, int(channel) if channel else None)
        self.hub.member_updated(guild.id, user_id)
        return json_response(payloads.member(self.world, member))

    async def member_role(self, request: web.Request) -> web.Response:
        """PUT/DELETE a role on a member; dispatches GUILD_MEMBER_UPDATE."""
        guild = self._guild(request)
        user_id, role_id = int(request.match_info["user_id"]), int(request.match_info["role_id"])
        member = guild.members.get(user_id)
        if member is None:
            raise unknown("Member", UNKNOWN_MEMBER)
        if role_id not in guild.roles or role_id == guild.id:
            raise unknown("Role", UNKNOWN_ROLE)
        if request.method == "PUT" and role_id not in member.roles:
            member.roles.append(role_id)
        elif request.method == "DELETE" and role_id in member.roles:
            member.roles.remove(role_id)
        self.hub.member_updated(guild.id, user_id)
        return no_content()

    def add_routes(self, app: web.Application) -> None:
        for p in API_PREFIXES:
            r = app.router
            r.add_get(f"{p}/users/@me", self.me)
            r.add_get(f"{p}/users/@me/guilds", self.my_guilds)
            r.add_get(f"{p}/users/{{user_id:\\d+}}", self.user)
            r.add_get(f"{p}/oauth2/applications/@me", self.application)
            r.add_get(f"{p}/applications/@me", self.application)
            r.add_get(f"{p}/gateway", self.gateway)
            r.add_get(f"{p}/gateway/bot", self.gateway_bot)
            c = f"{p}/channels/{{channel_id:\\d+}}"
            r.add_get(c, self.get_channel)
            r.add_post(f"{c}/messages", self.create_message)
            r.add_get(f"{c}/messages", self.list_messages)
            r.add_get(f"{c}/messages/{{message_id:\\d+}}", self.get_message)
            r.add_patch(f"{c}/messages/{{message_id:\\d+}}", self.edit_message)
            r.add_delete(f"{c}/messages/{{message_id:\\d+}}", self.delete_message)
            r.add_post(f"{c}/typing", self.typing)
            reaction = f"{c}/messages/{{message_id:\\d+}}/reactions/{{emoji}}/@me"
            r.add_put(reaction, self.react)
            r.add_delete(reaction, self.react)
            g = f"{p}/guilds/{{guild_id:\\d+}}"
            r.add_get(g, self.get_guild)
            r.add_get(f"{g}/channels", self.guild_channels)
            r.add_get(f"{g}/roles", self.guild_roles)
            r.add_get(f"{g}/members", self.list_members)
            r.add_get(f"{g}/members/{{user_id:\\d+}}", self.get_member)
            r.add_patch(f"{g}/members/{{user_id:\\d+}}", self.edit_member)
            r.add_put(f"{g}/members/{{user_id:\\d+}}/roles/{{role_id:\\d+}}", self.member_role)
            r.add_delete(f"{g}/members/{{user_id:\\d+}}/roles/{{role_id:\\d+}}", self.member_role)
