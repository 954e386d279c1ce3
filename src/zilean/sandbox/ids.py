"""Snowflake ids shaped like Discord's: milliseconds since the Discord epoch, worker bits, an increment."""

from __future__ import annotations

import itertools
import time

DISCORD_EPOCH_MS = 1_420_070_400_000


class Snowflakes:
    """Hands out unique, increasing snowflakes (discord.py reads the creation time from them)."""

    def __init__(self, worker: int = 1) -> None:
        self._worker = worker & 0x3FF
        self._counter = itertools.count()
        self._last = 0
        # While set, ids use this fixed time, not the clock: the seeded world gets the same ids every run.
        self.fixed_ms: int | None = None

    def next(self) -> int:
        """A new snowflake, strictly greater than every earlier one."""
        now = self.fixed_ms if self.fixed_ms is not None else int(time.time() * 1000)
        ms = now - DISCORD_EPOCH_MS
        value = (ms << 22) | (self._worker << 12) | (next(self._counter) & 0xFFF)
        if value <= self._last:
            value = self._last + 1
        self._last = value
        return value
