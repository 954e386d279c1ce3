"""Checks that a task honours a cancel (Python 3.11's asyncio.wait_for could swallow one)."""

from __future__ import annotations

import asyncio
from typing import Any


async def cancel_is_honoured(task: asyncio.Task[Any]) -> bool:
    """Cancel `task` and wait for it: False only if it accepted the cancel and then returned normally."""
    accepted = task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        return accepted
    return not accepted
