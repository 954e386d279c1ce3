"""Discord-shaped HTTP responses: exact `Content-Type: application/json` and Discord's error bodies."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

JSON_HEADERS = {"Content-Type": "application/json"}


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """JSON with the exact content type discord.py checks for (aiohttp's helper appends a charset)."""
    return web.Response(
        body=json.dumps(data).encode(), status=status, headers={**JSON_HEADERS, **(headers or {})}
    )


def no_content() -> web.Response:
    return web.Response(status=204)


def discord_error(status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> web.Response:
    """An error body as Discord sends it: {"message", "code"} plus nested "errors" for form errors."""
    body: dict[str, Any] = {"message": message, "code": code}
    if errors:
        body["errors"] = errors
    return json_response(body, status)


class DiscordHTTPError(Exception):
    """Raised inside a handler; the middleware turns it into Discord's error response."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.errors = status, code, message, errors

    def response(self) -> web.Response:
        return discord_error(self.status, self.code, self.message, self.errors)


def form_error(path: str, code: str, message: str) -> DiscordHTTPError:
    """Discord's 400 "Invalid Form Body" (code 50035) for one field, `path` dotted like `embeds.0.title`."""
    errors: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for part in reversed(path.split(".")):
        errors = {part: errors}
    return DiscordHTTPError(400, 50035, "Invalid Form Body", errors)


async def read_json(request: web.Request) -> Any:
    """The request's JSON body, or Discord's 400 code 50109 when it is not JSON."""
    try:
        return await request.json()
    except ValueError:
        raise DiscordHTTPError(400, 50109, "The request body contains invalid JSON.") from None


def unknown(kind: str, code: int) -> DiscordHTTPError:
    return DiscordHTTPError(404, code, f"Unknown {kind}")


UNAUTHORIZED = DiscordHTTPError(401, 0, "401: Unauthorized")
UNKNOWN_CHANNEL = 10003
UNKNOWN_GUILD = 10004
UNKNOWN_MEMBER = 10007
UNKNOWN_MESSAGE = 10008
UNKNOWN_ROLE = 10011
UNKNOWN_USER = 10013
UNKNOWN_WEBHOOK = 10015
UNKNOWN_COMMAND = 10063
UNKNOWN_INTERACTION = 10062
ALREADY_ACKNOWLEDGED = 40060


@web.middleware
async def discord_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """Turns DiscordHTTPError into its response; unknown /api routes get Discord's 404 body."""
    try:
        return await handler(request)  # type: ignore[no-any-return]
    except DiscordHTTPError as exc:
        return exc.response()
    except web.HTTPNotFound:
        if request.path.startswith("/api/"):
            return discord_error(404, 0, "404: Not Found")
        raise
    except web.HTTPMethodNotAllowed:
        if request.path.startswith("/api/"):
            return discord_error(405, 0, "405: Method Not Allowed")
        raise
