"""GET /login → Discord → GET /callback → a session; POST /logout ends it (and revokes the Discord token).

The `state` sent to Discord is random, single-use, valid LOGIN_TTL, and bound to this browser: the
browser holds a random login cookie and the database keeps only the hashes of both values, so a state
that arrives in another browser, twice, or late is refused. PKCE S256 protects the code on its way.
Each failure is a page that says what happened, with a "try again" link; never a traceback.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from zilean.db.connector import utcnow
from zilean.web.context import WebContext
from zilean.web.crypto import digest, random_token
from zilean.web.deps import ClientIp, Ctx
from zilean.web.errors import error_page, wants_json
from zilean.web.oauth import OAuthFailed, new_verifier

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

LOGIN_TTL = timedelta(minutes=10)
LOGIN_COOKIE = "zilean_login"
SECURE_LOGIN_COOKIE = "__Host-zilean_login"
AFTER_LOGIN = "/guilds"


def login_cookie(ctx: WebContext) -> str:
    """The name of the browser-binding cookie."""
    return SECURE_LOGIN_COOKIE if ctx.https else LOGIN_COOKIE


def safe_next(path: str | None) -> str:
    """A local path to return to after login (anything else, e.g. //evil.example, goes to /guilds)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path or len(path) > 200:
        return AFTER_LOGIN
    return path


def _retry(request: Request, status: int, message: str, title: str = "Login failed") -> Response:
    return error_page(request, status, message, title=title, retry_url="/login", retry_label="Try again")


@router.get("/login")
async def login(
    request: Request,
    ctx: Ctx,
    ip: ClientIp,
    next: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Start a login: remember a fresh state bound to this browser and send it to Discord."""
    wait = await ctx.limiter.hit("login", ip)
    if wait is not None:
        return error_page(
            request,
            429,
            f"Too many logins from your address; try again in {wait} s.",
            title="Slow down",
            retry_url="/login",
            headers={"Retry-After": str(wait)},
        )
    if not ctx.oauth.configured:
        log.error("login attempted but DISCORD_CLIENT_ID / DISCORD_CLIENT_SECRET are not set")
        return error_page(
            request, 503, "Login is not set up: DISCORD_CLIENT_ID and DISCORD_CLIENT_SECRET are missing."
        )
    browser = request.cookies.get(login_cookie(ctx))
    if not browser or len(browser) > 64:
        browser = random_token(128)
    state, verifier = random_token(128), new_verifier()
    await ctx.db.login_states.add(
        digest(state), digest(browser), ctx.cipher.encrypt(verifier), safe_next(next), utcnow() + LOGIN_TTL
    )
    response = RedirectResponse(ctx.oauth.authorization_url(state, verifier), status_code=303)
    response.set_cookie(
        login_cookie(ctx),
        browser,
        max_age=int(LOGIN_TTL.total_seconds()),
        path="/",
        secure=ctx.https,
        httponly=True,
        samesite="lax",
    )
    return response


@router.get("/callback")
async def callback(
    request: Request,
    ctx: Ctx,
    code: Annotated[str | None, Query(max_length=512)] = None,
    state: Annotated[str | None, Query(max_length=512)] = None,
    error: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """Finish a login: check the state, trade the code for tokens, start a fresh session."""
    if not state:
        return _retry(request, 400, "This login link is incomplete (it has no state).")
    pending = await ctx.db.login_states.take(digest(state))  # gone now: a state works once
    if pending is None:
        return _retry(request, 400, "This login link was already used or is not one we made.")
    browser = request.cookies.get(login_cookie(ctx))
    if not browser or digest(browser) != pending.browser_hash:
        return _retry(request, 400, "This login was started in another browser (or its cookie was lost).")
    if pending.expires_at <= utcnow():
        return _retry(request, 400, "This login took longer than 10 minutes.")
    if error:
        title = "Login cancelled" if error == "access_denied" else "Login failed"
        reason = "You did not authorise the dashboard at Discord." if error == "access_denied" else error
        return _retry(request, 400, reason, title)
    verifier = ctx.cipher.decrypt(pending.verifier_enc)
    if not code or verifier is None:
        return _retry(request, 400, "Discord sent no login code back.")
    try:
        tokens = await ctx.oauth.exchange(code, verifier)
        me = await ctx.oauth.user(tokens.access_token)
        try:
            guilds = await ctx.oauth.guilds(tokens.access_token)
        except OAuthFailed as exc:  # the list only feeds "add the bot" links; log in without it
            log.warning("logged in without the server list: %s", exc.message)
            guilds = []
    except OAuthFailed as exc:
        return _retry(request, 502, exc.message)
    old = ctx.sessions.raw_id(request)
    if old:
        await ctx.sessions.end(old)  # a fresh session id at every login
    raw = await ctx.sessions.start(
        int(me["id"]),
        str(me.get("global_name") or me.get("username") or me["id"]),
        me.get("avatar"),
        tokens,
        guilds,
    )
    response = RedirectResponse(safe_next(pending.next_path), status_code=303)
    ctx.sessions.set_cookie(response, raw)
    response.delete_cookie(login_cookie(ctx), path="/", secure=ctx.https, httponly=True, samesite="lax")
    return response


@router.post("/logout")
async def logout(request: Request, ctx: Ctx) -> Response:
    """End the session server side, revoke its Discord token and forget the cookie."""
    ended = await ctx.sessions.end(ctx.sessions.raw_id(request))
    if ended is not None:
        for token in (
            ctx.cipher.decrypt(ended.access_token_enc),
            ctx.cipher.decrypt(ended.refresh_token_enc),
        ):
            if token:
                await ctx.oauth.revoke(token)
        ctx.streams.close_session(ended.id_hash)
    response: Response = (
        JSONResponse({"ok": True, "message": "Logged out."})
        if wants_json(request)
        else RedirectResponse("/", status_code=303)
    )
    ctx.sessions.clear_cookie(response)
    return response
