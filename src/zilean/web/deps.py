"""FastAPI dependencies as `Annotated` aliases: what a route needs, declared in its signature.

    @router.get("/guilds/{guild_id}")
    async def player(guild: GuildAccess, user: CurrentUser, services: ServicesDep): ...

- `Ctx`: the app's WebContext.  `ServicesDep`: the shared service layer (web/services.py).
- `OptionalUser`: the logged-in SessionUser or None.  `CurrentUser`: the SessionUser, else
  NotLoggedIn (API: 401 JSON; pages: a redirect to /login?next=…).
- `GuildAccess`: resolves the `{guild_id}` path parameter into a `GuildAccessView` — the guild as
  the bot publishes it plus the user's member record — only while the bot's live view says the user
  is a member; otherwise 404 (the same for "no such guild", so ids don't leak).
- `ClientIp`: the client's address (uvicorn applies X-Forwarded-For from WEB_FORWARDED_ALLOW_IPS).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Request

from zilean.web.context import WebContext, web_context
from zilean.web.services import Services
from zilean.web.sessions import SessionUser

NOT_FOUND = "No such server, or you are not a member of it."


class NotLoggedIn(Exception):
    """The request needs a session and has none (answered 401 or with a redirect to /login)."""


@dataclass(frozen=True, slots=True)
class GuildAccessView:
    """A guild the current user may see: its directory record and the user's member record."""

    id: int
    info: Any  # zilean.db.records.GuildInfo
    member: Any  # zilean.db.records.MemberInfo

    @property
    def name(self) -> str:
        """The guild's name."""
        return str(self.info.name)


async def session_user(request: Request) -> SessionUser | None:
    """The request's SessionUser, looked up once per request and kept on request.state.user."""
    if not hasattr(request.state, "user"):
        ctx = web_context(request)
        request.state.user = await ctx.sessions.load(ctx.sessions.raw_id(request))
    user: SessionUser | None = request.state.user
    return user


async def current_user(user: Annotated[SessionUser | None, Depends(session_user)]) -> SessionUser:
    """The logged-in user, else NotLoggedIn."""
    if user is None:
        raise NotLoggedIn()
    return user


async def guild_access(
    guild_id: Annotated[str, Path(description="a Discord server id", max_length=20)],
    user: Annotated[SessionUser, Depends(current_user)],
    request: Request,
) -> GuildAccessView:
    """The guild of the path, if the bot's live view has the user as a member; else 404."""
    if not guild_id.isdigit():
        raise HTTPException(404, NOT_FOUND)
    gid = int(guild_id)
    found = await web_context(request).db.directory.membership(gid, user.id)
    if found is None:
        raise HTTPException(404, NOT_FOUND)
    info, member = found
    return GuildAccessView(id=gid, info=info, member=member)


def client_ip(request: Request) -> str:
    """The client's address as uvicorn saw it (after trusted proxy headers)."""
    return request.client.host if request.client else "unknown"


def _context(request: Request) -> WebContext:
    return web_context(request)


def _services(request: Request) -> Services:
    return web_context(request).services


Ctx = Annotated[WebContext, Depends(_context)]
ServicesDep = Annotated[Services, Depends(_services)]
OptionalUser = Annotated[SessionUser | None, Depends(session_user)]
CurrentUser = Annotated[SessionUser, Depends(current_user)]
GuildAccess = Annotated[GuildAccessView, Depends(guild_access)]
ClientIp = Annotated[str, Depends(client_ip)]
