"""`zilean db backup` / `db restore` through the real command, while another process writes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from test_db_copy import every_row, filled_sqlite

from zilean.db import head_revision, upgrade
from zilean.db.engine import create_engine
from zilean.db.schema import guild_settings, queue_entries

GUILD = 1_180_000_000_000_000_777
WRITER = Path(__file__).with_name("busy_writer.py")


def zilean_db(*args: str, url: str, cwd: Path, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"DATABASE_URL": url}
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [sys.executable, "-m", "zilean", "db", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def two_databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A live database migrated to head and a brand-new one to restore into, same backend."""
    if request.param == "sqlite":
        live, fresh = (
            f"sqlite+aiosqlite:///{tmp_path / 'live.db'}",
            f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}",
        )
    else:
        new: Callable[[], str] = request.getfixturevalue("new_postgres_database")
        live, fresh = new(), new()
    asyncio.run(upgrade(live))
    yield live, fresh


async def queue_and_setting(url: str) -> tuple[int, int | None]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            count = (
                await conn.execute(select(func.count()).where(queue_entries.c.guild_id == GUILD))
            ).scalar_one()
            setting = (
                await conn.execute(
                    select(guild_settings.c.idle_timeout_s).where(guild_settings.c.guild_id == GUILD)
                )
            ).scalar_one_or_none()
    finally:
        await engine.dispose()
    return count, setting


def test_backup_while_a_writer_writes_then_restore_into_a_fresh_database(
    two_databases: tuple[str, str], tmp_path: Path
) -> None:
    live, fresh = two_databases
    with subprocess.Popen(
        [sys.executable, str(WRITER), live, str(GUILD)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as writer:
        try:
            assert writer.stdout is not None
            assert writer.stdout.readline().strip() == "ready", writer.communicate(timeout=30)[1]
            # A few backups while the writer commits as fast as it can.
            made = []
            for _ in range(3):
                result = zilean_db("backup", "--dir", str(tmp_path / "backups"), url=live, cwd=tmp_path)
                assert result.returncode == 0, result.stderr
                made.append(Path(result.stdout.split("backed up to ")[1].split(" (")[0]))
            assert writer.poll() is None, "the writer stopped while the backups ran"
        finally:
            writer.terminate()
            try:
                writer.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                writer.kill()
                writer.communicate()
                raise AssertionError("the writer did not stop within 30 s of SIGTERM") from None
    counts = []
    for backup in made:
        restored = zilean_db("restore", str(backup), url=fresh, cwd=tmp_path)
        assert restored.returncode == 0, restored.stderr
        assert f"at revision {head_revision()} (head)" in restored.stdout
        count, setting = asyncio.run(queue_and_setting(fresh))
        assert count >= 1 and setting == count, "the backup is not one consistent snapshot"
        counts.append(count)
    assert counts == sorted(counts) and counts[-1] > counts[0], (
        "the writer's rows did not advance between backups"
    )

    # With the writer stopped, a backup restored elsewhere holds exactly the live content.
    final = zilean_db("backup", "--dir", str(tmp_path / "backups"), url=live, cwd=tmp_path)
    assert final.returncode == 0, final.stderr
    path = final.stdout.split("backed up to ")[1].split(" (")[0]
    assert zilean_db("restore", path, url=fresh, cwd=tmp_path).returncode == 0
    assert asyncio.run(every_row(fresh)) == asyncio.run(every_row(live))


def test_backups_are_pruned_by_count_and_age(tmp_path: Path) -> None:
    url = asyncio.run(filled_sqlite(tmp_path / "live.db"))
    backups = tmp_path / "backups"
    backups.mkdir()
    now = time.time()
    ages_days = {
        "zilean-old-a.db": 40,
        "zilean-old-b.dump": 35,
        "zilean-1.db": 3,
        "zilean-2.db": 2,
        "zilean-3.db": 1,
    }
    for name, days in ages_days.items():
        (backups / name).write_bytes(b"x")
        os.utime(backups / name, (now - days * 86_400, now - days * 86_400))
    (backups / "notes.txt").write_text("not a backup")
    result = zilean_db(
        "backup", "--dir", str(backups), "--keep", "3", "--max-age-days", "30", url=url, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    left = sorted(p.name for p in backups.iterdir())
    new = [name for name in left if name not in ages_days and name != "notes.txt"]
    assert len(new) == 1 and new[0].startswith("zilean-") and new[0].endswith(".db")
    assert left == sorted([*new, "notes.txt", "zilean-2.db", "zilean-3.db"])  # newest 3 kept, the rest gone
    assert result.stdout.count("pruned ") == 3


@pytest.mark.postgres
def test_pg_dump_missing_is_named(scratch_postgres_url: str, tmp_path: Path) -> None:
    asyncio.run(upgrade(scratch_postgres_url))
    result = zilean_db(
        "backup", "--dir", str(tmp_path), url=scratch_postgres_url, cwd=tmp_path, path="/nonexistent"
    )
    assert result.returncode == 2
    assert "pg_dump is not installed" in result.stderr and "postgresql-client" in result.stderr


@pytest.mark.postgres
def test_restore_refuses_a_backup_of_the_other_backend(scratch_postgres_url: str, tmp_path: Path) -> None:
    url = asyncio.run(filled_sqlite(tmp_path / "live.db"))
    made = zilean_db("backup", "--dir", str(tmp_path / "b"), url=url, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    backup = next((tmp_path / "b").iterdir())
    refused = zilean_db("restore", str(backup), url=scratch_postgres_url, cwd=tmp_path)
    assert refused.returncode == 2
    assert "is a sqlite backup but DATABASE_URL is postgresql" in refused.stderr
    assert "zilean db copy" in refused.stderr


def test_the_deploy_backup_script_calls_zilean_db_backup(tmp_path: Path) -> None:
    url = asyncio.run(filled_sqlite(tmp_path / "live.db"))
    app = tmp_path / "app"
    app.mkdir()
    (app / ".venv").symlink_to(sys.prefix)  # the script runs APP_DIR/.venv/bin/zilean
    (app / ".env").write_text(f"DATABASE_URL={url}\n")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {"APP_DIR": str(app), "BACKUP_DIR": str(tmp_path / "nightly"), "BACKUP_KEEP": "2"}
    script = Path(__file__).parents[2] / "deploy" / "backup_db.sh"
    result = subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    (made,) = (tmp_path / "nightly").iterdir()
    assert asyncio.run(every_row(f"sqlite+aiosqlite:///{made}")) == asyncio.run(every_row(url))
