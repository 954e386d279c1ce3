"""The benchmarks' process bookkeeping: every process they start is found again and killed.

The benchmark process makes itself a child subreaper (Linux `PR_SET_CHILD_SUBREAPER`), so an ffmpeg
whose bot died is re-parented to the benchmark instead of to init, and `descendants()` still finds it.
CPU time and memory come from /proc.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import time
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def become_subreaper() -> None:
    """Orphans of the processes this one starts become its children (Linux); elsewhere a no-op."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def children(pid: int) -> list[int]:
    """Direct children of `pid` (every thread's)."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                found += [int(c) for c in (task / "children").read_text().split()]
    return found


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, children first."""
    found, todo = [], children(pid)
    while todo:
        child = todo.pop()
        found.append(child)
        todo += children(child)
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process (all its threads), seconds; 0 once it is gone."""
    fields = _stat(pid)
    return 0.0 if fields is None else (int(fields[11]) + int(fields[12])) / CLOCK_TICK


def rss_mb(pid: int) -> float:
    """Resident memory of one process, MB (0 once it is gone)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def kill_tree(pid: int) -> None:
    """SIGKILL `pid` and everything below it."""
    for victim in [*descendants(pid), pid]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(victim, signal.SIGKILL)


def reap_leftovers(timeout: float = 10.0) -> list[str]:
    """Kill and reap every process still below this one (bots, ffmpeg, orphans); their names."""
    left = []
    for pid in descendants(os.getpid()):
        with contextlib.suppress(OSError):
            left.append(Path(f"/proc/{pid}/comm").read_text().strip())
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while children(os.getpid()) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(-1, os.WNOHANG)
        time.sleep(0.05)
    return left
