"""The managers' JSON API: permissions (and the explainer), settings, the audit log (JSON and CSV), stats.

Same session, CSRF and membership checks as the rest of the API, plus the settings permission:
403 for members the policy does not let change settings (404, as everywhere, for non-members).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import ValidationError

from zilean.db.repos.audit import AuditFilter
from zilean.web.deps import ClientIp, CurrentUser, ServicesDep
from zilean.web.manage.access import ManagerAccess
from zilean.web.manage.forms import PermissionsBody, SettingsBody, field_errors
from zilean.web.manage.service import ManageService, SaveResult, settings_json

router = APIRouter(prefix="/api/servers/{guild_id}", tags=["server managers"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "not logged in"},
    403: {"description": "you may not change this server's settings, or the bot refused, or CSRF"},
    404: {"description": "no such server, or you are not a member"},
    422: {"description": "bad input: `errors` maps each field to its problem"},
    503: {"description": "the bot is offline"},
}
CSV_LIMIT = 100_000
Origin = Annotated[str | None, Query(pattern="^(discord|web|cli)$")]
Snowflake = Annotated[str | None, Query(pattern=r"^\d{1,20}$")]


def audit_filter(
    member: str | None, action: str | None, origin: str | None, since: datetime | None, until: datetime | None
) -> AuditFilter:
    """The filter from query parameters (already validated by FastAPI)."""
    return AuditFilter(
        actor_id=int(member) if member else None,
        action=action or None,
        origin=origin or None,
        since=since,
        until=until,
    )


def parse_cursor(cursor: str | None) -> int | None:
    """The id an audit cursor stands for; 400 for anything else."""
    if not cursor:
        return None
    if not cursor.isdigit():
        raise HTTPException(400, "cursor is not one this API gave out")
    return int(cursor)


def saved(result: SaveResult) -> JSONResponse:
    return JSONResponse(result.json(), status_code=result.status)


@router.get("/permissions", summary="The permission matrix: every role and member rule", responses=ERRORS)
async def permissions(guild: ManagerAccess, services: ServicesDep) -> dict[str, Any]:
    rows = await ManageService(services).matrix(guild.id)
    return {"rules": [row.json() for row in rows], "flags": ["play", "skip", "clear", "settings"]}


@router.put("/permissions", summary="Save rules (rows left out stay as they are)", responses=ERRORS)
async def save_permissions(
    request: Request, guild: ManagerAccess, user: CurrentUser, services: ServicesDep, ip: ClientIp
) -> JSONResponse:
    try:
        body = PermissionsBody.model_validate(await _json(request))
    except ValidationError as exc:
        return saved(SaveResult(errors=field_errors(exc)))
    return saved(await ManageService(services).save_permissions(user, guild.id, body, ip))


@router.get(
    "/permissions/explain", summary="What may this member do, and which rule decided", responses=ERRORS
)
async def explain(
    guild: ManagerAccess, services: ServicesDep, user_id: Annotated[str, Query(pattern=r"^\d{1,20}$")]
) -> dict[str, Any]:
    member = await services.db.directory.member(guild.id, int(user_id))
    if member is None:
        raise HTTPException(404, "That member is not on this server.")
    rows = await ManageService(services).explain(guild.id, member)
    return {"user_id": user_id, "name": member.display_name, "actions": rows}


@router.get("/settings", summary="This server's settings", responses=ERRORS)
async def get_settings(guild: ManagerAccess, services: ServicesDep) -> dict[str, Any]:
    return settings_json(await services.db.guild_settings.get(guild.id))


@router.put("/settings", summary="Save settings (through the bot, which checks them again)", responses=ERRORS)
async def put_settings(
    request: Request, guild: ManagerAccess, user: CurrentUser, services: ServicesDep, ip: ClientIp
) -> JSONResponse:
    try:
        body = SettingsBody.model_validate(await _json(request))
    except ValidationError as exc:
        return saved(SaveResult(errors=field_errors(exc)))
    return saved(await ManageService(services).save_settings(user, guild.id, body, ip))


@router.get("/audit", summary="The audit log, newest first (keyset pages)", responses=ERRORS)
async def audit(
    guild: ManagerAccess,
    services: ServicesDep,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
    member: Snowflake = None,
    action: Annotated[str | None, Query(max_length=48)] = None,
    origin: Origin = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    where = audit_filter(member, action, origin, since, until)
    rows, next_cursor = await ManageService(services).audit_page(guild.id, where, parse_cursor(cursor), limit)
    return {"entries": rows, "next_cursor": str(next_cursor) if next_cursor else None}


@router.get("/audit.csv", summary="The audit log as CSV (same filters)", responses=ERRORS)
async def audit_csv(
    guild: ManagerAccess,
    services: ServicesDep,
    member: Snowflake = None,
    action: Annotated[str | None, Query(max_length=48)] = None,
    origin: Origin = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> StreamingResponse:
    where = audit_filter(member, action, origin, since, until)
    manage = ManageService(services)

    async def rows() -> Any:
        yield _csv_line(["id", "at", "actor_id", "actor", "origin", "action", "detail"])
        cursor, sent = None, 0
        while sent < CSV_LIMIT:
            page, cursor = await manage.audit_page(guild.id, where, cursor, 500)
            for e in page:
                detail = json.dumps(e["detail"], ensure_ascii=False, sort_keys=True)
                yield _csv_line(
                    [e["id"], e["at"], e["actor_id"] or "", e["actor_name"], e["origin"], e["action"], detail]
                )
            sent += len(page)
            if cursor is None:
                break

    headers = {
        "Content-Disposition": f'attachment; filename="audit-{guild.id}.csv"',
        "Cache-Control": "no-store",
    }
    return StreamingResponse(rows(), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/stats", summary="Top tracks, top requesters, hours per week", responses=ERRORS)
async def stats(guild: ManagerAccess, services: ServicesDep) -> dict[str, Any]:
    return await ManageService(services).stats(guild.id)


def _csv_line(values: list[Any]) -> str:
    out = io.StringIO()
    # A leading = + - @ would be a formula in a spreadsheet: quote it away.
    csv.writer(out).writerow([_inert(str(v)) for v in values])
    return out.getvalue()


def _inert(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise HTTPException(400, "the body must be JSON") from None


__all__ = ["router"]
