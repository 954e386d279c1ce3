"""In-process wake-ups for the bus: a writer in this process wakes every waiter at once.

Waiters take a ticket *before* they query the database and wait on it *after*; a notify that
lands between the two sets the ticket already, so no wake-up is lost in that window.
"""

from __future__ import annotations

import asyncio
import contextlib

# One channel per kind of change. On PostgreSQL the same names are the NOTIFY channels.
COMMANDS = "zilean_commands"  # a command was queued
OUTCOMES = "zilean_outcomes"  # a command reached a final status
EVENTS = "zilean_events"  # an event row was written
CHANNELS = (COMMANDS, OUTCOMES, EVENTS)


class Wakeup:
    """Per-channel broadcast signal; `notify` wakes every ticket taken before it."""

    def __init__(self) -> None:
        self._current: dict[str, asyncio.Event] = {}

    def ticket(self, channel: str) -> asyncio.Event:
        """The event the next notify on `channel` will set."""
        event = self._current.get(channel)
        if event is None:
            event = self._current[channel] = asyncio.Event()
        return event

    def notify(self, channel: str) -> None:
        """Wake everyone holding a ticket for `channel`."""
        event = self._current.pop(channel, None)
        if event is not None:
            event.set()

    def discard(self, channel: str, ticket: asyncio.Event) -> None:
        """Forget a ticket nobody waits on any more (per-command channels would pile up)."""
        if self._current.get(channel) is ticket:
            del self._current[channel]

    def notify_all(self) -> None:
        """Wake every channel (after a reconnect, so everyone catches up)."""
        for channel in list(self._current):
            self.notify(channel)

    @staticmethod
    async def wait(ticket: asyncio.Event, timeout_s: float) -> bool:
        """Wait until the ticket is set or `timeout_s` seconds pass; True if it was set."""
        if ticket.is_set():
            return True
        # asyncio.timeout, not wait_for: Python 3.11's wait_for swallows a cancel that lands as the
        # ticket is set, and a bus worker stopped at that moment then never stopped.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await ticket.wait()
        return ticket.is_set()
