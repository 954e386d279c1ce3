"""`zilean db …` through a real subprocess: migrations and the one-line errors (exit code 2)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from zilean.db import head_revision

# Run as root without the capabilities that bypass file permissions, so a 0555 directory is
# read-only for the child as it would be for any ordinary user.
DROP_ROOT_POWERS = ["--bounding-set=-dac_override,-dac_read_search,-fowner", "--"]


def zilean(
    *args: str, url: str, cwd: Path, prefix: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"DATABASE_URL": url}
    return subprocess.run(
        [*(prefix or []), sys.executable, "-m", "zilean", "db", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("zilean: ")
    assert expected in lines[0]


def test_upgrade_current_downgrade(empty_db_url: str, tmp_path: Path) -> None:
    head = head_revision()
    upgraded = zilean("upgrade", url=empty_db_url, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"at revision {head} (head)" in upgraded.stdout
    assert f"at revision {head} (head)" in zilean("current", url=empty_db_url, cwd=tmp_path).stdout
    downgraded = zilean("downgrade", "base", url=empty_db_url, cwd=tmp_path)
    assert downgraded.returncode == 0, downgraded.stderr
    assert "none (empty database)" in downgraded.stdout


def test_unknown_revision(tmp_path: Path) -> None:
    result = zilean("downgrade", "nosuchrev", url=f"sqlite:///{tmp_path / 'z.db'}", cwd=tmp_path)
    assert_one_line_error(result, "Can't locate revision identified by 'nosuchrev'")


def test_bad_url(tmp_path: Path) -> None:
    assert_one_line_error(
        zilean("upgrade", url="definitely not a url", cwd=tmp_path), "is not a database URL"
    )


def test_unreachable_postgres(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = zilean("upgrade", url=f"postgresql://postgres@127.0.0.1:{port}/x", cwd=tmp_path)
    assert_one_line_error(result, f"cannot reach PostgreSQL at 127.0.0.1:{port}: connection refused")


def _read_only_runner() -> list[str]:
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot make a directory read-only for the child")
    return [setpriv, *DROP_ROOT_POWERS]


def test_read_only_data_directory(tmp_path: Path) -> None:
    prefix = _read_only_runner()
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o555)
    try:
        result = zilean("upgrade", url="sqlite:///./data/zilean.db", cwd=tmp_path, prefix=prefix)
        assert_one_line_error(result, f"the data directory {data} is read-only")
        nested = zilean("upgrade", url="sqlite:///./data/sub/zilean.db", cwd=tmp_path, prefix=prefix)
        assert_one_line_error(nested, f"cannot create the data directory {data / 'sub'}: permission denied")
        assert not any(data.iterdir())
    finally:
        data.chmod(0o755)


def test_read_only_database_file(tmp_path: Path) -> None:
    prefix = _read_only_runner()
    (tmp_path / "data").mkdir()
    db_file = tmp_path / "data" / "zilean.db"
    db_file.touch()
    db_file.chmod(0o444)
    result = zilean("upgrade", url="sqlite:///./data/zilean.db", cwd=tmp_path, prefix=prefix)
    assert_one_line_error(result, "is read-only")
