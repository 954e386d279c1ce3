"""The control API (/_sandbox/...): act as users, read what the bot did, inject faults. JSON in and out."""

from __future__ import annotations

import base64
import binascii
import logging
import mimetypes
from typing import TYPE_CHECKING, Any

from aiohttp import web

from zilean.sandbox import payloads
from zilean.sandbox.messages import MessageBody, Upload
from zilean.sandbox.options import OptionError, command_data, find_component, modal_submit_data
from zilean.sandbox.responses import DiscordHTTPError, json_response

if TYPE_CHECKING:
    from zilean.sandbox.server import Sandbox

log = logging.getLogger(__name__)


def bad_request(message: str) -> DiscordHTTPError:
    return DiscordHTTPError(400, 0, message)


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise bad_request("the body must be JSON") from None
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object")
    return body


def _int(body: dict[str, Any], key: str) -> int:
    try:
        return int(body[key])
    except (KeyError, TypeError, ValueError):
        raise bad_request(f"{key} is required (a snowflake)") from None


class ControlApi:
    """Routes under /_sandbox; every id is a string in responses, like Discord's."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox
        self.world = sandbox.world

    def _member_in(self, channel_id: int, user_id: int) -> int | None:
        channel = self.world.channel(channel_id)
        if channel is None:
            raise DiscordHTTPError(404, 10003, "Unknown Channel")
        if user_id not in self.world.guilds[channel.guild_id].members:
            raise DiscordHTTPError(404, 10007, "Unknown Member")
        return channel.guild_id

    async def state(self, request: web.Request) -> web.Response:
        world = self.world
        guilds = []
        for guild in world.guilds.values():
            guilds.append(
                {
                    **{
                        k: v
                        for k, v in payloads.guild(world, guild).items()
                        if k
                        in ("id", "name", "owner_id", "roles", "channels", "voice_states", "member_count")
                    },
                    "members": [payloads.member(world, m) for m in guild.members.values()],
                    "bot_voice": self.sb.voice_states.status(guild.id),
                }
            )
        return json_response(
            {
                "application_id": str(world.application_id),
                "bot": payloads.user(world.bot),
                "users": [payloads.user(u) for u in world.users.values()],
                "guilds": guilds,
                "dashboard_url": self.sb.config.dashboard_url,
                "gateway": {
                    "url": self.sb.gateway_url,
                    "connected": self.sb.gateway.connected,
                    "identifies": self.sb.gateway.identify_count,
                    "resumes": self.sb.gateway.resume_count,
                    "sessions": self.sb.gateway.status(),
                },
                "commands": {
                    str(k) if k else "global": list(v.values()) for k, v in self.sb.commands.by_scope.items()
                },
            }
        )

    async def post_message(self, request: web.Request) -> web.Response:
        body = await _json(request)
        channel_id, user_id = _int(body, "channel_id"), _int(body, "user_id")
        self._member_in(channel_id, user_id)
        uploads = []
        for i, item in enumerate(body.get("attachments") or []):
            try:
                data = base64.b64decode(item["content_base64"], validate=True)
            except (KeyError, TypeError, binascii.Error):
                raise bad_request("attachments need filename and content_base64") from None
            kind = (
                item.get("content_type")
                or mimetypes.guess_type(item["filename"])[0]
                or "application/octet-stream"
            )
            uploads.append(Upload(i, item["filename"], data, kind))
        payload = {"content": body.get("content", "")}
        if body.get("reply_to"):
            payload["message_reference"] = {"message_id": str(body["reply_to"])}
        message = self.sb.hub.post(channel_id, user_id, MessageBody(payload, uploads))
        return json_response({"message_id": str(message.id), "message": self.sb.hub.render(message)})

    async def post_interaction(self, request: web.Request) -> web.Response:
        body = await _json(request)
        channel_id, user_id = _int(body, "channel_id"), _int(body, "user_id")
        guild_id = self._member_in(channel_id, user_id)
        words = str(body.get("command", "")).strip().lstrip("/").split()
        if not words:
            raise bad_request('command is required, e.g. "play" or "queue show"')
        command = self.sb.commands.find(words[0], guild_id)
        if command is None:
            raise DiscordHTTPError(404, 10063, f"Unknown application command /{words[0]} (did the bot sync?)")
        options = body.get("options") or {}
        if isinstance(options, list):
            options = {o["name"]: o["value"] for o in options}
        focused = str(body["focused"]) if body.get("focused") else None
        guild = self.world.guilds.get(guild_id or 0)
        try:
            data = command_data(self.world, guild, command, words[1:], options, self.sb.base_url, focused)
        except OptionError as exc:
            raise bad_request(str(exc)) from None
        # Type 4 is APPLICATION_COMMAND_AUTOCOMPLETE: the bot answers with callback type 8 and choices.
        interaction = self.sb.interactions.create(4 if focused else 2, channel_id, user_id, data)
        return json_response({"interaction_id": str(interaction.id)})

    async def post_modal(self, request: web.Request) -> web.Response:
        """POST /_sandbox/modals {interaction_id, values: {custom_id: value}}: submit the bot's modal."""
        body = await _json(request)
        shown = self.sb.interactions.by_id.get(_int(body, "interaction_id"))
        modal = next((r["data"] for r in shown.responses if r.get("type") == 9), None) if shown else None
        if shown is None or modal is None:
            raise bad_request("that interaction was not answered with a modal")
        try:
            data = modal_submit_data(modal, body.get("values") or {})
        except OptionError as exc:
            raise bad_request(str(exc)) from None
        user_id = int(body.get("user_id") or shown.user_id)
        source = self.world.messages.get(shown.source_message_id or 0)
        interaction = self.sb.interactions.create(5, shown.channel_id, user_id, data, source=source)
        return json_response({"interaction_id": str(interaction.id)})

    async def get_interaction(self, request: web.Request) -> web.Response:
        interaction = self.sb.interactions.by_id.get(int(request.match_info["interaction_id"]))
        if interaction is None:
            raise DiscordHTTPError(404, 10062, "Unknown interaction")
        return json_response(interaction.summary())

    async def post_component(self, request: web.Request) -> web.Response:
        body = await _json(request)
        message_id, user_id = _int(body, "message_id"), _int(body, "user_id")
        message = self.world.messages.get(message_id)
        if message is None:
            raise DiscordHTTPError(404, 10008, "Unknown Message")
        self._member_in(message.channel_id, user_id)
        custom_id = str(body.get("custom_id", ""))
        component = find_component(message.components, custom_id)
        if component is None:
            raise bad_request(f"message {message_id} has no component with custom_id {custom_id!r}")
        if component.get("disabled"):
            raise bad_request(f"component {custom_id!r} is disabled")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": int(component["type"])}
        if component["type"] != 2:
            data["values"] = [str(v) for v in body.get("values") or []]
        interaction = self.sb.interactions.create(3, message.channel_id, user_id, data, source=message)
        return json_response({"interaction_id": str(interaction.id)})

    async def channel_messages(self, request: web.Request) -> web.Response:
        channel_id = int(request.match_info["channel_id"])
        if self.world.channel(channel_id) is None:
            raise DiscordHTTPError(404, 10003, "Unknown Channel")
        after = int(request.query.get("after", 0))
        found = [m for m in self.world.channel_messages(channel_id) if m.id > after]
        out = []
        for message in found:
            data = self.sb.hub.render(message)
            data["ephemeral"] = message.ephemeral
            data["allowed_mentions"] = message.allowed_mentions
            if message.interaction_id:
                data["interaction_id"] = str(message.interaction_id)
                invoker = self.sb.interactions.by_id.get(message.interaction_id)
                data["interaction_user_id"] = str(invoker.user_id) if invoker else None
            out.append(data)
        return json_response(out)

    async def set_voice(self, request: web.Request) -> web.Response:
        body = await _json(request)
        user_id = _int(body, "user_id")
        raw = body.get("channel_id")
        if raw:
            channel = self.world.channel(int(raw))
            if channel is None:
                raise DiscordHTTPError(404, 10003, "Unknown Channel")
            guild_id = channel.guild_id
        else:
            guild_id = (
                int(body["guild_id"])
                if body.get("guild_id")
                else next(
                    (g.id for g in self.world.guilds.values() if user_id in g.voice_states),
                    self.world.first_guild.id,
                )
            )
        payload = self.sb.voice_states.move(guild_id, user_id, int(raw) if raw else None)
        return json_response(payload)

    async def set_roles(self, request: web.Request) -> web.Response:
        """POST /_sandbox/roles {guild_id, user_id, role_id, action: add|remove} → GUILD_MEMBER_UPDATE."""
        body = await _json(request)
        guild = self.world.guilds.get(_int(body, "guild_id"))
        user_id, role_id = _int(body, "user_id"), _int(body, "role_id")
        if guild is None or user_id not in guild.members or role_id not in guild.roles:
            raise bad_request("unknown guild, member or role")
        member = guild.members[user_id]
        if body.get("action", "add") == "add":
            member.roles = [*dict.fromkeys([*member.roles, role_id])]
        else:
            member.roles = [r for r in member.roles if r != role_id]
        self.sb.hub.member_updated(guild.id, user_id)
        return json_response(payloads.member(self.world, member))

    async def set_membership(self, request: web.Request) -> web.Response:
        """POST /_sandbox/members {guild_id, user_id | username, action: join|leave}.

        Dispatches GUILD_MEMBER_ADD or GUILD_MEMBER_REMOVE (a member in voice is disconnected first).
        Joining by a new `username` creates that user (with `global_name`, optional) first.
        """
        body = await _json(request)
        guild = self.world.guilds.get(_int(body, "guild_id"))
        if guild is None:
            raise DiscordHTTPError(404, 10004, "Unknown Guild")
        action = body.get("action", "join")
        if action not in ("join", "leave"):
            raise bad_request('action must be "join" or "leave"')
        if body.get("user_id"):
            user_id = _int(body, "user_id")
            if user_id not in self.world.users:
                raise DiscordHTTPError(404, 10013, "Unknown User")
        elif body.get("username") and action == "join":
            name = str(body["username"])
            try:
                user_id = self.world.user_named(name).id
            except KeyError:
                user_id = self.world.add_user(name, global_name=body.get("global_name")).id
        else:
            raise bad_request("user_id is required (or username, to join)")
        if user_id == self.world.bot_user_id:
            raise bad_request("the bot cannot join or leave through /_sandbox/members")
        if action == "leave":
            if user_id not in guild.members:
                raise DiscordHTTPError(404, 10007, "Unknown Member")
            self.sb.hub.member_left(guild.id, user_id)
            return json_response({"guild_id": str(guild.id), "user_id": str(user_id), "member": None})
        if user_id in guild.members:
            raise bad_request("that user is already a member")
        member = self.sb.hub.member_joined(guild.id, user_id)
        return json_response(
            {
                "guild_id": str(guild.id),
                "user_id": str(user_id),
                "member": payloads.member(self.world, member),
            }
        )

    async def voice_status(self, request: web.Request) -> web.Response:
        guild_id = int(request.match_info["guild_id"])
        if guild_id not in self.world.guilds:
            raise DiscordHTTPError(404, 10004, "Unknown Guild")
        return json_response(self.sb.voice_states.status(guild_id))

    async def voice_wav(self, request: web.Request) -> web.Response:
        guild_id = int(request.match_info["guild_id"])
        if self.sb.voice is None:
            raise bad_request("this sandbox runs without a voice server")
        seconds = min(60.0, max(0.1, float(request.query.get("seconds", 10))))
        return web.Response(body=self.sb.voice.wav(guild_id, seconds), content_type="audio/wav")

    async def faults(self, request: web.Request) -> web.Response:
        body = await _json(request)
        kind = body.get("kind")
        seconds = float(body.get("seconds", 5))
        if kind == "drop_gateway":
            await self.sb.gateway.drop()
        elif kind == "reconnect":
            await self.sb.gateway.send_reconnect()
        elif kind == "invalid_session":
            await self.sb.gateway.invalidate(bool(body.get("resumable", False)))
        elif kind in ("drop_voice", "stop_udp"):
            if self.sb.voice is None:
                raise bad_request("this sandbox runs without a voice server")
            if kind == "drop_voice":
                await self.sb.voice.drop_websocket(int(body["guild_id"]) if body.get("guild_id") else None)
            else:
                self.sb.voice.pause_udp(seconds)
        else:
            raise bad_request("kind must be drop_gateway, reconnect, invalid_session, drop_voice or stop_udp")
        return json_response({"ok": True, "kind": kind})

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_get("/_sandbox/state", self.state)
        r.add_post("/_sandbox/messages", self.post_message)
        r.add_post("/_sandbox/interactions", self.post_interaction)
        r.add_get("/_sandbox/interactions/{interaction_id:\\d+}", self.get_interaction)
        r.add_post("/_sandbox/modals", self.post_modal)
        r.add_post("/_sandbox/components", self.post_component)
        r.add_get("/_sandbox/channels/{channel_id:\\d+}/messages", self.channel_messages)
        r.add_post("/_sandbox/voice", self.set_voice)
        r.add_post("/_sandbox/roles", self.set_roles)
        r.add_post("/_sandbox/members", self.set_membership)
        r.add_get("/_sandbox/voice/{guild_id:\\d+}", self.voice_status)
        r.add_get("/_sandbox/voice/{guild_id:\\d+}/audio.wav", self.voice_wav)
        r.add_post("/_sandbox/faults", self.faults)
