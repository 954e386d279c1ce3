"""CSRF protection for every state-changing request (POST, PUT, PATCH, DELETE), app-wide.

Two checks, both must pass (OWASP ASVS 5.0 §3.5):
1. Origin: when the browser sends `Origin` (all current browsers do on POST), it must be WEB_BASE_URL's
   origin. A cross-site form or fetch is refused even before its session is looked up.
2. Token: with a session, the request carries the session's CSRF token in the `X-CSRF-Token` header
   (htmx: `hx-headers`) or a `csrf_token` form field (plain forms). Pages get the token as
   `csrf_token` in every template: `<meta name="csrf-token" content="{{ csrf_token }}">`.

A request without a session passes the token check (there is nothing to forge; the route's own
CurrentUser then answers 401). Failures answer 403 with a message.
"""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request

from zilean.web.context import web_context
from zilean.web.deps import session_user

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
HEADER = "x-csrf-token"
FORM_FIELD = "csrf_token"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class CsrfError(HTTPException):
    """403: the request failed the CSRF checks."""

    def __init__(self, detail: str) -> None:
        super().__init__(403, detail)


async def csrf_guard(request: Request) -> None:
    """The app-wide dependency: refuse a state-changing request that fails the Origin or token check."""
    if request.method in SAFE_METHODS:
        return
    origin = request.headers.get("origin")
    if origin is not None and origin.rstrip("/") != web_context(request).origin:
        raise CsrfError("This request came from another site (Origin mismatch); it was refused.")
    user = await session_user(request)
    if user is None:
        return
    sent = request.headers.get(HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(FORM_TYPES):
        form = await request.form()  # cached: the route reads the same parsed form
        field = form.get(FORM_FIELD)
        sent = field if isinstance(field, str) else None
    if not sent or not hmac.compare_digest(sent.encode(), user.csrf_token.encode()):
        raise CsrfError(
            "The security token of this page is missing or out of date; reload the page and retry."
        )
