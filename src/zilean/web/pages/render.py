"""The dashboard's Jinja2 environment: one template per fragment, shared by pages, htmx swaps and SSE."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

WEB_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
STATIC_PREFIX = "/static/"


def duration(ms: int | None) -> str:
    """Milliseconds as M:SS or H:MM:SS (what the player and queue show)."""
    if ms is None:
        return ""
    seconds = max(0, int(ms) // 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@lru_cache(maxsize=64)
def _fingerprint(name: str) -> str:
    # Read once per process: a changed file gets a new URL, so it can be cached for a long time.
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:10]


def static_url(name: str) -> str:
    """The URL of a static file, with a content hash so browsers never keep a stale copy."""
    return f"{STATIC_PREFIX}{name}?v={_fingerprint(name)}"


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The one Environment of the process (templates are compiled once)."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(("html",), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["duration"] = duration
    env.globals["static_url"] = static_url
    return env


def render(name: str, context: dict[str, Any]) -> str:
    """Render a template (a page or a fragment) to a string."""
    return environment().get_template(name).render(context)
