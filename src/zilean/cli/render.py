"""`zilean render`: run the exact playback pipeline (effects, volume, seeking) into a 48 kHz stereo WAV."""

from __future__ import annotations

import argparse
import os

from zilean.core.errors import ZileanError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up (see zilean.cli)
if TYPE_CHECKING:
    import subprocess

    from zilean.config import Settings
    from zilean.core.equalizer import Equalizer
    from zilean.core.media import MediaInput
    from zilean.core.pipeline import PlaybackSpec

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
    parser.add_argument(
        "--eq",
        action="append",
        default=[],
        metavar="HZ=DB",
        help="an equalizer band, e.g. --eq 100=6 (repeat or comma-separate; 25 … 16000 Hz, -12 to 12 dB)",
    )
    parser.add_argument(
        "--eq-preset",
        default=None,
        metavar="NAME",
        help="a built-in equalizer preset (flat, bass, rock, pop, vocal, treble); --eq changes its bands",
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
    import asyncio
    from urllib.parse import urlsplit

    from zilean.core.effects import resolve
    from zilean.core.pipeline import MAX_VOLUME_PERCENT

    assert settings is not None
    if not 0 <= args.volume <= MAX_VOLUME_PERCENT:
        raise ZileanError(f"--volume must be between 0 and {MAX_VOLUME_PERCENT}")
    if args.start < 0:
        raise ZileanError("--start cannot be negative")
    if args.duration is not None and args.duration <= 0:
        raise ZileanError("--duration must be positive")
    names = [part for value in args.effect for part in value.split(",") if part.strip()]
    effects = tuple(effect.name for effect in resolve(names))
    eq = _equalizer(args.eq_preset, args.eq)
    duration_ms = None if args.duration is None else round(args.duration * 1000)
    start_ms = round(args.start * 1000)
    if urlsplit(args.input).scheme.lower() not in ("http", "https"):
        _local_file(args.input)  # a bad path is refused before anything starts
    done = asyncio.run(
        _run(args.input, args.output, settings, effects, args.volume, start_ms, duration_ms, eq)
    )
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ZileanError(f"ffmpeg could not render {args.input}: {lines[-1] if lines else 'no message'}")
    shown = ", ".join(effects) or "none"
    bands = ", ".join(f"{hz} Hz {db:+g} dB" for hz, db in eq.to_mapping().items()) or "flat"
    print(f"wrote {args.output} (48 kHz stereo WAV; effects: {shown}; EQ: {bands}; volume {args.volume} %)")
    return 0


def _equalizer(preset: str | None, assignments: list[str]) -> Equalizer:
    """The equalizer of --eq-preset and --eq (an unknown band or preset names the valid ones)."""
    from zilean.core.equalizer import FLAT, PRESETS, EqualizerError, parse_assignment

    eq = FLAT
    if preset is not None:
        if preset.strip().lower() not in PRESETS:
            raise EqualizerError(f"--eq-preset: no preset {preset[:40]!r}; presets: {', '.join(PRESETS)}")
        eq = PRESETS[preset.strip().lower()]
    for value in assignments:
        for part in value.split(","):
            if part.strip():
                hz, db = parse_assignment(part)
                eq = eq.with_band(hz, db)
    return eq


async def _run(
    text: str,
    output: str,
    settings: Settings,
    effects: tuple[str, ...],
    volume: int,
    start_ms: int,
    duration_ms: int | None,
    eq: Equalizer,
) -> subprocess.CompletedProcess[bytes]:
    """Render with ffmpeg; a URL is read through the network guard and the egress proxy, as the bot does."""
    from urllib.parse import urlsplit

    from zilean.core.pipeline import PlaybackSpec

    if urlsplit(text).scheme.lower() in ("http", "https"):
        # Imported here: the HTTP stack is only needed for URLs, and `zilean --help` should stay quick.
        from zilean.core.sources.egress import EgressProxy
        from zilean.core.sources.netguard import NetGuard
        from zilean.core.sources.streams import media_input_for

        guard = NetGuard(settings.trusted_media_origins)
        async with guard.client() as client:
            egress = EgressProxy(guard, client, stream_limit_s=settings.stream_limit_minutes * 60)
            try:
                media = await media_input_for(guard, client, egress, text)
                return await _ffmpeg(
                    settings, PlaybackSpec(media, effects, volume, start_ms, eq), output, duration_ms
                )
            finally:
                await egress.close()
    spec = PlaybackSpec(_local_file(text), effects, volume, start_ms, eq)
    return await _ffmpeg(settings, spec, output, duration_ms)


def _local_file(text: str) -> MediaInput:
    """Anything but an http(s) URL is a local file the operator named."""
    from urllib.parse import urlsplit

    from zilean.core.media import MediaInput

    scheme = urlsplit(text).scheme.lower()
    if len(scheme) > 1 and "://" in text:
        raise ZileanError(f"only local files and http(s) URLs can be rendered, not {scheme}: links")
    path = os.path.abspath(text)
    if not os.path.isfile(path):
        raise ZileanError(f"no such file: {text}")
    return MediaInput(path, is_local_file=True)


async def _ffmpeg(
    settings: Settings, spec: PlaybackSpec, output: str, duration_ms: int | None
) -> subprocess.CompletedProcess[bytes]:
    import asyncio
    import subprocess

    from zilean.core.pipeline import ffmpeg_argv, ffmpeg_env

    argv = ffmpeg_argv(
        settings.ffmpeg_executable(), spec, output="wav", destination=output, duration_ms=duration_ms
    )
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=ffmpeg_env(spec.media),
        )
    except FileNotFoundError:
        raise ZileanError(f"ffmpeg not found at {argv[0]} (set FFMPEG_PATH)") from None
    try:
        async with asyncio.timeout(RENDER_TIMEOUT_S):
            stdout, stderr = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise ZileanError(f"rendering took longer than {RENDER_TIMEOUT_S} s; gave up") from None
    assert process.returncode is not None
    return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)
