"""`zilean doctor` as a real subprocess against the sandbox, with good and broken settings."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from zilean.cli.doctor_checks import Status, check_ytdlp, needed_filters
from zilean.db import upgrade
from zilean.sandbox.gateway import MESSAGE_CONTENT, PRIVILEGED_INTENTS
from zilean.sandbox.server import Sandbox, SandboxConfig

NAMES = ("ffmpeg", "yt-dlp", "JS runtime", "voice", "database", "SECRET_KEY", "real-time", "data folder",
         "log folder", "Discord token", "Message Content", "Server Members", "OAuth redirect", "WEB_BASE_URL",
         "clock")  # fmt: skip
Env = tuple[Sandbox, dict[str, str]]
STRONG_KEY = "kV3q9-Zp1xR7mL2wT8sY4nB6cF0hJ5dG_aQ"


async def doctor(env: dict[str, str], cwd: Path) -> tuple[int, dict[str, str], str]:
    """Exit code, {check name: its line (and fix)}, stderr. Async: the sandbox runs on this loop."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "DATABASE_", "SECRET_"))}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "zilean", "doctor", cwd=cwd, env=base | env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    lines: dict[str, str] = {}
    last = ""
    for line in out.decode().splitlines():
        if line[:1] in "✓⚠✗":
            last = next(name for name in NAMES if line[2:].startswith(name))
            lines[last] = line
        elif last:
            lines[last] += "\n" + line
    assert proc.returncode is not None
    return proc.returncode, lines, err.decode()


@pytest.fixture
async def good_env(tmp_path: Path) -> AsyncIterator[tuple[Sandbox, dict[str, str]]]:
    async with Sandbox(config=SandboxConfig(voice=False)) as sandbox:
        url = f"sqlite+aiosqlite:///{tmp_path / 'zilean.db'}"
        await upgrade(url)
        env = sandbox.bot_env() | {
            "DATABASE_URL": url,
            "SECRET_KEY": STRONG_KEY,
            "WEB_BASE_URL": "http://127.0.0.1:8000",
            "LOG_DIR": str(tmp_path / "logs"),
        }
        yield sandbox, env


async def test_good_settings(good_env: tuple[Sandbox, dict[str, str]], tmp_path: Path) -> None:
    _, env = good_env
    code, lines, _ = await doctor(env, tmp_path)
    for name in ("ffmpeg", "JS runtime", "voice", "database", "SECRET_KEY", "Discord token",
                 "Message Content", "Server Members", "OAuth redirect", "clock", "data folder",
                 "log folder"):  # fmt: skip
        assert lines[name].startswith("✓"), lines.get(name, f"no {name} line: {lines}")
    assert "valid: bot " in lines["Discord token"]
    assert "http://127.0.0.1:8000/callback is registered" in lines["OAuth redirect"]
    assert "libopus" in lines["ffmpeg"]
    # yt-dlp's age and real-time priority depend on this machine: the exit code follows the worst line.
    worst = max({"✓": 0, "⚠": 1, "✗": 2}[line[0]] for line in lines.values())
    assert code == worst


async def test_broken_settings_each_name_their_fix(tmp_path: Path) -> None:
    config = SandboxConfig(voice=False, allowed_privileged_intents=PRIVILEGED_INTENTS & ~MESSAGE_CONTENT,
                           clock_offset_s=600)  # fmt: skip
    async with Sandbox(config=config) as sandbox:
        unmigrated = tmp_path / "old.db"
        env = sandbox.bot_env() | {
            "DATABASE_URL": f"sqlite+aiosqlite:///{unmigrated}",
            "AUTO_MIGRATE": "false",
            "SECRET_KEY": "short",
            "WEB_BASE_URL": "https://music.example.org",
            "FFMPEG_PATH": str(tmp_path / "no-ffmpeg"),
        }
        code, lines, err = await doctor(env, tmp_path)
    assert code == 2
    assert lines["ffmpeg"].startswith("✗") and "FFMPEG_PATH" in lines["ffmpeg"]
    assert lines["database"].startswith("✗") and "zilean db upgrade" in lines["database"]
    assert lines["SECRET_KEY"].startswith("⚠") and "weak: 5 characters" in lines["SECRET_KEY"]
    assert (
        lines["Message Content"].startswith("✗")
        and "turn on Message Content Intent" in lines["Message Content"]
    )
    assert lines["Server Members"].startswith("✓")
    assert lines["OAuth redirect"].startswith("✗")
    assert (
        "https://music.example.org/callback (WEB_BASE_URL + /callback) is not registered"
        in lines["OAuth redirect"]
    )
    assert lines["clock"].startswith("✗") and "behind Discord" in lines["clock"] and "ntp" in lines["clock"]
    assert "errors" in err


async def test_a_rejected_token_and_production_secrets(
    good_env: tuple[Sandbox, dict[str, str]], tmp_path: Path
) -> None:
    _, env = good_env
    code, lines, _ = await doctor(env | {"DISCORD_TOKEN": "not-the-token", "ENVIRONMENT": "production",
                                         "SECRET_KEY": ""}, tmp_path)  # fmt: skip
    assert code == 2
    assert lines["Discord token"].startswith("✗") and "rejected (401" in lines["Discord token"]
    assert "Reset Token" in lines["Discord token"]
    assert lines["SECRET_KEY"].startswith("✗")  # production: a missing secret is an error


async def test_an_unreachable_database(good_env: Env, tmp_path: Path) -> None:
    _, env = good_env
    code, lines, _ = await doctor(env | {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}, tmp_path)
    assert code == 2
    assert lines["database"].startswith("✗") and "127.0.0.1:1" in lines["database"]


async def test_an_ffmpeg_without_libopus_is_refused(
    good_env: tuple[Sandbox, dict[str, str]], tmp_path: Path
) -> None:
    """A real program standing in for an ffmpeg build without libopus: it answers like ffmpeg does."""
    _, env = good_env
    fake = tmp_path / "ffmpeg"
    filters = "\n".join(f" ... {name}  A->A  x" for name in sorted(needed_filters()))
    fake.write_text(
        "#!/bin/sh\n"
        'case "$2" in\n'
        "  -version) echo 'ffmpeg version 4.1-minimal Copyright'; echo 'configuration: --enable-libsoxr';;\n"
        "  -encoders) echo ' A..... aac  AAC';;\n"
        f"  -filters) cat <<'EOF'\n{filters}\nEOF\n;;\n"
        "esac\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    code, lines, _ = await doctor(env | {"FFMPEG_PATH": str(fake)}, tmp_path)
    assert code == 2
    assert lines["ffmpeg"].startswith("✗") and "(4.1-minimal) has no libopus encoder" in lines["ffmpeg"]


def test_ytdlp_age_is_measured_from_its_version_date() -> None:
    from importlib.metadata import version

    released = date(*(int(part) for part in version("yt-dlp").split(".")[:3]))
    assert check_ytdlp(today=released).status is Status.ok
    old = check_ytdlp(today=date.fromordinal(released.toordinal() + 61))
    assert old.status is Status.warn and "61 days old" in old.detail and "pip install -U yt-dlp" in old.fix


def test_the_js_runtime_check_runs_the_bundled_deno(tmp_path: Path) -> None:
    from zilean.cli.doctor_checks import check_js_runtime
    from zilean.config import Settings

    found = check_js_runtime(Settings(_env_file=None))  # type: ignore[call-arg]
    assert found.status is Status.ok and "yt-dlp-ejs" in found.detail and "deno" in found.detail
    disabled = check_js_runtime(Settings(_env_file=None, ytdlp_js_runtime="none"))  # type: ignore[call-arg]
    assert disabled.status is Status.warn and "YouTube formats will go missing" in disabled.detail
    broken = check_js_runtime(Settings(_env_file=None, ytdlp_js_runtime=f"node:{tmp_path}/node"))  # type: ignore[call-arg]
    assert broken.status is Status.fail and "not an executable" in broken.detail
