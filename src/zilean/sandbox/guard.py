"""Who may use the control API (/_sandbox) and the page (/sandbox): browsers on other sites may not.

- Host allow-list: the sandbox's own address (127.0.0.1, localhost, [::1] and the bound host, at its
  port) plus `SandboxConfig.allowed_hosts`, so a DNS-rebound name cannot reach it from a web page.
- Origin: a request (or websocket) that carries an Origin must come from one of those hosts.
- Writes carry JSON: a POST/PUT/PATCH/DELETE with a body must say `application/json`, which a
  cross-site form cannot send without a CORS preflight (that the sandbox never answers).
- Optionally a per-run key (`SandboxConfig.control_key`): the `X-Sandbox-Key` header, or the cookie
  the page sets when opened at the printed `/sandbox?key=…` URL. Without it, any local process or
  user may still drive the sandbox (it stands in for Discord, it holds nothing of value).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from aiohttp import web

from zilean.sandbox.responses import json_response

KEY_HEADER = "X-Sandbox-Key"
KEY_COOKIE = "zilean_sandbox_key"
GUARDED = ("/_sandbox", "/sandbox")
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def refusal(status: int, message: str) -> web.Response:
    return json_response({"message": message, "code": 0}, status)


def guard_middleware(allowed_hosts: Callable[[], set[str]], key: str | None) -> Any:
    """The aiohttp middleware; `allowed_hosts()` is read per request (the port is known only after start)."""

    @web.middleware
    async def guard(request: web.Request, handler: Any) -> web.StreamResponse:
        path = request.path
        if not any(path == p or path.startswith(p + "/") for p in GUARDED):
            return await handler(request)  # type: ignore[no-any-return]
        hosts = allowed_hosts()
        if request.host.lower() not in hosts:
            return refusal(421, f"this sandbox does not answer to host {request.host!r}")
        origin = request.headers.get("Origin")
        if origin is not None and origin.lower() not in {f"http://{h}" for h in hosts}:
            return refusal(403, f"requests from {origin} may not use the sandbox")
        if request.method in WRITES and request.body_exists and request.content_type != "application/json":
            return refusal(415, "the body must be application/json")
        if key is not None and not path.startswith("/sandbox/static/"):
            given = request.headers.get(KEY_HEADER) or request.cookies.get(KEY_COOKIE) or ""
            if path in ("/sandbox", "/sandbox/") and request.query.get("key"):
                return _remember_key(request.query["key"], key)
            if not secrets.compare_digest(given.encode(), key.encode()):
                return refusal(401, "open the /sandbox?key=… URL the sandbox printed, or send X-Sandbox-Key")
        return await handler(request)  # type: ignore[no-any-return]

    return guard


def _remember_key(given: str, key: str) -> web.StreamResponse:  # raises the redirect
    """`/sandbox?key=K`: keep the key in a cookie and drop it from the address bar (and from history)."""
    if not secrets.compare_digest(given.encode(), key.encode()):
        return refusal(401, "that is not this sandbox's key (it changes every run)")
    moved = web.HTTPFound("/sandbox")
    moved.set_cookie(KEY_COOKIE, key, httponly=True, samesite="Strict", path="/")
    raise moved
