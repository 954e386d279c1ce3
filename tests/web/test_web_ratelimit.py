"""The limiter holds across web processes when its counters live in Redis (RATE_LIMIT_STORAGE_URL)."""

from __future__ import annotations

import os
import secrets
import socket

import pytest

from zilean.web.ratelimit import Limits, RateLimiter

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_reachable() -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(REDIS_URL)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture
def redis_url() -> str:
    if not redis_reachable():
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(f"REQUIRE_REDIS=1 but Redis is not reachable at {REDIS_URL}")
        pytest.skip(f"Redis is not reachable at {REDIS_URL} (set TEST_REDIS_URL)")
    return REDIS_URL


async def test_two_processes_share_one_budget_through_redis(redis_url: str) -> None:
    first = RateLimiter(Limits(plays_per_user=3), redis_url)
    second = RateLimiter(Limits(plays_per_user=3), redis_url)  # another web process's limiter
    user = f"user-{secrets.token_hex(6)}"
    try:
        answers = [
            await first.hit("play", user),
            await second.hit("play", user),
            await first.hit("play", user),
        ]
        assert answers == [None, None, None]
        wait = await second.hit("play", user)
        assert wait is not None and 1 <= wait <= 60
        assert await first.hit("play", f"{user}-other") is None  # per user: someone else is not affected
    finally:
        await first.aclose()
        await second.aclose()


async def test_the_memory_store_counts_per_process() -> None:
    first, second = RateLimiter(Limits(plays_per_user=1)), RateLimiter(Limits(plays_per_user=1))
    assert await first.hit("play", "u") is None
    assert await first.hit("play", "u") is not None
    assert await second.hit("play", "u") is None  # which is why several processes need Redis


async def test_an_unreachable_store_lets_requests_through_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limiter = RateLimiter(Limits(plays_per_user=1), "redis://127.0.0.1:1")
    try:
        assert await limiter.hit("play", "u") is None
        assert "rate limiter store" in caplog.text and "request allowed" in caplog.text
    finally:
        await limiter.aclose()
