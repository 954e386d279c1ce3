"""Optional REST rate limiting with Discord's 429 body and headers (off unless configured)."""

from __future__ import annotations

import re
import time
from typing import Any

from aiohttp import web

from zilean.sandbox.responses import json_response

WINDOW_S = 1.0
# The bucket is the route with ids replaced, keeping the major parameter (channel, guild, webhook).
_MAJOR = re.compile(r"/(channels|guilds|webhooks)/(\d+)")
_ID = re.compile(r"/\d{5,}")


def bucket_of(method: str, path: str) -> str:
    major = _MAJOR.search(path)
    route = _ID.sub("/:id", _MAJOR.sub(r"/\1/", path))
    return f"{method} {route} {major[2] if major else ''}"


def rate_limit_middleware(limit: int) -> Any:
    """At most `limit` requests per bucket per second; a 429 carries retry_after, global and a Via header."""
    windows: dict[str, tuple[float, int]] = {}

    @web.middleware
    async def limiter(request: web.Request, handler: Any) -> web.StreamResponse:
        if not request.path.startswith("/api/"):
            return await handler(request)  # type: ignore[no-any-return]
        bucket = bucket_of(request.method, request.path)
        now = time.monotonic()
        start, used = windows.get(bucket, (now, 0))
        if now - start >= WINDOW_S:
            start, used = now, 0
        reset_after = max(0.0, WINDOW_S - (now - start))
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": format(abs(hash(bucket)), "x"),
        }
        if used >= limit:
            headers.update(
                {
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Scope": "user",
                    "Retry-After": str(max(1, round(reset_after))),
                    "Via": "1.1 google",
                }
            )
            body = {
                "message": "You are being rate limited.",
                "retry_after": round(reset_after, 3),
                "global": False,
            }
            return json_response(body, 429, headers)
        windows[bucket] = (start, used + 1)
        response = await handler(request)
        headers["X-RateLimit-Remaining"] = str(limit - used - 1)
        response.headers.update(headers)
        return response  # type: ignore[no-any-return]

    return limiter
