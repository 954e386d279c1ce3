"""The dashboard's HTML: `/`, `/guilds`, `/guilds/{id}` and the fragments and form posts they use.

Every control is a plain form: with JavaScript off it posts and is redirected back to the page with
the bot's answer shown; with htmx the same form posts in the background and the answer comes back as
a toast (an `HX-Trigger` header), while the page itself changes through the live stream, as every
other open page does. Access: `CurrentUser` (else a redirect to /login) and `GuildAccess` (404 unless
the bot's live view has the user as a member), the backend's dependencies.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from zilean.web.deps import ClientIp, Ctx, CurrentUser, GuildAccess, OptionalUser
from zilean.web.manage.access import may_manage
from zilean.web.pages import live, views
from zilean.web.pages.forms import FormError, body_for
from zilean.web.pages.glue import Page
from zilean.web.pages.render import render
from zilean.web.views import ActionResult

SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
Offset = Annotated[int, Query(ge=0, le=10_000_000)]


def toast_header(message: str, ok: bool) -> dict[str, str]:
    """The HX-Trigger header that makes app.js show a toast (ASCII-escaped: headers are latin-1)."""
    return {"HX-Trigger": json.dumps({"toast": {"message": message, "kind": "ok" if ok else "error"}})}


def is_htmx(request: Request) -> bool:
    """True for a request htmx made (answered with a toast, not a redirect)."""
    return request.headers.get("HX-Request") == "true"


def answer(request: Request, guild_id: int, result: ActionResult) -> Response:
    """A control's answer: a toast for htmx, else a redirect back to the player showing the message."""
    retry = {"Retry-After": str(result.retry_after_s)} if result.retry_after_s else {}
    if is_htmx(request):
        headers = {**toast_header(result.message, result.ok), **retry}
        return Response(status_code=result.http_status, headers=headers)
    query = urlencode({"said": result.message, **({} if result.ok else {"error": "1"})})
    return RedirectResponse(f"/guilds/{guild_id}?{query}", status_code=303, headers=retry)


def page_router() -> APIRouter:
    """The HTML routes (left out of the OpenAPI schema: /docs documents the JSON API)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/", response_class=HTMLResponse)
    async def index(ctx: Ctx, user: OptionalUser) -> HTMLResponse:
        return HTMLResponse(render("index.html", Page(ctx, user).context()))

    @router.get("/guilds", response_class=HTMLResponse)
    async def guilds(ctx: Ctx, user: CurrentUser) -> HTMLResponse:
        page = Page(ctx, user)
        shared = [
            {
                **views.guild_view(s.id, s.name, s.icon_url),
                "playing": s.playing.title if s.playing else None,
                "paused": s.paused,
                "listeners": s.listeners if s.playing else None,
            }
            for s in await page.services.servers_for(user)
        ]
        invitable = [
            {**views.guild_view(s.id, s.name, s.icon_url), "invite_url": s.invite_url}
            for s in await page.services.invitable_servers(user)
        ]
        return HTMLResponse(render("guilds.html", page.context(shared=shared, invitable=invitable)))

    @router.get("/guilds/{guild_id}", response_class=HTMLResponse)
    async def player(
        ctx: Ctx,
        user: CurrentUser,
        access: GuildAccess,
        queue_offset: Offset = 0,
        said: Annotated[str, Query(max_length=500)] = "",
        error: str = "",
        q: Annotated[str, Query(max_length=500)] = "",
    ) -> HTMLResponse:
        started = time.perf_counter()
        page = Page(ctx, user)
        guild = page.guild(access)
        context = await views.player_context(
            page.db,
            page.bus,
            guild,
            page.viewer,
            queue_offset=queue_offset,
        )
        # The managers' links (web/manage) show only to members the policy lets change settings.
        context["can_manage"] = (await may_manage(ctx.db, access.id, access.member)).allowed
        context["section"] = "player"
        context["lyrics_panel"] = bool(ctx.settings.lyrics_api_base.strip())  # web/pages/lyrics.py
        if q:
            context.update(search_query=q, **await page.search(q))
        html = render("player.html", page.context(flash=said, flash_error=bool(error), **context))
        # Reading the state and rendering it (shown in the browser's dev tools; the benchmark reads it)
        timing = {"Server-Timing": f"page;dur={(time.perf_counter() - started) * 1000:.1f}"}
        return HTMLResponse(html, headers=timing)

    @router.get("/guilds/{guild_id}/queue", response_class=HTMLResponse)
    async def queue_rows(
        ctx: Ctx, user: CurrentUser, access: GuildAccess, offset: Offset = 0
    ) -> HTMLResponse:
        page = Page(ctx, user)
        names = views.Names(page.db, access.id)
        context = {
            "guild": page.guild(access),
            "csrf_token": user.csrf_token,
            **await views.queue(page.db, access.id, names, offset),
        }
        return HTMLResponse(render("partials/queue_rows.html", context))

    @router.get("/guilds/{guild_id}/live")
    async def live_stream(
        ctx: Ctx,
        user: CurrentUser,
        access: GuildAccess,
        last_event_id: Annotated[str | None, Header(max_length=20)] = None,
    ) -> StreamingResponse:
        page = Page(ctx, user)
        guild = page.guild(access)
        gid = access.id
        subscription = (await page.bus.follower()).subscribe(gid)

        async def render_kinds(kinds: tuple[str, ...]) -> dict[str, str]:
            context = await views.player_context(
                page.db,
                page.bus,
                guild,
                page.viewer,
                kinds=kinds,
            )
            return {kind: render(f"partials/{kind}.html", context) for kind in kinds}

        async def still_allowed() -> bool:
            return await page.db.directory.member(gid, user.id) is not None

        async def bot_online() -> bool:
            return await page.bus.owner_of(gid) is not None

        resume_from = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0
        body = live.stream(
            subscription,
            render_kinds,
            still_allowed=still_allowed,
            bot_online=bot_online,
            resume=last_event_id is not None,
            last_id=resume_from,
        )
        return StreamingResponse(body, media_type="text/event-stream", headers=SSE_HEADERS)

    @router.post("/guilds/{guild_id}/do/{control}")
    async def control(
        request: Request, ctx: Ctx, user: CurrentUser, access: GuildAccess, ip: ClientIp, control: str
    ) -> Response:
        form = dict(await request.form())
        state = await ctx.db.player_state.load(access.id) if control == "effect" else None
        try:
            action, body = body_for(control, form, state)
        except FormError as exc:
            return answer(request, access.id, ActionResult(False, str(exc), 400))
        result = await ctx.services.act(user, access.id, action, body, client_ip=ip)
        return answer(request, access.id, result)

    @router.post("/guilds/{guild_id}/add", response_class=HTMLResponse)
    async def add(
        request: Request, ctx: Ctx, user: CurrentUser, access: GuildAccess, ip: ClientIp
    ) -> Response:
        query = str((await request.form()).get("q", "")).strip()[:500]
        if not query:
            return answer(request, access.id, ActionResult(False, "Type a link or some search words.", 400))
        if views.is_link(query):
            result = await ctx.services.act(user, access.id, "play", {"query": query}, client_ip=ip)
            return answer(request, access.id, result)
        # Search words or local: → a picker of the top results
        if not is_htmx(request):
            return RedirectResponse(f"/guilds/{access.id}?{urlencode({'q': query})}#add-head", 303)
        page = Page(ctx, user)
        context: dict[str, Any] = {
            "guild": page.guild(access),
            "csrf_token": user.csrf_token,
            "search_query": query,
            **await page.search(query),
        }
        return HTMLResponse(render("partials/picker.html", context))

    return router
