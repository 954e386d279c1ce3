"""What travels on the bus: commands, their outcomes, events, live bot processes; shard routing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy.exc import SQLAlchemyError

from zilean.db.connector import as_utc
from zilean.db.errors import DatabaseError

CommandStatus = Literal["pending", "claimed", "done", "refused", "failed", "expired"]
OutcomeStatus = Literal["done", "refused", "failed"]
FINAL_STATUSES: tuple[CommandStatus, ...] = ("done", "refused", "failed", "expired")

# User-facing reasons the bus itself writes (the handler writes all the others).
BOT_OFFLINE = "the bot is offline, so this command was not run"
BOT_RESTARTED = "the bot restarted before running this command; nothing was done, send it again"
HANDLER_CRASHED = "the bot hit an internal error while running this command"


# What a bus loop survives: the Connector's one-line errors, and the driver errors it does not wrap
# (asyncpg's "connection was closed in the middle of operation" arrives as a bare DBAPIError).
TRANSIENT_ERRORS = (DatabaseError, SQLAlchemyError, OSError)


def describe(exc: BaseException) -> str:
    """One line for a log message."""
    if isinstance(exc, DatabaseError):
        return exc.message
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard that owns a guild (Discord's formula)."""
    return (guild_id >> 22) % shard_count


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the bot answers to a command; `message` is shown to the user as it is."""

    status: OutcomeStatus
    message: str = ""

    @classmethod
    def done(cls, message: str = "") -> Outcome:
        """The action was carried out."""
        return cls("done", message)

    @classmethod
    def refused(cls, message: str) -> Outcome:
        """The action was not allowed or made no sense (a permission, an empty queue, …)."""
        return cls("refused", message)

    @classmethod
    def failed(cls, message: str) -> Outcome:
        """The action was allowed but could not be carried out."""
        return cls("failed", message)


@dataclass(frozen=True, slots=True)
class Command:
    """One command row: who asked what for which guild, and how it ended."""

    id: int
    guild_id: int
    action: str
    payload: dict[str, Any] = field(default_factory=dict)
    user_id: int | None = None
    status: CommandStatus = "pending"
    outcome: str | None = None
    claimed_by: str | None = None
    created_at: datetime | None = None
    claimed_at: datetime | None = None
    finished_at: datetime | None = None
    origin: str = "web"  # "web" or "cli": what the bot's audit log records

    @property
    def final(self) -> bool:
        """True once the command has its outcome (or expired)."""
        return self.status in FINAL_STATUSES


class CommandHandler(Protocol):
    """The bot's side of a command: carry it out and say how it went. Must not raise."""

    async def __call__(self, command: Command) -> Outcome: ...


@dataclass(frozen=True, slots=True)
class Event:
    """One state change the bot published (kind: "player", "queue", "settings", …)."""

    id: int
    guild_id: int | None
    kind: str
    payload: dict[str, Any]
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class BotProcess:
    """A bot process as its last heartbeat describes it."""

    process_id: str
    shard_ids: tuple[int, ...]
    shard_count: int
    started_at: datetime | None
    last_seen: datetime | None

    def owns(self, guild_id: int) -> bool:
        """True if this process runs the guild's shard."""
        return shard_of(guild_id, self.shard_count) in self.shard_ids


def command_from(row: Mapping[Any, Any]) -> Command:
    """A Command from a `commands` row."""
    return Command(
        id=row["id"],
        guild_id=row["guild_id"],
        action=row["action"],
        payload=dict(row["payload"] or {}),
        user_id=row["user_id"],
        status=row["status"],
        outcome=row["outcome"],
        claimed_by=row["claimed_by"],
        created_at=as_utc(row["created_at"]),
        claimed_at=as_utc(row["claimed_at"]),
        finished_at=as_utc(row["finished_at"]),
        origin=row.get("origin") or "web",
    )


def event_from(row: Mapping[Any, Any]) -> Event:
    """An Event from an `events` row."""
    return Event(
        id=row["id"],
        guild_id=row["guild_id"],
        kind=row["kind"],
        payload=dict(row["payload"] or {}),
        created_at=as_utc(row["created_at"]),
    )


def process_from(row: Mapping[Any, Any]) -> BotProcess:
    """A BotProcess from a `bot_heartbeats` row."""
    return BotProcess(
        process_id=row["process_id"],
        shard_ids=tuple(int(i) for i in row["shard_ids"] or ()),
        shard_count=int(row["shard_count"]),
        started_at=as_utc(row["started_at"]),
        last_seen=as_utc(row["last_seen"]),
    )
