"""The managers' HTML pages: /guilds/{id}/permissions, /settings, /audit, /stats, and /mine for everyone.

Plain forms that work without JavaScript: a save posts, goes through the bus and the bot, and redirects
back with the bot's answer; settings with mistakes are shown again with each error next to its field.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from pydantic import ValidationError

from zilean.core.equalizer import Equalizer
from zilean.core.equalizer import summary as eq_summary
from zilean.web.deps import ClientIp, Ctx, CurrentUser, GuildAccess
from zilean.web.manage.access import ManagerAccess, may_manage
from zilean.web.manage.chart import Bar, bar_chart
from zilean.web.manage.forms import (
    PermissionsBody,
    SettingsBody,
    field_errors,
    rules_from_form,
    settings_from_form,
)
from zilean.web.manage.service import ManageService, SaveResult, settings_json
from zilean.web.pages.glue import Page
from zilean.web.pages.render import render
from zilean.web.pages.views import guild_view

FLAG_LABELS = {"play": "Play", "skip": "Skip", "clear": "Clear", "settings": "Settings"}
ORIGINS = ("discord", "web", "cli")
Said = Annotated[str, Query(max_length=2000)]


def _page(ctx: Any, user: Any, access: Any, section: str, **more: Any) -> dict[str, Any]:
    page = Page(ctx, user)
    guild = guild_view(access.id, access.name, access.info.icon_url)
    return page.context(guild=guild, section=section, can_manage=True, **more)


def _back(path: str, result: SaveResult) -> RedirectResponse:
    query = urlencode({"said": result.message, **({} if result.ok else {"error": "1"})})
    return RedirectResponse(f"{path}?{query}", status_code=303)


def _one_day() -> timedelta:
    return timedelta(days=1)


def manage_router() -> APIRouter:
    """The managers' HTML routes."""
    router = APIRouter(include_in_schema=False)

    @router.get("/guilds/{guild_id}/permissions", response_class=HTMLResponse)
    async def permissions(
        ctx: Ctx,
        user: CurrentUser,
        guild: ManagerAccess,
        member: Annotated[str, Query(max_length=20)] = "",
        q: Annotated[str, Query(max_length=100)] = "",
        add_user: Annotated[str, Query(max_length=20)] = "",
        said: Said = "",
        error: str = "",
    ) -> HTMLResponse:
        manage = ManageService(ctx.services)
        extra = int(add_user) if add_user.isdigit() else None
        rows = await manage.matrix(guild.id, extra)
        found = await ctx.db.directory.search_members(guild.id, q, 25) if q.strip() else []
        explained, chosen = None, None
        if member.isdigit():
            chosen = await ctx.db.directory.member(guild.id, int(member))
            if chosen is not None:
                explained = await manage.explain(guild.id, chosen)
        context = _page(
            ctx, user, guild.guild, "permissions",
            rows=rows, flags=FLAG_LABELS, found=found, q=q, chosen=chosen, explained=explained,
            flash=said, flash_error=bool(error),
        )  # fmt: skip
        return HTMLResponse(render("manage/permissions.html", context))

    @router.post("/guilds/{guild_id}/permissions")
    async def save_permissions(
        request: Request, ctx: Ctx, user: CurrentUser, guild: ManagerAccess, ip: ClientIp
    ) -> Response:
        form = dict(await request.form())
        try:
            body = PermissionsBody.model_validate({"rules": rules_from_form(form)})
        except ValidationError as exc:
            return _back(f"/guilds/{guild.id}/permissions", SaveResult(errors=field_errors(exc)))
        result = await ManageService(ctx.services).save_permissions(user, guild.id, body, ip)
        return _back(f"/guilds/{guild.id}/permissions", result)

    async def settings_page(
        ctx: Any, user: Any, guild: Any, values: dict[str, Any], errors: dict[str, str], **more: Any
    ) -> dict[str, Any]:
        roles = [r for r in await ctx.db.directory.roles(guild.id) if r.role_id != guild.id]
        channels = await ctx.db.directory.channels(guild.id, "text")
        eq = Equalizer.from_mapping((await ctx.db.guild_settings.get(guild.id)).eq)  # shown, changed by /eq
        return _page(
            ctx, user, guild.guild, "settings",
            values=values, errors=errors, roles=sorted(roles, key=lambda r: -r.position), channels=channels,
            default_prefix=ctx.settings.command_prefix, equalizer=eq_summary(eq), **more,
        )  # fmt: skip

    @router.get("/guilds/{guild_id}/settings", response_class=HTMLResponse)
    async def settings(
        ctx: Ctx, user: CurrentUser, guild: ManagerAccess, said: Said = "", error: str = ""
    ) -> HTMLResponse:
        values = settings_json(await ctx.db.guild_settings.get(guild.id))
        context = await settings_page(ctx, user, guild, values, {}, flash=said, flash_error=bool(error))
        return HTMLResponse(render("manage/settings.html", context))

    @router.post("/guilds/{guild_id}/settings")
    async def save_settings(
        request: Request, ctx: Ctx, user: CurrentUser, guild: ManagerAccess, ip: ClientIp
    ) -> Response:
        raw = settings_from_form(dict(await request.form()))
        result = SaveResult()
        try:
            body = SettingsBody.model_validate(raw)
        except ValidationError as exc:
            result.errors = field_errors(exc)
        else:
            result = await ManageService(ctx.services).save_settings(user, guild.id, body, ip)
        if result.errors:
            context = await settings_page(
                ctx, user, guild, raw, result.errors, flash=result.message, flash_error=True
            )
            return HTMLResponse(render("manage/settings.html", context), status_code=422)
        return _back(f"/guilds/{guild.id}/settings", result)

    @router.get("/guilds/{guild_id}/audit", response_class=HTMLResponse)
    async def audit(
        ctx: Ctx,
        user: CurrentUser,
        guild: ManagerAccess,
        member: Annotated[str, Query(max_length=20)] = "",
        action: Annotated[str, Query(max_length=48)] = "",
        origin: Annotated[str, Query(max_length=8)] = "",
        since: Annotated[str, Query(max_length=10)] = "",
        until: Annotated[str, Query(max_length=10)] = "",
        cursor: Annotated[str, Query(max_length=20)] = "",
    ) -> HTMLResponse:
        from zilean.db.repos.audit import AuditFilter

        actor_id = int(member) if member.isdigit() else None
        if member.strip() and actor_id is None:  # a name: the best match in the bot's member list
            matches = await ctx.db.directory.search_members(guild.id, member.strip(), 1)
            actor_id = matches[0].user_id if matches else 0  # 0: nobody, so nothing matches
        where = AuditFilter(
            actor_id=actor_id,
            action=action.strip() or None,
            origin=origin if origin in ORIGINS else None,
            since=_start_of(since),
            until=_end_of(until),
        )
        rows, next_cursor = await ManageService(ctx.services).audit_page(
            guild.id, where, int(cursor) if cursor.isdigit() else None
        )
        filters = {"member": member, "action": action, "origin": origin, "since": since, "until": until}
        kept = {k: v for k, v in filters.items() if v}
        context = _page(
            ctx, user, guild.guild, "audit",
            rows=rows, filters=filters, origins=ORIGINS,
            next_url=f"?{urlencode({**kept, 'cursor': next_cursor})}" if next_cursor else None,
            first_url=f"?{urlencode(kept)}" if cursor else None,
            csv_url=f"/api/servers/{guild.id}/audit.csv?{urlencode(_api_filters(kept))}",
        )  # fmt: skip
        return HTMLResponse(render("manage/audit.html", context))

    @router.get("/guilds/{guild_id}/stats", response_class=HTMLResponse)
    async def stats(ctx: Ctx, user: CurrentUser, guild: ManagerAccess) -> HTMLResponse:
        data = await ManageService(ctx.services).stats(guild.id)
        bars = [
            Bar(
                w["week_start"][5:],
                w["hours"],
                f"Week of {w['week_start']}: {w['hours']} h, {w['plays']} tracks",
            )
            for w in data["weeks"]
        ]
        # bar_chart escapes every text it writes
        chart = Markup(bar_chart(bars, "Hours of music per week, last 12 weeks"))
        context = _page(ctx, user, guild.guild, "stats", stats=data, chart=chart)
        return HTMLResponse(render("manage/stats.html", context))

    @router.get("/guilds/{guild_id}/mine", response_class=HTMLResponse)
    async def mine(ctx: Ctx, user: CurrentUser, access: GuildAccess) -> HTMLResponse:
        entries = await ctx.db.stats.requested_by(access.id, user.id, 50)
        page = Page(ctx, user)
        allowed = (await may_manage(ctx.db, access.id, access.member)).allowed
        context = page.context(
            guild=guild_view(access.id, access.name, access.info.icon_url),
            section="mine",
            can_manage=allowed,
            history=[{"title": e.track.title, "url": e.track.url, "duration_ms": e.track.duration_ms,
                      "played_at": e.played_at} for e in entries],
        )  # fmt: skip
        return HTMLResponse(render("manage/mine.html", context))

    return router


def _start_of(text: str) -> datetime | None:
    try:
        return datetime.combine(datetime.strptime(text, "%Y-%m-%d").date(), time(0), tzinfo=UTC)
    except ValueError:
        return None


def _end_of(text: str) -> datetime | None:
    start = _start_of(text)
    return None if start is None else start + _one_day()


def _api_filters(kept: dict[str, str]) -> dict[str, str]:
    """The page's filters as the API's query (dates become ISO times)."""
    out = {k: v for k, v in kept.items() if k in ("member", "action", "origin")}
    if "since" in kept and (start := _start_of(kept["since"])):
        out["since"] = start.isoformat()
    if "until" in kept and (end := _end_of(kept["until"])):
        out["until"] = end.isoformat()
    return out
