"""Wakeup: tickets, notifies and a wait that is stopped when its task is cancelled."""

from __future__ import annotations

import asyncio

from cancellation import cancel_is_honoured
from zilean.db.bus.signal import Wakeup


async def test_a_notify_wakes_a_ticket_taken_before_it() -> None:
    wakeup = Wakeup()
    ticket = wakeup.ticket("c")
    wakeup.notify("c")
    assert await Wakeup.wait(ticket, 5.0)
    assert not await Wakeup.wait(wakeup.ticket("c"), 0.01)  # a new ticket waits for the next notify


async def test_a_cancel_that_lands_as_the_ticket_is_set_still_cancels() -> None:
    # A bus worker being stopped just as another connection commits: the stop must win, or the
    # worker waits again and close() hangs (it did, with asyncio.wait_for on Python 3.11).
    wakeup = Wakeup()
    waiter = asyncio.create_task(Wakeup.wait(wakeup.ticket("c"), 5.0))
    await asyncio.sleep(0)
    wakeup.notify("c")
    await asyncio.sleep(0)  # anything the wait scheduled has run
    assert await cancel_is_honoured(waiter)
