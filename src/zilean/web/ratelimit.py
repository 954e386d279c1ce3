"""Rate limits (roadmap 5.2) with the `limits` library: per user and per client address, moving windows.

Counters live in RATE_LIMIT_STORAGE_URL: `memory://` for one process, `redis://host:port` so that
several web processes share them. If the store is unreachable the request is let through and the
failure is logged: a limiter outage must not take the dashboard down with it.
"""

from __future__ import annotations

import inspect
import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import ConfigurationError
from limits.storage import storage_from_string

from zilean.core.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Limits:
    """How many of each per minute."""

    plays_per_user: int = 10
    actions_per_user: int = 60
    actions_per_ip: int = 240
    logins_per_ip: int = 10


class RateLimiter:
    """`await limiter.hit("play", key)` → None when allowed, else seconds until it would be (Retry-After)."""

    def __init__(self, limits: Limits, storage_url: str = "memory://") -> None:
        self.storage_url = storage_url
        try:
            storage = storage_from_string(_async_uri(storage_url))
        except (ConfigurationError, ValueError) as exc:
            raise ConfigError(f"RATE_LIMIT_STORAGE_URL {storage_url!r} is not usable: {exc}") from None
        if not isinstance(storage, Storage):
            raise ConfigError(f"RATE_LIMIT_STORAGE_URL {storage_url!r} has no asyncio store")
        self.storage = storage
        self.strategy = MovingWindowRateLimiter(self.storage)
        self.rules: dict[str, RateLimitItem] = {
            "play": RateLimitItemPerMinute(limits.plays_per_user),
            "action": RateLimitItemPerMinute(limits.actions_per_user),
            "ip-action": RateLimitItemPerMinute(limits.actions_per_ip),
            "login": RateLimitItemPerMinute(limits.logins_per_ip),
        }

    async def hit(self, rule: str, key: str) -> int | None:
        """Count one request under `rule` for `key`; None if allowed, else the whole seconds to wait."""
        item = self.rules[rule]
        try:
            if await self.strategy.hit(item, "zilean", rule, key):
                return None
            stats = await self.strategy.get_window_stats(item, "zilean", rule, key)
        except Exception as exc:  # a store outage: let the request through, loudly
            log.error("rate limiter store %s failed (%s); request allowed", self.storage_url, exc)
            return None
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def aclose(self) -> None:
        """Close the store's connections (Redis); the memory store has none."""
        client = getattr(getattr(self.storage, "bridge", None), "storage", None)
        pool = getattr(client, "connection_pool", None)
        if pool is not None:
            done = pool.disconnect()
            if inspect.isawaitable(done):
                await done

    async def reset(self) -> None:
        """Forget every counter (tests)."""
        await self.storage.reset()


def _async_uri(url: str) -> str:
    return url if url.startswith("async+") else f"async+{url}"
