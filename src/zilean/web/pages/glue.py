"""What a page request carries to its templates: the signed-in user, the backend's parts, search.

The access checks themselves are the backend's dependencies (`CurrentUser`, `GuildAccess`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from zilean.core.errors import ZileanError
from zilean.core.sources import Resolver
from zilean.db.bus import Bus
from zilean.db.database import Database
from zilean.web.context import WebContext
from zilean.web.deps import GuildAccessView
from zilean.web.pages import views
from zilean.web.services import Services
from zilean.web.sessions import SessionUser

log = logging.getLogger(__name__)

SEARCH_RESULTS = 5
CDN = "https://cdn.discordapp.com"


def avatar_url(user: SessionUser) -> str | None:
    """The user's Discord avatar (a hash from the login becomes a CDN URL)."""
    avatar = user.avatar
    if not avatar:
        return None
    if avatar.startswith(("http://", "https://")):
        return avatar
    return f"{CDN}/avatars/{user.id}/{avatar}.png?size=64"


@dataclass
class Page:
    """One page request: the web context and the user (None on the start page when logged out)."""

    ctx: WebContext
    user: SessionUser | None

    @property
    def services(self) -> Services:
        return self.ctx.services

    @property
    def db(self) -> Database:
        return self.ctx.db

    @property
    def bus(self) -> Bus:
        return self.ctx.bus

    @property
    def viewer(self) -> views.Viewer:
        assert self.user is not None
        return views.Viewer(self.user.id, self.user.username, avatar_url(self.user), self.user.csrf_token)

    def context(self, **more: Any) -> dict[str, Any]:
        """The base template's context plus `more`."""
        user = None
        if self.user is not None:
            user = {"name": self.user.username, "avatar_url": avatar_url(self.user)}
        csrf = self.user.csrf_token if self.user is not None else ""
        return {"user": user, "csrf_token": csrf, **more}

    def guild(self, access: GuildAccessView) -> dict[str, Any]:
        """The guild as templates use it."""
        return views.guild_view(access.id, access.name, access.info.icon_url)

    async def search(self, query: str) -> dict[str, Any]:
        """The top results for search words or a `local:` query, or the reason there are none."""
        resolver = self.ctx.__dict__.get("page_resolver")
        if resolver is None:
            # The web process's own resolver, built on first use (searches only; the bot resolves
            # what it plays).
            resolver = Resolver(self.ctx.settings.source_options())
            self.ctx.__dict__["page_resolver"] = resolver
            self.ctx.closers.append(resolver.close)
        try:
            return {"picker": await resolver.search(query, SEARCH_RESULTS), "search_error": None}
        except ZileanError as exc:
            return {"picker": [], "search_error": exc.message}
        except Exception:
            log.exception("dashboard search for %r failed", query)
            return {"picker": [], "search_error": "The search failed; try again."}
