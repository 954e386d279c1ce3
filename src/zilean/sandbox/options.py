"""The control API's `{command, options}` as INTERACTION_CREATE `data`, typed by the registered command."""

from __future__ import annotations

import base64
import mimetypes
from typing import Any

from zilean.sandbox import payloads
from zilean.sandbox.world import Guild, World

SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = 3, 4, 5, 6, 7, 8, 9, 10, 11


class OptionError(ValueError):
    """The control API request does not fit the registered command; the message says why."""


def _resolve(world: World, guild: Guild | None, kind: int, value: Any, resolved: dict[str, Any]) -> Any:
    """The option value as Discord sends it, filling `resolved` for users, roles, channels and attachments."""
    if kind == ATTACHMENT:
        if not isinstance(value, dict) or "filename" not in value or "content_base64" not in value:
            raise OptionError("an attachment option takes {filename, content_base64}")
        data = base64.b64decode(value["content_base64"])
        content_type = (
            value.get("content_type")
            or mimetypes.guess_type(value["filename"])[0]
            or "application/octet-stream"
        )
        attachment = world.add_attachment(value["filename"], data, content_type)
        resolved.setdefault("attachments", {})[str(attachment.id)] = payloads.attachment(
            value.get("_base_url", ""), 0, attachment
        )
        return str(attachment.id)
    if kind in (USER, ROLE, CHANNEL, MENTIONABLE):
        snowflake = int(value)
        if kind in (USER, MENTIONABLE) and snowflake in world.users:
            resolved.setdefault("users", {})[str(snowflake)] = payloads.user(world.users[snowflake])
            if guild is not None and snowflake in guild.members:
                member = payloads.member(world, guild.members[snowflake], with_user=False)
                member["permissions"] = str(guild.permissions_of(snowflake))
                resolved.setdefault("members", {})[str(snowflake)] = member
            return str(snowflake)
        if kind in (ROLE, MENTIONABLE) and guild is not None and snowflake in guild.roles:
            resolved.setdefault("roles", {})[str(snowflake)] = payloads.role(guild.roles[snowflake])
            return str(snowflake)
        if kind == CHANNEL and world.channel(snowflake) is not None:
            channel = world.channel(snowflake)
            assert channel is not None
            channel_data = payloads.channel(channel)
            channel_data["permissions"] = str(guild.permissions_of(world.bot_user_id) if guild else 0)
            resolved.setdefault("channels", {})[str(snowflake)] = channel_data
            return str(snowflake)
        raise OptionError(f"no such user, role or channel: {value}")
    if kind == INTEGER:
        return int(value)
    if kind == NUMBER:
        return float(value)
    if kind == BOOLEAN:
        return bool(value)
    return str(value)


def _options(
    world: World,
    guild: Guild | None,
    defs: list[dict[str, Any]],
    given: dict[str, Any],
    resolved: dict[str, Any],
    base_url: str,
    focused: str | None = None,
) -> list[dict[str, Any]]:
    by_name = {d["name"]: d for d in defs}
    unknown = sorted(set(given) - set(by_name))
    if unknown:
        raise OptionError(f"unknown options {unknown}; the command has {sorted(by_name)}")
    missing = [d["name"] for d in defs if d.get("required") and d["name"] not in given]
    if missing and focused is None:  # while autocompleting, the user has not filled everything in yet
        raise OptionError(f"missing required options {missing}")
    if focused is not None and focused not in by_name:
        raise OptionError(f"cannot focus unknown option {focused!r}")
    result = []
    for name, value in given.items():
        kind = int(by_name[name]["type"])
        if name == focused:  # the text being typed, always a string
            result.append({"name": name, "type": kind, "value": str(value), "focused": True})
            continue
        if kind == ATTACHMENT and isinstance(value, dict):
            value = {**value, "_base_url": base_url}
        result.append({"name": name, "type": kind, "value": _resolve(world, guild, kind, value, resolved)})
    return result


def command_data(
    world: World,
    guild: Guild | None,
    command: dict[str, Any],
    words: list[str],
    given: dict[str, Any],
    base_url: str,
    focused: str | None = None,
) -> dict[str, Any]:
    """`data` for a command (or, with `focused`, autocomplete) interaction; `words` name subcommands."""
    resolved: dict[str, Any] = {}
    defs = command.get("options") or []
    path: list[dict[str, Any]] = []
    for word in words:
        match = next(
            (d for d in defs if d["name"] == word and d["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP)), None
        )
        if match is None:
            raise OptionError(f"/{command['name']} has no subcommand {word!r}")
        path.append(match)
        defs = match.get("options") or []
    if any(d["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP) for d in defs):
        raise OptionError(f"/{command['name']} needs a subcommand: {[d['name'] for d in defs]}")
    options = _options(world, guild, defs, given, resolved, base_url, focused)
    for sub in reversed(path):
        options = [{"name": sub["name"], "type": sub["type"], "options": options}]
    data: dict[str, Any] = {
        "id": command["id"],
        "name": command["name"],
        "type": command.get("type", 1),
        "options": options,
    }
    if guild is not None and command.get("guild_id"):
        data["guild_id"] = command["guild_id"]
    if resolved:
        data["resolved"] = resolved
    return data


def find_component(components: list[dict[str, Any]], custom_id: str) -> dict[str, Any] | None:
    """The component with this custom_id, searching action rows (and nested containers)."""
    for component in components:
        if component.get("custom_id") == custom_id:
            return component
        found = find_component(component.get("components") or [], custom_id)
        if found is not None:
            return found
        accessory = component.get("accessory")
        if isinstance(accessory, dict) and accessory.get("custom_id") == custom_id:
            return accessory
    return None


def modal_submit_data(modal: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """MODAL_SUBMIT `data` answering `modal` (the bot's callback type 9 data), mirroring its layout."""
    rows: list[dict[str, Any]] = []
    asked: set[str] = set()
    for top in modal.get("components") or []:
        inner = top.get("components") or (
            [top["component"]] if isinstance(top.get("component"), dict) else []
        )
        answered = []
        for component in inner:
            custom_id = component.get("custom_id")
            if custom_id is None:
                continue
            asked.add(custom_id)
            value = values.get(custom_id, component.get("value") or "")
            if component.get("required", True) and component.get("type") == 4 and not value:
                raise OptionError(f"the modal needs a value for {custom_id!r}")
            answer: dict[str, Any] = {"type": component["type"], "custom_id": custom_id}
            if component["type"] == 4:
                answer["value"] = str(value)
            else:
                answer["values"] = [str(v) for v in (value if isinstance(value, list) else [value])]
            answered.append(answer)
        if top.get("type") == 1:
            rows.append({"type": 1, "components": answered})
        elif answered:
            rows.append({"type": top["type"], "id": top.get("id"), "component": answered[0]})
    unknown = set(values) - {
        c.get("custom_id") for r in rows for c in r.get("components", [r.get("component", {})])
    }
    if unknown:
        raise OptionError(f"the modal has no inputs {sorted(unknown)}")
    return {"custom_id": modal.get("custom_id"), "components": rows}
