"""CLI start-up stays quick: what `zilean --help`, `version` and `send` import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from zilean.cli import COMMAND_MODULES, build_parser

HEAVY = (
    "discord",
    "sqlalchemy",
    "fastapi",
    "yt_dlp",
    "numpy",
    "pydantic",
    "alembic",
    "asyncpg",
    "httpx",
    "av",
)


def modules_after(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> set[str]:
    """The modules loaded once `zilean ARGV` has run, in a fresh interpreter."""
    code = (
        "import json, sys\n"
        "from zilean.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('\\n' + json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def heavy_in(modules: set[str]) -> list[str]:
    return sorted(name for name in modules if name.split(".")[0] in HEAVY)


def test_help_imports_nothing_heavy(tmp_path: Path) -> None:
    loaded = modules_after(["--help"], tmp_path)
    assert heavy_in(loaded) == []
    assert "asyncio" not in loaded
    assert set(COMMAND_MODULES) <= loaded  # every command was listed


def test_version_imports_not_even_argparse(tmp_path: Path) -> None:
    loaded = modules_after(["version"], tmp_path)
    assert heavy_in(loaded) == []
    assert {"argparse", "typing", "asyncio"}.isdisjoint(loaded)


@pytest.mark.parametrize("command", ["db", "send", "doctor", "sandbox", "render", "status", "bot", "web"])
def test_a_command_help_imports_nothing_heavy(command: str, tmp_path: Path) -> None:
    assert heavy_in(modules_after([command, "--help"], tmp_path)) == []


def test_send_on_sqlite_needs_neither_alembic_nor_asyncpg(tmp_path: Path) -> None:
    import asyncio

    from zilean.db import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path / 'z.db'}"
    asyncio.run(upgrade(url))
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": url, "LOG_DIR": str(tmp_path / "logs")}
    loaded = modules_after(["send", "1", "pause", "--as", "2", "--no-wait"], tmp_path, env)
    assert "sqlalchemy" in loaded  # it did reach the database
    assert not {"alembic", "asyncpg", "discord", "fastapi", "yt_dlp"} & {m.split(".")[0] for m in loaded}


def test_the_full_parser_still_knows_every_option() -> None:
    args = build_parser().parse_args(["db", "backup", "--keep", "3"])
    assert args.keep == 3 and str(args.dir) == "backups"
    only = build_parser(only="db").parse_args(["db", "copy", "a", "b", "--force"])
    assert only.force and only.source == "a"
