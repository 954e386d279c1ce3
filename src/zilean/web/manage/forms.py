"""The managers' request bodies (JSON API and HTML forms share them) and their field-by-field errors.

Ranges are the bot's own (`settings …` commands in bot/cogs/admin.py); the web checks them first so a
mistake shows next to its field, and the bot checks again when the change arrives through the bus.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from zilean.db.repos.validate import MAX_PREFIX_LENGTH

Verdict = Literal["allow", "deny", "default"]
FLAGS = ("play", "skip", "clear", "settings")
TO_BOOL: dict[str, bool | None] = {"allow": True, "deny": False, "default": None}
TO_WORD = {value: word for word, value in TO_BOOL.items()}
SnowflakeText = Field(pattern=r"^\d{1,20}$", description="a Discord id, as a string")


class SettingsBody(BaseModel):
    """Every guild setting; ids are strings (null: unset), limits null: no limit."""

    model_config = ConfigDict(extra="forbid")

    prefix: str | None = Field(default=None, description="1 to 5 characters, no spaces; null: the default")
    dj_role_id: str | None = Field(default=None, pattern=r"^\d{1,20}$")
    volume: int = Field(ge=0, le=200, description="the volume new sessions start at, 0–200 %")
    idle_timeout_s: int = Field(ge=0, le=86_400, description="seconds of silence before the bot leaves")
    always_on: bool = Field(description="24/7: stay in voice even when idle")
    announce_channel_id: str | None = Field(default=None, pattern=r"^\d{1,20}$")
    vote_skip_ratio: float = Field(ge=0.01, le=1.0, description="a skip vote needs more than this share")
    max_track_length_s: int | None = Field(default=None, ge=1, le=86_400)
    max_queue_per_member: int | None = Field(default=None, ge=1, le=10_000)
    audit_retention_days: int = Field(ge=1, le=3650)
    fair_queue: bool | None = Field(
        default=None, description="fair queue: requesters take turns; null or left out: unchanged"
    )
    autoplay: bool | None = Field(
        default=None, description="autoplay: related tracks follow the queue; null or left out: unchanged"
    )

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if len(value) > MAX_PREFIX_LENGTH or any(ch.isspace() for ch in value):
            raise ValueError(f"1 to {MAX_PREFIX_LENGTH} characters without spaces")
        return value


class RuleBody(BaseModel):
    """One role's or member's rule: allow, deny or default for each capability."""

    model_config = ConfigDict(extra="forbid")

    target_kind: Literal["role", "user"]
    target_id: str = SnowflakeText
    play: Verdict = "default"
    skip: Verdict = "default"
    clear: Verdict = "default"
    settings: Verdict = "default"


class PermissionsBody(BaseModel):
    """The whole matrix as it should be; rows left out are not changed."""

    model_config = ConfigDict(extra="forbid")

    rules: list[RuleBody] = Field(max_length=500)


def field_errors(exc: ValidationError) -> dict[str, str]:
    """{field: message} for showing each error next to its field."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "body"
        message = str(error["msg"]).removeprefix("Value error, ")
        errors.setdefault(where, message)
    return errors


def settings_from_form(form: Mapping[str, Any]) -> dict[str, Any]:
    """A settings form's strings as SettingsBody's fields (empty: null; the checkbox: present or not)."""

    def text(name: str) -> str | None:
        value = str(form.get(name, "")).strip()
        return value or None

    def number(name: str, kind: type = int) -> Any:
        value = text(name)
        if value is None:
            return None
        try:
            return kind(value)
        except ValueError:
            return value  # the model says what is wrong with it

    return {
        "prefix": text("prefix"),
        "dj_role_id": text("dj_role_id"),
        "volume": number("volume"),
        "idle_timeout_s": number("idle_timeout_s"),
        "always_on": form.get("always_on") in ("on", "true", "1"),
        "announce_channel_id": text("announce_channel_id"),
        "vote_skip_ratio": _percent(text("vote_skip_percent")),
        "max_track_length_s": _minutes(text("max_track_length_min")),
        "max_queue_per_member": number("max_queue_per_member"),
        "audit_retention_days": number("audit_retention_days"),
        "fair_queue": form.get("fair_queue") in ("on", "true", "1"),
        "autoplay": form.get("autoplay") in ("on", "true", "1"),
    }


def _percent(value: str | None) -> Any:
    if value is None:
        return None
    try:
        return float(value) / 100
    except ValueError:
        return value


def _minutes(value: str | None) -> Any:
    if value is None:
        return None
    try:
        return round(float(value) * 60)
    except ValueError:
        return value


def rules_from_form(form: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The matrix form's `KIND:ID:FLAG` selects as RuleBody fields, one per target."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for key, value in form.items():
        kind, _, rest = str(key).partition(":")
        target, _, flag = rest.partition(":")
        if kind not in ("role", "user") or flag not in FLAGS:
            continue
        row = rows.setdefault((kind, target), {"target_kind": kind, "target_id": target})
        row[flag] = str(value)
    return list(rows.values())
