"""Waiting on conditions instead of sleeping: the one polling helper of the test suite.

A fixed sleep is a guess about how busy the machine is; these wait exactly as long as the
condition takes and fail with a message naming what never happened. The bounds are generous
(they only decide how long a real failure takes to be reported), never a timing assertion.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

WITHIN_S = 15.0


def _describe(what: str, last: object) -> str:
    return f"{what} did not happen in time (last value: {last!r})"


async def until(
    predicate: Callable[[], T | Awaitable[T]],
    *,
    within: float = WITHIN_S,
    interval: float = 0.05,
    what: str = "the condition",
) -> T:
    """Poll `predicate()` (plain or async) until it is truthy; return that value (TimeoutError otherwise)."""

    async def read() -> T:
        value = predicate()
        if inspect.isawaitable(value):
            return await value  # type: ignore[no-any-return]
        return value

    return await until_value(read, bool, within=within, interval=interval, what=what)


async def until_value(
    read: Callable[[], Awaitable[T]],
    accept: Callable[[T], object],
    *,
    within: float = WITHIN_S,
    interval: float = 0.05,
    what: str = "the condition",
) -> T:
    """Poll `await read()` until `accept(value)` holds; return that value (TimeoutError with the last one)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = await read()
        if accept(value):
            return value
        if loop.time() > deadline:
            raise TimeoutError(_describe(what, value))
        await asyncio.sleep(interval)


def until_sync(
    predicate: Callable[[], T],
    *,
    within: float = WITHIN_S,
    interval: float = 0.01,
    what: str = "the condition",
) -> T:
    """`until` for code outside an event loop (threads, subprocesses)."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(_describe(what, value))
        time.sleep(interval)
