"""The guild a piece of work belongs to, carried into every log line it writes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

current_guild: ContextVar[int | None] = ContextVar("current_guild", default=None)


@contextmanager
def guild_context(guild_id: int | None) -> Iterator[None]:
    """Tag log lines written inside the block (and tasks started from it) with `guild_id`."""
    token = current_guild.set(guild_id)
    try:
        yield
    finally:
        current_guild.reset(token)
