"""The command vocabulary of the bus: action names and their payloads, shared by dashboard, CLI and bot.

`payload_from_args` turns the words after `zilean send GUILD ACTION` into the payload the dashboard
would send; the bot's bridge reads the same keys. Positions and indexes are 1-based, as users see.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from zilean.core.errors import ZileanError

LOOP_MODES = ("off", "track", "queue")
PERMISSION_FLAGS = ("can_play", "can_skip", "can_clear", "can_settings")


class ActionError(ZileanError):
    """An action name or its arguments are not valid."""


def _none(action: str, args: Sequence[str]) -> dict[str, Any]:
    if args:
        raise ActionError(f"{action} takes no arguments")
    return {}


def _play(action: str, args: Sequence[str]) -> dict[str, Any]:
    query = " ".join(args).strip()
    if not query:
        raise ActionError("play needs a search query or a link")
    return {"query": query}


def _skip(action: str, args: Sequence[str]) -> dict[str, Any]:
    if not args:
        return {}
    return {"to": _positive(args, 1, "skip TO (a queue position)")}


def _seek(action: str, args: Sequence[str]) -> dict[str, Any]:
    if len(args) != 1:
        raise ActionError("seek needs one time, e.g. 90, 1:30 or 1:02:03")
    return {"position_ms": parse_time_ms(args[0])}


def _volume(action: str, args: Sequence[str]) -> dict[str, Any]:
    percent = _integer(args, 1, "volume PERCENT (0–200)")
    if not 0 <= percent <= 200:
        raise ActionError("volume must be between 0 and 200 %")
    return {"percent": percent}


def _effects(action: str, args: Sequence[str]) -> dict[str, Any]:
    names = [name.strip().lower() for name in args if name.strip()]
    return {"effects": [] if names in ([], ["none"], ["off"]) else names}


def _loop(action: str, args: Sequence[str]) -> dict[str, Any]:
    if len(args) != 1 or args[0].lower() not in LOOP_MODES:
        raise ActionError("loop needs one of: off, track, queue")
    return {"mode": args[0].lower()}


def _remove(action: str, args: Sequence[str]) -> dict[str, Any]:
    return {"index": _positive(args, 1, "remove INDEX")}


def _move(action: str, args: Sequence[str]) -> dict[str, Any]:
    if len(args) != 2:
        raise ActionError("move needs FROM and TO queue positions")
    return {"from": _positive(args[:1], 1, "move FROM TO"), "to": _positive(args[1:], 1, "move FROM TO")}


def _settings(action: str, args: Sequence[str]) -> dict[str, Any]:
    if not args:
        raise ActionError("settings needs KEY=VALUE pairs, e.g. prefix=! dj_role_id=123")
    return {"changes": dict(_pair(arg) for arg in args)}


def _permission(action: str, args: Sequence[str]) -> dict[str, Any]:
    if len(args) < 2 or args[0] not in ("role", "user"):
        raise ActionError("permission needs role|user ID and flags, e.g. role 123 can_skip=false")
    target_id = _positive(args[1:2], 1, "permission role|user ID")
    rules: dict[str, Any] = {}
    for key, value in (_pair(arg) for arg in args[2:]):
        if key not in PERMISSION_FLAGS:
            raise ActionError(f"unknown permission {key!r}; use {', '.join(PERMISSION_FLAGS)}")
        if value is not None and not isinstance(value, bool):
            raise ActionError(f"{key} must be true, false or none (inherit)")
        rules[key] = value
    return {"target_kind": args[0], "target_id": target_id, "rules": rules}


Parser = Callable[[str, Sequence[str]], dict[str, Any]]

ACTIONS: dict[str, tuple[Parser, str]] = {
    "play": (_play, "QUERY… — search or link, queued at the end"),
    "pause": (_none, "pause playback"),
    "resume": (_none, "resume playback"),
    "skip": (_skip, "[TO] — skip the current track (or to queue position TO)"),
    "previous": (_none, "play the previous track again"),
    "stop": (_none, "stop and clear the queue"),
    "seek": (_seek, "TIME — e.g. 90, 1:30, 1:02:03"),
    "volume": (_volume, "PERCENT — 0 to 200"),
    "effects": (_effects, "[NAME…] — set the effect list (none: clear)"),
    "loop": (_loop, "off|track|queue"),
    "shuffle": (_none, "shuffle the queue"),
    "clear": (_none, "empty the queue"),
    "remove": (_remove, "INDEX — remove a queued track"),
    "move": (_move, "FROM TO — move a queued track"),
    "join": (_none, "join the voice channel the user is in"),
    "leave": (_none, "leave the voice channel"),
    "settings": (_settings, "KEY=VALUE… — change guild settings"),
    "permission": (_permission, "role|user ID FLAG=true|false|none…"),
}


def payload_from_args(action: str, args: Sequence[str]) -> dict[str, Any]:
    """The payload for `action` from command-line words, or an ActionError saying what is wrong."""
    entry = ACTIONS.get(action)
    if entry is None:
        raise ActionError(f"unknown action {action!r}; known: {', '.join(ACTIONS)}")
    return entry[0](action, args)


def parse_time_ms(text: str) -> int:
    """'90', '1:30', '1:02:03' or '1:30.5' as milliseconds."""
    if not re.fullmatch(r"\d+(:\d{1,2}){0,2}(\.\d+)?", text.strip()):
        raise ActionError(f"{text!r} is not a time; use seconds or M:SS or H:MM:SS")
    seconds = 0.0
    for part in text.strip().split(":"):
        seconds = seconds * 60 + float(part)
    return round(seconds * 1000)


def _integer(args: Sequence[str], count: int, usage: str) -> int:
    if len(args) != count:
        raise ActionError(f"usage: {usage}")
    try:
        return int(args[0])
    except ValueError:
        raise ActionError(f"{args[0]!r} is not a whole number (usage: {usage})") from None


def _positive(args: Sequence[str], count: int, usage: str) -> int:
    value = _integer(args, count, usage)
    if value < 1:
        raise ActionError(f"{value} must be 1 or more (usage: {usage})")
    return value


def _pair(arg: str) -> tuple[str, Any]:
    key, sep, raw = arg.partition("=")
    if not sep or not key:
        raise ActionError(f"{arg!r} is not KEY=VALUE")
    return key.strip(), _value(raw.strip())


def _value(raw: str) -> Any:
    lowered = raw.lower()
    if lowered in ("true", "yes"):
        return True
    if lowered in ("false", "no"):
        return False
    if lowered in ("none", "null", ""):
        return None
    if re.fullmatch(r"-?\d+", raw):
        return int(raw)
    return raw
