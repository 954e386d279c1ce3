"""Interactions: creation (slash commands, components), the 3 s initial callback, followups and @original."""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from zilean.sandbox import payloads
from zilean.sandbox.hub import Hub
from zilean.sandbox.messages import MessageBody, read_body
from zilean.sandbox.responses import (
    ALREADY_ACKNOWLEDGED,
    UNKNOWN_INTERACTION,
    UNKNOWN_MESSAGE,
    UNKNOWN_WEBHOOK,
    DiscordHTTPError,
    json_response,
    no_content,
    unknown,
)
from zilean.sandbox.world import Message, iso_now

log = logging.getLogger(__name__)

INITIAL_DEADLINE_S = 3.0
TOKEN_LIFETIME_S = 15 * 60
EPHEMERAL, LOADING = 64, 128
ATTACHMENT_SIZE_LIMIT = 25 * 1024 * 1024
MESSAGE_CALLBACKS = {4, 5, 6, 7}
COMPONENT_ONLY = {6, 7}


@dataclass
class Interaction:
    """One interaction and everything the bot answered to it, in order."""

    id: int
    token: str
    type: int
    guild_id: int | None
    channel_id: int
    user_id: int
    payload: dict[str, Any]
    source_message_id: int | None = None
    created: float = field(default_factory=time.monotonic)
    created_at: str = field(default_factory=iso_now)
    response_type: int | None = None
    original_id: int | None = None
    responses: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)

    @property
    def acknowledged(self) -> bool:
        return self.response_type is not None

    def record(self, kind: str, message: Message | None = None, **extra: Any) -> None:
        entry: dict[str, Any] = {"kind": kind, "at": iso_now(), **extra}
        if message is not None:
            entry.update(
                message_id=str(message.id),
                content=message.content,
                embeds=message.embeds,
                components=message.components,
                attachments=[a.filename for a in message.attachments],
                ephemeral=message.ephemeral,
                loading=bool(message.flags & LOADING),
                allowed_mentions=message.allowed_mentions,
            )
        self.responses.append(entry)

    def summary(self) -> dict[str, Any]:
        """What GET /_sandbox/interactions/{id} returns."""
        data = self.payload.get("data", {})
        return {
            "id": str(self.id),
            "type": self.type,
            "command": data.get("name"),
            "custom_id": data.get("custom_id"),
            "user_id": str(self.user_id),
            "channel_id": str(self.channel_id),
            "created_at": self.created_at,
            "acknowledged": self.acknowledged,
            "response_type": self.response_type,
            "original_message_id": str(self.original_id) if self.original_id else None,
            "responses": self.responses,
            "rejected": self.rejected,
        }


class Interactions:
    """Creates interactions, dispatches INTERACTION_CREATE and serves the callback and webhook routes."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.world = hub.world
        self.by_id: dict[int, Interaction] = {}
        self.by_token: dict[str, Interaction] = {}

    def create(
        self, kind: int, channel_id: int, user_id: int, data: dict[str, Any], source: Message | None = None
    ) -> Interaction:
        """Build and dispatch an INTERACTION_CREATE from `user_id` in `channel_id`."""
        guild_id = self.hub.text_channel(channel_id)
        world = self.world
        interaction_id, token = world.ids.next(), f"aW50ZXJhY3Rpb24{secrets.token_urlsafe(48)}"
        channel = world.channel(channel_id)
        assert channel is not None
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(world.application_id),
            "type": kind,
            "data": data,
            "channel_id": str(channel_id),
            "channel": payloads.channel(channel),
            "token": token,
            "version": 1,
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild_id)} if guild_id else {},
            "context": 0,
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        if guild_id is not None:
            guild = world.guilds[guild_id]
            member = payloads.member(world, guild.members[user_id])
            member["permissions"] = str(guild.permissions_of(user_id))
            payload.update(
                guild_id=str(guild_id),
                member=member,
                app_permissions=str(guild.permissions_of(world.bot_user_id)),
            )
        else:
            payload["user"] = payloads.user(world.users[user_id])
        if source is not None:
            payload["message"] = self.hub.render(source)
        interaction = Interaction(
            interaction_id, token, kind, guild_id, channel_id, user_id, payload, source.id if source else None
        )
        self.by_id[interaction_id] = interaction
        self.by_token[token] = interaction
        self.hub.gateway.dispatch("INTERACTION_CREATE", payload, guild_id=guild_id)
        return interaction

    # --- initial callback -----------------------------------------------------------------------------
    async def callback(self, request: web.Request) -> web.Response:
        """POST /interactions/{id}/{token}/callback: answer once, within 3 s."""
        interaction = self.by_id.get(int(request.match_info["interaction_id"]))
        if interaction is None or interaction.token != request.match_info["token"]:
            raise unknown("interaction", UNKNOWN_INTERACTION)
        raw = await read_body(request)  # JSON, or multipart when the response carries files
        body = raw.payload
        kind = int(body.get("type", 0))
        late = time.monotonic() - interaction.created > INITIAL_DEADLINE_S
        if late or interaction.acknowledged:
            error = (
                (404, UNKNOWN_INTERACTION, "Unknown interaction")
                if late
                else (400, ALREADY_ACKNOWLEDGED, "Interaction has already been acknowledged.")
            )
            interaction.rejected.append({"at": iso_now(), "type": kind, "status": error[0], "code": error[1]})
            raise DiscordHTTPError(*error)
        if kind in COMPONENT_ONLY and interaction.source_message_id is None:
            raise DiscordHTTPError(
                400,
                50035,
                "Invalid Form Body",
                {
                    "type": {
                        "_errors": [
                            {
                                "code": "INTERACTION_RESPONSE_TYPE_INVALID",
                                "message": "Invalid interaction response type",
                            }
                        ]
                    }
                },
            )
        message = self._initial(interaction, kind, MessageBody(body.get("data") or {}, raw.uploads))
        interaction.response_type = kind
        if request.query.get("with_response") not in ("1", "true", "True"):
            return no_content()
        result: dict[str, Any] = {
            "interaction": {
                "id": str(interaction.id),
                "type": interaction.type,
                "response_message_id": str(message.id) if message else None,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(message and message.ephemeral),
            },
        }
        if message is not None:
            result["resource"] = {"type": kind, "message": self.hub.render(message)}
        else:
            result["resource"] = {"type": kind}
        return json_response(result)

    def _initial(self, interaction: Interaction, kind: int, body: MessageBody) -> Message | None:
        app = self.world.application_id
        data = body.payload
        if kind == 4:
            message = self.hub.post(
                interaction.channel_id,
                self.world.bot_user_id,
                body,
                type=20,
                webhook_id=app,
                interaction_id=interaction.id,
            )
            interaction.original_id = message.id
            interaction.record("callback", message, type=4)
            return message
        if kind == 5:
            flags = LOADING | (int(data.get("flags") or 0) & EPHEMERAL)
            message = Message(
                self.world.ids.next(),
                interaction.channel_id,
                interaction.guild_id,
                self.world.bot_user_id,
                type=20,
                flags=flags,
                webhook_id=app,
                interaction_id=interaction.id,
            )
            self.world.messages[message.id] = message
            self.hub.gateway.dispatch_message("MESSAGE_CREATE", message)
            interaction.original_id = message.id
            interaction.record("callback", message, type=5)
            return message
        if kind in COMPONENT_ONLY:
            source = self.world.messages.get(interaction.source_message_id or 0)
            if source is None:
                raise unknown("Message", UNKNOWN_MESSAGE)
            interaction.original_id = source.id
            if kind == 7:
                self.hub.edit(source, body)
            interaction.record("callback", source, type=kind)
            return source
        interaction.record("callback", None, type=kind, data=data)  # 1 pong, 8 autocomplete, 9 modal
        return None

    # --- webhooks: followups and @original ------------------------------------------------------------
    def _by_token(self, request: web.Request) -> Interaction:
        interaction = self.by_token.get(request.match_info["token"])
        if interaction is None or int(request.match_info["app_id"]) != self.world.application_id:
            raise unknown("Webhook", UNKNOWN_WEBHOOK)
        if time.monotonic() - interaction.created > TOKEN_LIFETIME_S:
            raise DiscordHTTPError(401, 50027, "Invalid Webhook Token")
        if not interaction.acknowledged:
            raise unknown("Webhook", UNKNOWN_WEBHOOK)
        return interaction

    def _target(self, interaction: Interaction, raw: str) -> Message:
        if raw == "@original":
            message_id = interaction.original_id
        else:
            message_id = int(raw)
            owned = message_id == interaction.original_id or any(
                r.get("message_id") == raw for r in interaction.responses if r["kind"] == "followup"
            )
            message_id = message_id if owned else None
        message = self.world.messages.get(message_id or 0)
        if message is None:
            raise unknown("Message", UNKNOWN_MESSAGE)
        return message

    async def followup(self, request: web.Request) -> web.Response:
        """POST /webhooks/{app}/{token}: a followup; the first one after a defer fills the loading message."""
        interaction = self._by_token(request)
        body = await read_body(request)
        original = self.world.messages.get(interaction.original_id or 0)
        if interaction.response_type == 5 and original is not None and original.flags & LOADING:
            original.flags &= ~LOADING
            self.hub.edit(original, body)
            original.edited_timestamp = None
            interaction.record("followup", original, filled_deferred=True)
            return self._maybe_message(request, original)
        message = self.hub.post(
            interaction.channel_id,
            self.world.bot_user_id,
            body,
            webhook_id=self.world.application_id,
            interaction_id=interaction.id,
        )
        interaction.record("followup", message)
        return self._maybe_message(request, message)

    def _maybe_message(self, request: web.Request, message: Message) -> web.Response:
        if request.query.get("wait") in ("1", "true", "True"):
            return json_response(self.hub.render(message))
        return no_content()

    async def get_message(self, request: web.Request) -> web.Response:
        interaction = self._by_token(request)
        return json_response(self.hub.render(self._target(interaction, request.match_info["message_id"])))

    async def edit_message(self, request: web.Request) -> web.Response:
        interaction = self._by_token(request)
        message = self._target(interaction, request.match_info["message_id"])
        message.flags &= ~LOADING
        self.hub.edit(message, await read_body(request))
        which = "@original" if message.id == interaction.original_id else str(message.id)
        interaction.record("edit", message, target=which)
        return json_response(self.hub.render(message))

    async def delete_message(self, request: web.Request) -> web.Response:
        interaction = self._by_token(request)
        message = self._target(interaction, request.match_info["message_id"])
        self.hub.delete(message)
        interaction.record("delete", None, message_id=str(message.id))
        return no_content()

    def add_routes(self, app: web.Application, prefix: str) -> None:
        r = app.router
        r.add_post(f"{prefix}/interactions/{{interaction_id:\\d+}}/{{token}}/callback", self.callback)
        hook = f"{prefix}/webhooks/{{app_id:\\d+}}/{{token}}"
        r.add_post(hook, self.followup)
        r.add_get(f"{hook}/messages/{{message_id}}", self.get_message)
        r.add_patch(f"{hook}/messages/{{message_id}}", self.edit_message)
        r.add_delete(f"{hook}/messages/{{message_id}}", self.delete_message)
