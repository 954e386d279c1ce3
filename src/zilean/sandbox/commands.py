"""Application commands: global and guild, list / create / bulk overwrite / edit / delete."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from zilean.sandbox.responses import (
    UNKNOWN_COMMAND,
    UNKNOWN_GUILD,
    form_error,
    json_response,
    no_content,
    read_json,
    unknown,
)
from zilean.sandbox.world import World


class Commands:
    """The registered commands, keyed by guild (None = global)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.by_scope: dict[int | None, dict[int, dict[str, Any]]] = {}

    def find(self, name: str, guild_id: int | None) -> dict[str, Any] | None:
        """The chat-input command with this name, guild commands first (as Discord's client picks)."""
        for scope in (guild_id, None):
            for command in self.by_scope.get(scope, {}).values():
                if command["name"] == name and command.get("type", 1) == 1:
                    return command
        return None

    def _scope(self, request: web.Request) -> int | None:
        if int(request.match_info["app_id"]) != self.world.application_id:
            raise unknown("Application", 10002)
        raw = request.match_info.get("guild_id")
        if raw is None:
            return None
        if int(raw) not in self.world.guilds:
            raise unknown("Guild", UNKNOWN_GUILD)
        return int(raw)

    def _make(
        self, body: dict[str, Any], scope: int | None, existing: dict[str, Any] | None
    ) -> dict[str, Any]:
        name = body.get("name") or ""
        kind = int(body.get("type", 1))
        if not 1 <= len(name) <= 32:
            raise form_error("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")
        if kind == 1 and not 1 <= len(body.get("description") or "") <= 100:
            raise form_error("description", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        command = {
            "id": existing["id"] if existing else str(self.world.ids.next()),
            "application_id": str(self.world.application_id),
            "version": str(self.world.ids.next()),
            "type": kind,
            "name": name,
            "description": body.get("description") or "",
            "options": body.get("options") or [],
            "default_member_permissions": body.get("default_member_permissions"),
            "dm_permission": body.get("dm_permission", True),
            "nsfw": bool(body.get("nsfw", False)),
            "contexts": body.get("contexts"),
            "integration_types": body.get("integration_types") or [0],
            "name_localizations": body.get("name_localizations"),
            "description_localizations": body.get("description_localizations"),
        }
        if scope is not None:
            command["guild_id"] = str(scope)
        return command

    def _same(self, store: dict[int, dict[str, Any]], body: dict[str, Any]) -> dict[str, Any] | None:
        for command in store.values():
            if command["name"] == body.get("name") and command["type"] == int(body.get("type", 1)):
                return command
        return None

    async def list(self, request: web.Request) -> web.Response:
        return json_response(list(self.by_scope.get(self._scope(request), {}).values()))

    async def overwrite(self, request: web.Request) -> web.Response:
        """PUT: the body replaces every command in the scope (ids kept for unchanged names)."""
        scope = self._scope(request)
        body = await read_json(request)
        old = self.by_scope.get(scope, {})
        new: dict[int, dict[str, Any]] = {}
        for item in body:
            command = self._make(item, scope, self._same(old, item))
            new[int(command["id"])] = command
        self.by_scope[scope] = new
        return json_response(list(new.values()))

    async def create(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        body = await read_json(request)
        store = self.by_scope.setdefault(scope, {})
        existing = self._same(store, body)
        command = self._make(body, scope, existing)
        store[int(command["id"])] = command
        return json_response(command, 200 if existing else 201)

    def _one(self, request: web.Request) -> tuple[dict[int, dict[str, Any]], int]:
        store = self.by_scope.get(self._scope(request), {})
        command_id = int(request.match_info["command_id"])
        if command_id not in store:
            raise unknown("application command", UNKNOWN_COMMAND)
        return store, command_id

    async def get(self, request: web.Request) -> web.Response:
        store, command_id = self._one(request)
        return json_response(store[command_id])

    async def edit(self, request: web.Request) -> web.Response:
        store, command_id = self._one(request)
        merged = {**store[command_id], **(await read_json(request))}
        store[command_id] = self._make(merged, self._scope(request), store[command_id])
        return json_response(store[command_id])

    async def delete(self, request: web.Request) -> web.Response:
        store, command_id = self._one(request)
        del store[command_id]
        return no_content()

    def add_routes(self, app: web.Application, prefix: str) -> None:
        for base in (
            f"{prefix}/applications/{{app_id}}",
            f"{prefix}/applications/{{app_id}}/guilds/{{guild_id}}",
        ):
            app.router.add_get(f"{base}/commands", self.list)
            app.router.add_put(f"{base}/commands", self.overwrite)
            app.router.add_post(f"{base}/commands", self.create)
            app.router.add_get(f"{base}/commands/{{command_id}}", self.get)
            app.router.add_patch(f"{base}/commands/{{command_id}}", self.edit)
            app.router.add_delete(f"{base}/commands/{{command_id}}", self.delete)
