"""Helpers for the bus tests: fast timings, a recording command handler, reading a command back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from zilean.db import open_database
from zilean.db.bus import Bus, BusOptions
from zilean.db.bus.records import Command, Outcome
from zilean.db.bus.worker import WorkerTiming

FAST = WorkerTiming(
    heartbeat_s=0.2,
    stale_after_s=2.0,
    command_expiry_s=0.5,
    maintenance_s=0.2,
    prune_every_s=3600,
)


def fast_options(**timing: float) -> BusOptions:
    """Bus options with test-sized timings (override any WorkerTiming field)."""
    base = {name: getattr(FAST, name) for name in FAST.__slots__}
    return BusOptions(poll_interval_s=0.02, safety_poll_s=2.0, timing=WorkerTiming(**{**base, **timing}))


async def open_bus(db_url: str, options: BusOptions) -> AsyncIterator[Bus]:
    """A started Bus on its own engine (another process's view); closed, with its engine, after."""
    db = await open_database(db_url)
    bus = Bus(db, options)
    await bus.start()
    try:
        yield bus
    finally:
        await bus.close()
        await db.close()


class Recorder:
    """A CommandHandler that records every command it ran and answers with `answer`."""

    def __init__(self, answer: Callable[[Command], Awaitable[Outcome]] | None = None) -> None:
        self.ran: list[Command] = []
        self._answer = answer

    async def __call__(self, command: Command) -> Outcome:
        self.ran.append(command)
        if self._answer is not None:
            return await self._answer(command)
        return Outcome.done(f"{command.action} ok")

    @property
    def ids(self) -> list[int]:
        return [command.id for command in self.ran]


async def stored(bus: Bus, command_id: int) -> Command:
    """The command as stored now (it must exist)."""
    command = await bus.commands.get(command_id)
    assert command is not None, f"command {command_id} is gone"
    return command


async def is_status(bus: Bus, command_id: int, status: str) -> bool:
    """True if the command has this status now."""
    return (await stored(bus, command_id)).status == status


async def eventually(
    check: Callable[[], Awaitable[bool]], *, tries: int = 500, every_s: float = 0.02
) -> None:
    """Re-check until `check()` is true; fail after `tries` attempts (a generous bound, not a timing test)."""
    for _ in range(tries):
        if await check():
            return
        await asyncio.sleep(every_s)
    raise AssertionError("the condition never became true")
