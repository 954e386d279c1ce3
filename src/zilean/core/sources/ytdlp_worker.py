"""The yt-dlp worker process: `python -m zilean.core.sources.ytdlp_worker [--trust HOST:PORT]...`.

Reads one JSON request per line on stdin, answers one JSON line on stdout. It runs yt-dlp here,
never in the bot's process (a CPU-bound Python thread there starves the audio sender). Every
connection yt-dlp makes is checked by a guarded `socket.getaddrinfo`, so redirects and pages that
point inward (an HTML `<video src>` at 127.0.0.1) cannot make it fetch a private address.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import logging
import os
import re
import shutil
import socket
import sys
import tempfile
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from zilean.core.redact import redact_urls
from zilean.core.sources.netguard import address_problem
from zilean.core.sources.ytdlp_config import YtDlpConfig, extractor_args, js_runtimes

log = logging.getLogger("zilean.ytdlp_worker")

GUARD_MARKER = "zilean-guard:"
_GUARD_DETAIL = re.compile(re.escape(GUARD_MARKER) + r"\[([^\]]*)\]")
SEARCH_PREFIX = re.compile(r"^[a-z]+search\d*:", re.IGNORECASE)
_real_getaddrinfo = socket.getaddrinfo
DEFAULT_PROXY_PORTS = {"http": 80, "https": 443, "socks5": 1080, "socks5h": 1080, "socks4": 1080}


def install_socket_guard(trusted: set[tuple[str, int]]) -> None:
    """Make every name lookup in this process refuse non-public answers (trusted host:port excepted)."""

    def guarded_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        results = _real_getaddrinfo(host, port, *args, **kwargs)
        name = host.decode() if isinstance(host, bytes) else str(host or "")
        number = int(port) if str(port or "").isdigit() else 0
        if (name.lower(), number) in trusted:
            return results
        for result in results:
            problem = address_problem(str(result[4][0]))
            if problem:
                raise OSError(f"{GUARD_MARKER}[{problem}]")
        return results

    socket.getaddrinfo = guarded_getaddrinfo


class _QuietLogger:
    """yt-dlp's messages go to our log (stderr), never to the protocol's stdout."""

    def debug(self, message: str) -> None:
        pass

    def info(self, message: str) -> None:
        pass

    def warning(self, message: str) -> None:
        log.debug("yt-dlp: %s", message)

    def error(self, message: str) -> None:
        log.debug("yt-dlp: %s", message)


_settings: dict[str, Any] = {}  # set once by main(): js_runtimes, cookiefile, proxy


def configured_params(config: YtDlpConfig, cookies_copy: str | None = None) -> dict[str, Any]:
    """The options YTDLP_* settings add: the JS runtime (always), cookies and proxy (when set)."""
    params: dict[str, Any] = {"js_runtimes": js_runtimes(config.js_runtime)}
    if cookies_copy:
        params["cookiefile"] = cookies_copy
    if config.proxy:
        params["proxy"] = config.proxy
    if config.extractor_args:
        params["extractor_args"] = extractor_args(config.extractor_args)
    return params


def private_cookies(path: str) -> str:
    """A copy of the cookies file only this worker uses (yt-dlp writes its jar back on exit)."""
    handle, copy = tempfile.mkstemp(prefix="zilean-cookies-", suffix=".txt")
    with os.fdopen(handle, "wb") as out, open(path, "rb") as source:
        shutil.copyfileobj(source, out)
    atexit.register(_remove, copy)
    return copy


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def base_params() -> dict[str, Any]:
    """Options for every extraction: no downloads, no netrc, no exec, no cache, no file URLs."""
    return {
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "skip_download": True,
        "logger": _QuietLogger(),
        "socket_timeout": 10,
        "usenetrc": False,
        "netrc_cmd": None,
        "cookiefile": None,
        "cachedir": False,
        "enable_file_urls": False,
        "noplaylist": True,
        "format": "bestaudio/best",
        "check_formats": False,
        **_settings,
    }


def classify_error(message: str) -> tuple[str, str]:
    """(kind, detail) of a yt-dlp failure; the kind picks the message users see."""
    lowered = message.lower()
    guarded = _GUARD_DETAIL.search(message)
    if guarded:
        return "unsafe", guarded[1]
    # First match wins: age and private before sign-in (yt-dlp appends its "use --cookies" hint to
    # both), rate limits and sign-in walls before the generic "unavailable".
    rules = (
        ("unsupported", ("unsupported url",)),
        ("age", ("confirm your age", "age-restricted", "age restricted", "inappropriate for some users")),
        ("private", ("private video", "this video is private", "is private")),
        ("rate_limited", ("http error 429", "too many requests", "rate-limited", "rate limited")),
        (
            "signin",
            (
                "not a bot",
                "captcha challenge",
                "--cookies-from-browser or --cookies",
                "only available for registered users",
                "sign in to",
                "login required",
            ),
        ),
        (
            "premium",
            ("premium members only", "premium-only", "premium only", "music premium", "youtube premium"),
        ),
        ("region", ("available in your country", "geo restrict", "geo-restrict", "in your region")),
        ("timeout", ("timed out", "timeout")),
        (
            "live",
            ("live event will begin", "premieres in", "event has not started", "has not yet started"),
        ),
        ("unavailable", ("unavailable", "has been removed", "does not exist", "not found", "http error 404")),
        (
            "network",
            (
                "unable to download webpage",
                "failed to resolve",
                "name or service not known",
                "connection refused",
            ),
        ),
    )
    for kind, needles in rules:
        if any(needle in lowered for needle in needles):
            return kind, ""
    return "error", ""


_extractor_classes: list[Any] = []


def first_extractor(url: str) -> str:
    """The key of the first extractor that claims url ("Generic" when only the catch-all does)."""
    from yt_dlp.extractor import gen_extractor_classes

    if not _extractor_classes:
        _extractor_classes.extend(gen_extractor_classes())
    for extractor in _extractor_classes:
        if extractor.suitable(url) and extractor.working():
            return str(extractor.ie_key())
    return "Generic"


def _entry(info: dict[str, Any]) -> dict[str, Any]:
    thumbnail = info.get("thumbnail")
    if not thumbnail and info.get("thumbnails"):
        thumbnail = info["thumbnails"][-1].get("url")
    from yt_dlp.utils import unsmuggle_url

    url, _ = unsmuggle_url(str(info.get("webpage_url") or info.get("url") or ""))
    return {
        "title": info.get("title") or info.get("id") or "",
        "url": url,
        "duration": info.get("duration"),
        "artist": info.get("artist") or info.get("uploader") or info.get("channel"),
        "thumbnail": thumbnail,
        "extractor": info.get("ie_key") or info.get("extractor_key") or "Generic",
    }


class _HeaderLogger(_QuietLogger):
    def __init__(self) -> None:
        self.lines: list[str] = []

    def debug(self, message: str) -> None:
        if not message.startswith("[debug] params:"):  # every option, the cookies file's path too
            self.lines.append(redact_urls(message))  # the proxy map may carry a password


def diagnose() -> dict[str, Any]:
    """yt-dlp's verbose header as this worker is configured (versions, JS runtimes, libraries); no network."""
    import yt_dlp

    logger = _HeaderLogger()
    with yt_dlp.YoutubeDL({**base_params(), "verbose": True, "quiet": False, "logger": logger}):
        pass  # a verbose YoutubeDL prints its header when it is made
    return {"ok": True, "info": {"type": "diagnose", "header": logger.lines}}


def extract(request: dict[str, Any]) -> dict[str, Any]:
    """Run one extraction; the answer holds only the fields the bot uses."""
    import yt_dlp

    if request.get("diagnose"):
        return diagnose()
    url = str(request["url"])
    if not (url.startswith(("http://", "https://")) or SEARCH_PREFIX.match(url)):
        return {"ok": False, "kind": "unsafe", "detail": "a link that is not http(s)"}
    if not request.get("allow_generic") and url.startswith("http") and first_extractor(url) == "Generic":
        return {"ok": True, "info": {"type": "generic"}}
    params = base_params()
    if request.get("flat"):
        params["extract_flat"] = "in_playlist"
        params["playlistend"] = int(request.get("limit", 500)) + 1
    try:
        with yt_dlp.YoutubeDL(params) as ydl:
            info = ydl.extract_info(url, download=False)
    except Exception as exc:  # yt-dlp raises many types; all of them become a safe message
        kind, detail = classify_error(str(exc))
        log.debug("extract %s failed: %s", url, exc)
        return {"ok": False, "kind": kind, "detail": detail}
    if info is None:
        return {"ok": False, "kind": "unavailable", "detail": ""}
    if info.get("_type") == "playlist" or "entries" in info:
        entries = [_entry(entry) for entry in (info.get("entries") or []) if entry]
        return {
            "ok": True,
            "info": {
                "type": "playlist",
                "title": info.get("title") or "Playlist",
                "entries": entries,
                "count": info.get("playlist_count"),
            },
        }
    single = _entry(info)
    single.update(
        type="video",
        stream_url=info.get("url"),
        protocol=info.get("protocol"),
        http_headers=info.get("http_headers") or {},
    )
    return {"ok": True, "info": single}


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """Answer requests until stdin closes."""
    for line in requests:
        try:
            request = json.loads(line)
            answer = extract(request)
            answer["id"] = request.get("id")
        except Exception as exc:  # a malformed request must not kill the worker
            log.exception("worker request failed")
            answer = {"ok": False, "kind": "error", "detail": type(exc).__name__}
        answers.write(json.dumps(answer).encode() + b"\n")
        answers.flush()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trust", action="append", default=[], help="HOST:PORT exempt from the guard")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    trusted = set()
    for item in args.trust:
        host, _, port = item.rpartition(":")
        trusted.add((host.strip("[]").lower(), int(port)))
    config = YtDlpConfig.from_env()
    if config.proxy:  # yt-dlp connects to the proxy, which resolves the sites itself
        parts = urlsplit(config.proxy)
        if parts.hostname:
            trusted.add((parts.hostname.lower(), parts.port or DEFAULT_PROXY_PORTS.get(parts.scheme, 1080)))
    cookies = private_cookies(config.cookies_file) if config.cookies_file else None
    _settings.update(configured_params(config, cookies))
    install_socket_guard(trusted)
    # The protocol owns the real stdout; anything else printing goes to stderr.
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    first_extractor("https://example.com/")  # load yt-dlp's extractor list now, not on the first request

    answers.write(b'{"ready": true}\n')
    answers.flush()
    serve(sys.stdin.buffer, answers)


if __name__ == "__main__":
    main()
