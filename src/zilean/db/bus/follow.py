"""One event follower per web process: reads new event rows once and fans them out to subscribers.

Each subscriber (an SSE stream, a test) gets a bounded queue. A subscriber that falls too far
behind is not allowed to slow the others: its queue is dropped and it is told `Lagged`, so it can
re-render from the database and continue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

from zilean.db.bus.events import EventLog
from zilean.db.bus.records import TRANSIENT_ERRORS, Event, describe
from zilean.db.bus.signal import EVENTS, Wakeup
from zilean.db.tasks import cancel_and_wait

log = logging.getLogger(__name__)

BATCH = 500
QUEUE_SIZE = 1000
RETRY_S = 1.0


class Lagged(Exception):
    """The subscriber fell behind and missed events; re-read the state and carry on."""


class Subscription:
    """Events for one subscriber (one guild's, or every guild's when guild_id is None)."""

    def __init__(self, follower: EventFollower, guild_id: int | None, size: int) -> None:
        self.guild_id = guild_id
        self._follower = follower
        self._queue: asyncio.Queue[Event] = asyncio.Queue(size)
        self._lagged = False

    def offer(self, event: Event) -> None:
        """Called by the follower; never blocks."""
        if self._lagged or (self.guild_id is not None and event.guild_id != self.guild_id):
            return  # a lagged subscriber re-reads the state anyway; nothing to keep until it has
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self._lagged = True
            while not self._queue.empty():
                self._queue.get_nowait()

    async def get(self) -> Event:
        """The next event; raises Lagged once if events were dropped for this subscriber."""
        if self._lagged:
            self._lagged = False
            raise Lagged()
        return await self._queue.get()

    def get_nowait(self) -> Event | None:
        """The next event if one is waiting."""
        if self._lagged:
            self._lagged = False
            raise Lagged()
        try:
            return self._queue.get_nowait()
        except asyncio.QueueEmpty:
            return None

    def close(self) -> None:
        """Stop receiving events."""
        self._follower.unsubscribe(self)

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while True:
            yield await self.get()


class EventFollower:
    """Follows the events table from a starting id; wakes on NOTIFY / in-process signal or polls."""

    def __init__(
        self,
        events: EventLog,
        wakeup: Wakeup,
        poll_s: Callable[[], float],
        *,
        queue_size: int = QUEUE_SIZE,
    ) -> None:
        self._events = events
        self._wakeup = wakeup
        self._poll_s = poll_s
        self._queue_size = queue_size
        self._subscribers: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        self.last_id = 0

    async def start(self, after_id: int | None = None) -> None:
        """Start following after `after_id` (default: the newest event now)."""
        if self._task is not None:
            return
        self.last_id = await self._events.latest_id() if after_id is None else after_id
        self._task = asyncio.create_task(self._run(), name="zilean-bus-follower")

    def subscribe(self, guild_id: int | None = None) -> Subscription:
        """A new subscription to events from now on."""
        subscription = Subscription(self, guild_id, self._queue_size)
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Forget a subscription."""
        self._subscribers.discard(subscription)

    @property
    def subscriber_count(self) -> int:
        """How many subscriptions are open."""
        return len(self._subscribers)

    async def close(self) -> None:
        """Stop following."""
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            ticket = self._wakeup.ticket(EVENTS)
            try:
                batch = await self._events.after(self.last_id, limit=BATCH)
            except TRANSIENT_ERRORS as exc:
                log.warning("event follower cannot read events: %s", describe(exc))
                await asyncio.sleep(RETRY_S)
                continue
            for event in batch:
                self.last_id = event.id
                for subscription in list(self._subscribers):
                    subscription.offer(event)
            if len(batch) < BATCH:
                await Wakeup.wait(ticket, self._poll_s())
