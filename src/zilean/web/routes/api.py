"""The JSON API (roadmap 4.4): the user's servers, a guild's status and queue, and every control.

Same session, CSRF and access checks as the pages. Discord ids are strings. Errors are
`{"ok": false, "error": "…"}`: 400/422 bad input, 401 no session, 403 refused by the bot (its own
words) or CSRF, 404 not a member or no such server, 429 with Retry-After, 503 the bot is offline.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse

from zilean.web.actions import (
    Body,
    EffectsBody,
    LoopBody,
    MoveBody,
    NoBody,
    PlayBody,
    RemoveBody,
    SeekBody,
    SkipBody,
    VolumeBody,
)
from zilean.web.deps import ClientIp, CurrentUser, GuildAccess, ServicesDep
from zilean.web.services import DEFAULT_PAGE, MAX_PAGE
from zilean.web.views import ActionResult

router = APIRouter(prefix="/api", tags=["api"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "not logged in"},
    403: {"description": "refused by the bot's checks, or the CSRF check failed"},
    404: {"description": "no such server, or you are not a member"},
    422: {"description": "bad input"},
    429: {"description": "rate limited (see Retry-After)"},
    503: {"description": "the bot is offline"},
}


@router.get("/servers", summary="The servers you share with the bot")
async def servers(user: CurrentUser, services: ServicesDep) -> list[dict[str, Any]]:
    return [server.json() for server in await services.servers_for(user)]


@router.get("/servers/{guild_id}/status", summary="Now playing, volume, effects, loop", responses=ERRORS)
async def status(guild: GuildAccess, services: ServicesDep) -> dict[str, Any]:
    return (await services.guild_status(guild.id)).json()


@router.get("/servers/{guild_id}/queue", summary="A page of the queue", responses=ERRORS)
async def queue(
    guild: GuildAccess,
    services: ServicesDep,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
) -> dict[str, Any]:
    try:
        page = await services.queue_page(guild.id, cursor, limit)
    except ValueError:
        raise HTTPException(400, "cursor is not one this API gave out") from None
    return page.json()


@router.get("/servers/{guild_id}/history", summary="Recently played", responses=ERRORS)
async def history(
    guild: GuildAccess, services: ServicesDep, limit: Annotated[int, Query(ge=1, le=100)] = 15
) -> list[dict[str, Any]]:
    return [item.json() for item in await services.history(guild.id, limit)]


def answer(result: ActionResult) -> JSONResponse:
    """An ActionResult as the API's response."""
    headers = {"Retry-After": str(result.retry_after_s)} if result.retry_after_s else None
    return JSONResponse(result.json(), status_code=result.http_status, headers=headers)


async def _act(
    services: ServicesDep, user: CurrentUser, guild: GuildAccess, ip: str, action: str, body: Body | None
) -> JSONResponse:
    return answer(await services.act(user, guild.id, action, body or NoBody(), client_ip=ip))


@router.post("/servers/{guild_id}/play", summary="Queue a link, search or local: query", responses=ERRORS)
async def play(
    body: PlayBody, guild: GuildAccess, user: CurrentUser, services: ServicesDep, ip: ClientIp
) -> JSONResponse:
    return await _act(services, user, guild, ip, "play", body)


@router.post("/servers/{guild_id}/skip", summary="Skip (or skip to a place)", responses=ERRORS)
async def skip(
    guild: GuildAccess, user: CurrentUser, services: ServicesDep, ip: ClientIp, body: SkipBody | None = None
) -> JSONResponse:
    return await _act(services, user, guild, ip, "skip", body or SkipBody())


@router.post("/servers/{guild_id}/volume", summary="Set the volume, 0–200 %", responses=ERRORS)
async def volume(
    body: VolumeBody, guild: GuildAccess, user: CurrentUser, services: ServicesDep, ip: ClientIp
) -> JSONResponse:
    return await _act(services, user, guild, ip, "volume", body)


@router.post("/servers/{guild_id}/effects", summary="Set the whole effect set", responses=ERRORS)
async def effects(
    body: EffectsBody, guild: GuildAccess, user: CurrentUser, services: ServicesDep, ip: ClientIp
) -> JSONResponse:
    return await _act(services, user, guild, ip, "effects", body)


@router.post("/servers/{guild_id}/loop", summary="Loop off, one or queue", responses=ERRORS)
async def loop(
    body: LoopBody, guild: GuildAccess, user: CurrentUser, services: ServicesDep, ip: ClientIp
) -> JSONResponse:
    return await _act(services, user, guild, ip, "loop", body)


@router.post("/servers/{guild_id}/seek", summary="Jump to a position", responses=ERRORS)
async def seek(
    body: SeekBody, guild: GuildAccess, user: CurrentUser, services: ServicesDep, ip: ClientIp
) -> JSONResponse:
    return await _act(services, user, guild, ip, "seek", body)


@router.post("/servers/{guild_id}/move", summary="Move a queue entry to a 1-based place", responses=ERRORS)
async def move(
    body: MoveBody, guild: GuildAccess, user: CurrentUser, services: ServicesDep, ip: ClientIp
) -> JSONResponse:
    return await _act(services, user, guild, ip, "move", body)


@router.post("/servers/{guild_id}/remove", summary="Remove a queue entry", responses=ERRORS)
async def remove(
    body: RemoveBody, guild: GuildAccess, user: CurrentUser, services: ServicesDep, ip: ClientIp
) -> JSONResponse:
    return await _act(services, user, guild, ip, "remove", body)


def _simple(action: str, summary: str) -> None:
    async def control(
        guild: GuildAccess, user: CurrentUser, services: ServicesDep, ip: ClientIp, body: NoBody | None = None
    ) -> JSONResponse:
        return await _act(services, user, guild, ip, action, body)

    control.__name__ = action
    router.add_api_route(
        f"/servers/{{guild_id}}/{action}", control, methods=["POST"], summary=summary, responses=ERRORS
    )


for _action, _summary in (
    ("pause", "Pause"),
    ("resume", "Resume"),
    ("stop", "Stop and clear the queue"),
    ("previous", "Play the previous track again"),
    ("shuffle", "Shuffle the queue"),
    ("clear", "Empty the queue"),
    ("join", "Join the voice channel you are in"),
    ("leave", "Leave the voice channel"),
):
    _simple(_action, _summary)
