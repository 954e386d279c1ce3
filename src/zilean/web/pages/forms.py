"""Form posts from the player page → the JSON API's action bodies (the same `services.act` runs both).

A form sends strings; the API wants typed bodies. Each function here reads one control's fields and
returns (api action, body), or raises FormError with a message for the user.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zilean.db.records import PlayerState


class FormError(ValueError):
    """A form field is missing or not what the control sends."""


PLAIN = frozenset({"pause", "resume", "skip", "previous", "stop", "shuffle", "clear", "join", "leave"})
PLAY_POSITIONS = frozenset({"end", "next", "now"})


def _int(form: Mapping[str, Any], key: str) -> int:
    raw = str(form.get(key, "")).strip()
    try:
        return int(float(raw))
    except ValueError:
        raise FormError(f"{key} must be a number") from None


def body_for(control: str, form: Mapping[str, Any], state: PlayerState | None) -> tuple[str, dict[str, Any]]:
    """The API action and body a control's form stands for."""
    if control in PLAIN:
        return control, {}
    if control == "volume":
        return "volume", {"volume": _int(form, "volume")}
    if control == "seek":
        return "seek", {"position_ms": max(0, _int(form, "position_s")) * 1000}
    if control == "loop":
        return "loop", {"mode": str(form.get("mode", ""))}
    if control == "effect":
        name = str(form.get("toggle", "")).strip().lower()
        if not name:
            raise FormError("choose an effect")
        current = list(state.effects) if state else []
        wanted = [e for e in current if e != name] if name in current else [*current, name]
        return "effects", {"effects": wanted}
    if control == "move":
        return "move", {"entry_id": _int(form, "entry_id"), "to": _int(form, "to")}
    if control == "remove":
        return "remove", {"entry_id": _int(form, "entry_id")}
    if control == "play":
        query = str(form.get("query", "")).strip()
        if not query:
            raise FormError("type a link or some search words")
        position = str(form.get("position", "end"))
        return "play", {"query": query, "position": position if position in PLAY_POSITIONS else "end"}
    raise FormError(f"unknown control {control!r}")
