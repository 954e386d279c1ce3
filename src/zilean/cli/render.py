"""`zilean render`: run the exact playback pipeline (effects, volume, seeking) into a 48 kHz stereo WAV."""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
from urllib.parse import urlsplit

from zilean.config import Settings
from zilean.core.effects import resolve
from zilean.core.errors import ZileanError
from zilean.core.media import MediaInput
from zilean.core.pipeline import MAX_VOLUME_PERCENT, PlaybackSpec, ffmpeg_argv

RENDER_TIMEOUT_S = 600


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "render",
        help="play a file or URL through the playback pipeline into a WAV (preview effects)",
        description="Run the exact playback pipeline (effects, volume, start) into a 48 kHz stereo WAV.",
    )
    parser.add_argument("input", metavar="INPUT", help="a local audio file or an http(s) URL")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.wav", help="the WAV file to write")
    parser.add_argument(
        "--effect",
        action="append",
        default=[],
        metavar="NAME",
        help="an effect to apply (repeat to stack; see `zilean effects`)",
    )
    parser.add_argument("--volume", type=int, default=100, metavar="N", help="volume 0-200 %% (default 100)")
    parser.add_argument(
        "--start", type=float, default=0.0, metavar="SEC", help="start this far into the input"
    )
    parser.add_argument(
        "--duration", type=float, default=None, metavar="SEC", help="stop after this many seconds of output"
    )
    parser.set_defaults(func=_render)


def _render(args: argparse.Namespace, settings: Settings | None) -> int:
    assert settings is not None
    if not 0 <= args.volume <= MAX_VOLUME_PERCENT:
        raise ZileanError(f"--volume must be between 0 and {MAX_VOLUME_PERCENT}")
    if args.start < 0:
        raise ZileanError("--start cannot be negative")
    if args.duration is not None and args.duration <= 0:
        raise ZileanError("--duration must be positive")
    names = [part for value in args.effect for part in value.split(",") if part.strip()]
    effects = tuple(effect.name for effect in resolve(names))
    media = _media_for(args.input, settings)
    spec = PlaybackSpec(media, effects, args.volume, round(args.start * 1000))
    duration_ms = None if args.duration is None else round(args.duration * 1000)
    argv = ffmpeg_argv(
        settings.ffmpeg_executable(), spec, output="wav", destination=args.output, duration_ms=duration_ms
    )
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=RENDER_TIMEOUT_S, check=False)
    except FileNotFoundError:
        raise ZileanError(f"ffmpeg not found at {argv[0]} (set FFMPEG_PATH)") from None
    except subprocess.TimeoutExpired:
        raise ZileanError(f"rendering took longer than {RENDER_TIMEOUT_S} s; gave up") from None
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise ZileanError(f"ffmpeg could not render {args.input}: {lines[-1] if lines else 'no message'}")
    shown = ", ".join(effects) or "none"
    print(f"wrote {args.output} (48 kHz stereo WAV; effects: {shown}; volume {args.volume} %)")
    return 0


def _media_for(text: str, settings: Settings) -> MediaInput:
    """A URL goes through the network guard; anything else is a local file the operator named."""
    scheme = urlsplit(text).scheme.lower()
    if scheme in ("http", "https"):
        return asyncio.run(_guarded(text, settings))
    if len(scheme) > 1 and "://" in text:
        raise ZileanError(f"only local files and http(s) URLs can be rendered, not {scheme}: links")
    path = os.path.abspath(text)
    if not os.path.isfile(path):
        raise ZileanError(f"no such file: {text}")
    return MediaInput(path, is_local_file=True)


async def _guarded(url: str, settings: Settings) -> MediaInput:
    # Imported here: the HTTP stack is only needed for URLs, and `zilean --help` should stay quick.
    from zilean.core.sources.netguard import NetGuard
    from zilean.core.sources.streams import media_input_for

    guard = NetGuard(settings.trusted_media_origins)
    async with guard.client() as client:
        return await media_input_for(guard, client, url)
