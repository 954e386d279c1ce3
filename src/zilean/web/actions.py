"""The dashboard's control vocabulary (POST /api/servers/{id}/ACTION bodies) and its bus translation.

The API speaks the user's words (`volume {"volume": 150}`, `loop {"mode": "one"}`, queue entries
by id); the bus speaks the bot's (zilean.db.bus.actions: "percent", loop "track", 1-based queue
indexes). `to_bus` turns one into the other; entry ids become indexes at the moment of sending.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from zilean.core.effects import effect_names
from zilean.web.views import LOOP_FROM_WEB

EntryId = Annotated[int, Field(ge=1, description="a queue entry id (from GET …/queue)")]


class Body(BaseModel):
    """Every action body: unknown fields are an error (422), not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class NoBody(Body):
    """No fields."""


class PlayBody(Body):
    query: str = Field(min_length=1, max_length=500, description="a link, search words or local:…")
    position: Literal["end", "next", "now"] = "end"


class SkipBody(Body):
    to: int | None = Field(default=None, ge=1, description="skip to this 1-based queue place")


class VolumeBody(Body):
    volume: int = Field(ge=0, le=200, description="shown percent, 0–200")


class EffectsBody(Body):
    effects: list[str] = Field(max_length=32, description="the whole set of effects, [] for none")

    @field_validator("effects")
    @classmethod
    def _known(cls, names: list[str]) -> list[str]:
        known = set(effect_names())
        cleaned = [name.strip().lower() for name in names]
        unknown = [name for name in cleaned if name not in known]
        if unknown:
            raise ValueError(f"unknown effects {unknown}; known: {', '.join(sorted(known))}")
        return list(dict.fromkeys(cleaned))


class LoopBody(Body):
    mode: Literal["off", "one", "queue"]


class SeekBody(Body):
    position_ms: int = Field(ge=0, le=24 * 3600 * 1000)


class MoveBody(Body):
    entry_id: EntryId
    to: int = Field(ge=1, description="the 1-based place to move it to")


class RemoveBody(Body):
    entry_id: EntryId


# action → (body model, bus action). Entry ids are resolved to indexes by the service.
ACTIONS: dict[str, tuple[type[Body], str]] = {
    "play": (PlayBody, "play"),
    "skip": (SkipBody, "skip"),
    "pause": (NoBody, "pause"),
    "resume": (NoBody, "resume"),
    "stop": (NoBody, "stop"),
    "previous": (NoBody, "previous"),
    "volume": (VolumeBody, "volume"),
    "effects": (EffectsBody, "effects"),
    "loop": (LoopBody, "loop"),
    "shuffle": (NoBody, "shuffle"),
    "clear": (NoBody, "clear"),
    "seek": (SeekBody, "seek"),
    "move": (MoveBody, "move"),
    "remove": (RemoveBody, "remove"),
    "join": (NoBody, "join"),
    "leave": (NoBody, "leave"),
}
PLAY_ACTIONS = frozenset({"play"})


def bus_payload(body: Body, index: int | None = None) -> dict[str, Any]:
    """The bus payload for a validated body; `index` is the 1-based place of `entry_id` (move/remove)."""
    if isinstance(body, PlayBody):
        return {"query": body.query, "position": body.position}
    if isinstance(body, SkipBody):
        return {} if body.to is None else {"to": body.to}
    if isinstance(body, VolumeBody):
        return {"percent": body.volume}
    if isinstance(body, EffectsBody):
        return {"effects": body.effects}
    if isinstance(body, LoopBody):
        return {"mode": LOOP_FROM_WEB[body.mode]}
    if isinstance(body, SeekBody):
        return {"position_ms": body.position_ms}
    if isinstance(body, MoveBody):
        assert index is not None
        return {"from": index, "to": body.to, "entry_id": body.entry_id}
    if isinstance(body, RemoveBody):
        assert index is not None
        return {"index": index, "entry_id": body.entry_id}
    return {}
