"""The checks `zilean doctor` runs on this machine: ffmpeg, yt-dlp, voice libraries, database,
secrets, real-time priority, disk. Each returns Results with the fix in words."""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import IntEnum
from pathlib import Path

from zilean.config import Settings, is_placeholder


class Status(IntEnum):
    ok = 0
    warn = 1
    fail = 2


@dataclass(frozen=True, slots=True)
class Result:
    """One line of the doctor's screen."""

    status: Status
    name: str
    detail: str
    fix: str = ""


def ok(name: str, detail: str) -> Result:
    return Result(Status.ok, name, detail)


def warn(name: str, detail: str, fix: str) -> Result:
    return Result(Status.warn, name, detail, fix)


def fail(name: str, detail: str, fix: str) -> Result:
    return Result(Status.fail, name, detail, fix)


YTDLP_MAX_AGE_DAYS = 60
SECRET_MIN_LENGTH = 32
DISK_WARN_BYTES, DISK_FAIL_BYTES = 1 << 30, 100 << 20


def needed_filters() -> set[str]:
    """Every ffmpeg filter the pipeline and the effects use."""
    from zilean.core.effects import EFFECTS, filter_chain

    names = {"aformat", "volume", "aresample", "anull"}
    for effect in EFFECTS:
        for stage in filter_chain([effect]).split(","):
            if stage:
                names.add(stage.split("=", 1)[0])
    names.discard("anull")
    return names


def _run(argv: list[str]) -> str:
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True).stdout


def check_ffmpeg(settings: Settings) -> Result:
    fix = "set FFMPEG_PATH to an ffmpeg built with libopus, or empty for the one in the imageio-ffmpeg wheel"
    try:
        path = settings.ffmpeg_executable()
        version = _run([path, "-hide_banner", "-version"])
        encoders = _run([path, "-hide_banner", "-encoders"])
        filters = _run([path, "-hide_banner", "-filters"])
    except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
        return fail("ffmpeg", f"cannot run {settings.ffmpeg_path or 'the bundled ffmpeg'}: {exc}", fix)
    first = version.splitlines()[0] if version else "?"
    number = first.split(" version ", 1)[1].split()[0] if " version " in first else "?"
    if not re.search(r"^\s*A\S*\s+libopus\b", encoders, re.MULTILINE):
        return fail("ffmpeg", f"{path} ({number}) has no libopus encoder", fix)
    have = {parts[1] for line in filters.splitlines() if len(parts := line.split()) >= 2}
    missing = sorted(needed_filters() - have)
    if missing:
        return fail("ffmpeg", f"{path} ({number}) lacks the filters {', '.join(missing)}", fix)
    if "--enable-libsoxr" not in version:
        return warn("ffmpeg", f"{path} ({number}) has no libsoxr", "pitch effects resample worse; " + fix)
    return ok("ffmpeg", f"{number} at {path}: libopus, libsoxr and all {len(needed_filters())} filters")


def check_ytdlp(today: date | None = None) -> Result:
    try:
        version = importlib.metadata.version("yt-dlp")
    except importlib.metadata.PackageNotFoundError:
        return fail("yt-dlp", "not installed", "reinstall: .venv/bin/pip install -e .")
    match = re.match(r"(\d{4})\.(\d{1,2})\.(\d{1,2})", version)
    if not match:
        return warn(
            "yt-dlp", f"version {version} carries no date", "upgrade: .venv/bin/pip install -U yt-dlp"
        )
    released = date(*(int(part) for part in match.groups()))
    age = ((today or datetime.now(UTC).date()) - released).days
    if age > YTDLP_MAX_AGE_DAYS:
        return warn(
            "yt-dlp",
            f"{version} is {age} days old; YouTube breaks old releases",
            "upgrade: .venv/bin/pip install -U yt-dlp yt-dlp-ejs",
        )
    return ok("yt-dlp", f"{version} ({age} days old)")


def check_js_runtime(settings: Settings) -> Result:
    """yt-dlp's JavaScript runtime for YouTube and the yt-dlp-ejs scripts it runs (issue #15012 of yt-dlp)."""
    from zilean.core.sources.ytdlp_config import js_runtime_problem, js_runtimes

    fix = 'reinstall: .venv/bin/pip install -e . (brings "yt-dlp[default]" and deno), or set YTDLP_JS_RUNTIME'
    spec = settings.ytdlp_js_runtime
    if problem := js_runtime_problem(spec):
        return fail("JS runtime", problem, fix)
    runtimes = js_runtimes(spec)
    if not runtimes:
        return warn("JS runtime", "disabled (YTDLP_JS_RUNTIME=none): YouTube formats will go missing", fix)
    try:
        ejs = importlib.metadata.version("yt-dlp-ejs")
    except importlib.metadata.PackageNotFoundError:
        return fail("JS runtime", "yt-dlp-ejs is not installed: YouTube's challenges go unsolved", fix)
    ((name, config),) = runtimes.items()
    path = config.get("path") or shutil.which(name)
    if not path:
        return fail("JS runtime", f"{name} is neither bundled nor on PATH", fix)
    try:
        done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=15, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return fail("JS runtime", f"{path} does not run ({exc})", fix)
    version = (done.stdout.strip().splitlines() or ["?"])[0]
    return ok("JS runtime", f"{version} at {path}, yt-dlp-ejs {ejs}")


def check_voice_libraries() -> Result:
    found, missing = [], []
    for distribution in ("davey", "PyNaCl"):
        try:
            found.append(f"{distribution} {importlib.metadata.version(distribution)}")
        except importlib.metadata.PackageNotFoundError:
            missing.append(distribution)
    if missing:
        return fail(
            "voice",
            f"{', '.join(missing)} missing: Discord refuses voice without DAVE encryption",
            'reinstall with the voice extra: .venv/bin/pip install "discord.py[voice]"',
        )
    return ok("voice", " and ".join(found) + " (DAVE end-to-end encryption)")


async def check_database(settings: Settings) -> Result:
    from zilean.db import DatabaseError, head_revision
    from zilean.db.engine import create_engine, display_url, ping
    from zilean.db.migrate import current_on

    try:
        engine = create_engine(settings.database_url)
    except DatabaseError as exc:
        return fail("database", exc.message, "fix DATABASE_URL")
    where = display_url(engine.url)
    try:
        await ping(engine)
        at = await current_on(engine)
    except DatabaseError as exc:
        return fail("database", exc.message, "start the database or fix DATABASE_URL")
    finally:
        await engine.dispose()
    head = head_revision()
    if at == head:
        return ok("database", f"{where} reachable, schema at {head} (head)")
    detail = f"{where} is at schema revision {at or 'none'}, this version needs {head}"
    if settings.auto_migrate:
        return warn(
            "database", detail, "it is migrated at the next start (AUTO_MIGRATE), or run `zilean db upgrade`"
        )
    return fail("database", detail, "run `zilean db upgrade` (AUTO_MIGRATE is off)")


def check_secret_key(settings: Settings) -> Result:
    fix = "generate one: python -c 'import secrets; print(secrets.token_urlsafe(48))' and set SECRET_KEY"
    severity = fail if settings.is_production else warn
    if settings.secret_key is None or not settings.secret_key.get_secret_value():
        return severity("SECRET_KEY", "not set: dashboard sessions cannot be signed safely", fix)
    if is_placeholder(settings.secret_key):
        return severity("SECRET_KEY", "still the placeholder from .env.example", fix)
    raw = settings.secret_key.get_secret_value()
    if len(raw) < SECRET_MIN_LENGTH or len(set(raw)) < 12:
        return severity("SECRET_KEY", f"weak: {len(raw)} characters, {len(set(raw))} distinct", fix)
    return ok("SECRET_KEY", f"{len(raw)} characters, {len(set(raw))} distinct")


def check_realtime(settings: Settings) -> Result:
    """Ask for SCHED_FIFO in a throwaway thread, exactly as the audio sender does."""
    name = "real-time priority"
    priority = settings.audio_realtime_priority
    if priority <= 0:
        return ok(name, "not asked for (AUDIO_REALTIME_PRIORITY=0)")
    if not hasattr(os, "SCHED_RESET_ON_FORK"):
        return warn(name, "not available on this system", "none: audio runs at normal priority")
    outcome: list[str] = []

    def attempt() -> None:
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, os.sched_param(priority))
            outcome.append("")
        except OSError as exc:
            outcome.append(exc.strerror or str(exc))

    thread = threading.Thread(target=attempt, name="doctor-realtime")
    thread.start()
    thread.join()
    if outcome and outcome[0] == "":
        return ok(name, f"SCHED_FIFO priority {priority} allowed for the audio sender")
    return warn(
        name,
        f"SCHED_FIFO priority {priority} refused ({outcome[0] if outcome else 'unknown'})",
        f"allow it: systemd LimitRTPRIO={priority}, Docker --cap-add SYS_NICE, or "
        f"`ulimit -r {priority}`; audio plays at normal priority meanwhile",
    )


def _data_dir(settings: Settings) -> Path:
    from zilean.db.engine import parse_url, sqlite_file

    try:
        url = parse_url(settings.database_url)
    except Exception:
        return Path("data")
    database = sqlite_file(url.database) if url.get_backend_name() == "sqlite" else None
    return database.expanduser().resolve().parent if database else Path("data")


def _existing(path: Path) -> Path:
    path = path.expanduser().resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_disk(settings: Settings) -> list[Result]:
    results = []
    for label, folder in (("data folder", _data_dir(settings)), ("log folder", settings.log_dir)):
        usage = shutil.disk_usage(_existing(folder))
        free_gib = usage.free / (1 << 30)
        detail = f"{free_gib:.1f} GiB free for {folder}"
        fix = f"free space on the disk holding {folder} (old logs, backups) or move it"
        if usage.free < DISK_FAIL_BYTES:
            results.append(fail(label, detail, fix))
        elif usage.free < DISK_WARN_BYTES:
            results.append(warn(label, detail, fix))
        else:
            results.append(ok(label, detail))
    return results


async def local_checks(settings: Settings) -> list[Result]:
    """Every check that needs no network."""
    ffmpeg = asyncio.to_thread(check_ffmpeg, settings)
    database = check_database(settings)
    first = await asyncio.gather(ffmpeg, database)
    return [
        first[0],
        check_ytdlp(),
        check_js_runtime(settings),
        check_voice_libraries(),
        first[1],
        check_secret_key(settings),
        check_realtime(settings),
        *check_disk(settings),
    ]
