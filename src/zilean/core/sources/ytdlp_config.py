"""What the yt-dlp workers are told beyond the defaults: the JavaScript runtime, cookies and a proxy.

Since yt-dlp 2025.11.12 YouTube's challenges are solved by external JavaScript (yt-dlp issue
#15012): yt-dlp needs a runtime and the `yt-dlp-ejs` scripts, or formats go missing. Both are
installed (`yt-dlp[default]`, the `deno` wheel) and the runtime's path is handed over explicitly,
so yt-dlp does not depend on what happens to be on PATH. The config reaches a worker through its
environment (ENV_NAME), never its command line: `ps` shows command lines to every user.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ENV_NAME = "ZILEAN_YTDLP_CONFIG"
JS_RUNTIMES = ("deno", "node", "bun", "quickjs")  # what yt-dlp supports
COOKIE_HEADERS = ("# Netscape HTTP Cookie File", "# HTTP Cookie File")


@dataclass(frozen=True, slots=True)
class YtDlpConfig:
    """YTDLP_JS_RUNTIME (`deno`, `node:/usr/bin/node`, `none`; empty = the bundled deno),
    YTDLP_COOKIES_FILE (Netscape format), YTDLP_PROXY and YTDLP_EXTRACTOR_ARGS."""

    js_runtime: str | None = None
    cookies_file: str | None = None
    proxy: str | None = None
    extractor_args: str | None = None

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls, environ: dict[str, str] | os._Environ[str] = os.environ) -> YtDlpConfig:
        raw = environ.get(ENV_NAME)
        if not raw:
            return cls()
        values: dict[str, Any] = json.loads(raw)
        keys = ("js_runtime", "cookies_file", "proxy", "extractor_args")
        return cls(**{key: values.get(key) for key in keys})


def bundled_deno() -> str | None:
    """The deno binary of the `deno` wheel, if it is installed."""
    try:
        import deno  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    found = deno.find_deno_bin()
    return str(found) if found else None


def js_runtimes(spec: str | None) -> dict[str, dict[str, str]]:
    """yt-dlp's `js_runtimes` option for a YTDLP_JS_RUNTIME value."""
    if spec and spec.strip().lower() == "none":
        return {}
    if spec and spec.strip():
        name, _, path = spec.strip().partition(":")
        return {name.lower(): {"path": path} if path else {}}
    bundled = bundled_deno()
    return {"deno": {"path": bundled} if bundled else {}}


def extractor_args(spec: str | None) -> dict[str, dict[str, list[str]]]:
    """yt-dlp's `extractor_args` from yt-dlp's own syntax, several separated by spaces:
    `youtube:player_client=default,mweb;po_token=web.gvs+TOKEN youtubetab:skip=webpage`.
    Raises ValueError naming the part it cannot read."""
    parsed: dict[str, dict[str, list[str]]] = {}
    for part in (spec or "").split():
        extractor, colon, pairs = part.partition(":")
        if not colon or not extractor:
            raise ValueError(f"{part!r} is not EXTRACTOR:KEY=VALUE[;KEY=VALUE]")
        for pair in filter(None, pairs.split(";")):
            key, equals, values = pair.partition("=")
            if not equals or not key:
                raise ValueError(f"{pair!r} in {extractor} is not KEY=VALUE[,VALUE]")
            parsed.setdefault(extractor.lower(), {})[key.strip().replace("-", "_")] = values.split(",")
    return parsed


def extractor_args_problem(spec: str | None) -> str | None:
    """Why YTDLP_EXTRACTOR_ARGS cannot be read, or None."""
    try:
        extractor_args(spec)
    except ValueError as exc:
        return f"YTDLP_EXTRACTOR_ARGS: {exc}"
    return None


def js_runtime_problem(spec: str | None) -> str | None:
    """Why a YTDLP_JS_RUNTIME value cannot work, or None."""
    if not spec or spec.strip().lower() == "none":
        return None
    name, _, path = spec.strip().partition(":")
    if name.lower() not in JS_RUNTIMES:
        return f"YTDLP_JS_RUNTIME names {name!r}; yt-dlp supports {', '.join(JS_RUNTIMES)} (or 'none')"
    if path and not os.access(path, os.X_OK):
        return f"YTDLP_JS_RUNTIME: {path} is not an executable file"
    return None


def cookies_problem(path: str | None) -> str | None:
    """Why YTDLP_COOKIES_FILE cannot be used, or None (its contents are never shown)."""
    if not path:
        return None
    file = Path(path)
    try:
        with file.open(encoding="utf-8", errors="replace") as handle:
            first = handle.readline().strip()
    except FileNotFoundError:
        return f"YTDLP_COOKIES_FILE: {path} does not exist"
    except OSError as exc:
        return f"YTDLP_COOKIES_FILE: {path} cannot be read ({exc.strerror})"
    if not first.startswith(COOKIE_HEADERS):
        return (
            f"YTDLP_COOKIES_FILE: {path} is not a Netscape cookies file (its first line must be "
            "'# Netscape HTTP Cookie File'); export one with a browser extension or yt-dlp --cookies"
        )
    return None
