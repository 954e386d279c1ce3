"""One error translator for the dashboard: JSON `{"error": …}` for the API, a page with a way back for people.

Routes raise HTTPException (or NotLoggedIn); nothing user-facing ever shows a traceback. The page
uses the `error.html` template (variables: status, title, message, retry_url, retry_label) when it
exists and a built-in one otherwise.
"""

from __future__ import annotations

import html
import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from jinja2 import TemplateNotFound
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from zilean.web.context import web_context
from zilean.web.deps import NotLoggedIn

log = logging.getLogger(__name__)

TITLES = {
    400: "That did not work",
    401: "Please log in",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    422: "That did not work",
    429: "Slow down",
    500: "Something went wrong",
    503: "Unavailable",
}


def wants_json(request: Request) -> bool:
    """API and live-event requests get JSON errors; pages get HTML."""
    path = request.url.path
    accept = request.headers.get("accept", "")
    return path.startswith("/api/") or path.endswith("/events") or "application/json" in accept


def error_page(
    request: Request,
    status: int,
    message: str,
    *,
    title: str | None = None,
    retry_url: str | None = None,
    retry_label: str = "Try again",
    headers: dict[str, str] | None = None,
) -> Response:
    """An HTML error page with an optional "try again" link."""
    context: dict[str, Any] = {
        "status": status,
        "title": title or TITLES.get(status, "Error"),
        "message": message,
        "retry_url": retry_url,
        "retry_label": retry_label,
    }
    try:
        return web_context(request).templates.TemplateResponse(
            request, "error.html", context, status_code=status, headers=headers
        )
    except TemplateNotFound:
        pass
    link = f'<p><a href="{html.escape(retry_url)}">{html.escape(retry_label)}</a></p>' if retry_url else ""
    body = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(context['title'])}</title></head><body><main>"
        f"<h1>{html.escape(context['title'])}</h1><p>{html.escape(message)}</p>{link}"
        '<p><a href="/">Home</a></p></main></body></html>'
    )
    return HTMLResponse(body, status_code=status, headers=headers)


def error_json(
    status: int, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """The API's error body."""
    return JSONResponse({"ok": False, "error": message, **extra}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Register the translators on the app."""

    @app.exception_handler(NotLoggedIn)
    async def not_logged_in(request: Request, exc: NotLoggedIn) -> Response:
        if wants_json(request) or request.headers.get("hx-request"):
            return error_json(401, "You are not logged in (or your session ended); log in again.")
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = str(exc.detail) if exc.detail else TITLES.get(exc.status_code, "Error")
        headers = dict(exc.headers or {})
        if wants_json(request):
            return error_json(exc.status_code, message, headers)
        return error_page(request, exc.status_code, message, headers=headers, retry_url=None)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "body"
            problems.append(f"{where}: {error.get('msg')}")
        message = "; ".join(problems) or "invalid request"
        if wants_json(request):
            return error_json(422, message)
        return error_page(request, 422, message)

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> Response:
        log.error("dashboard request %s %s failed", request.method, request.url.path, exc_info=exc)
        message = "The dashboard hit an internal error; it has been logged."
        if wants_json(request):
            return error_json(500, message)
        return error_page(request, 500, message, retry_url=str(request.url.path))


__all__ = ["HTTPException", "error_json", "error_page", "install_error_handlers", "wants_json"]
