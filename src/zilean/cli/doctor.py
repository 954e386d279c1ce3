"""`zilean doctor`: one screen of ✓ / ⚠ / ✗ lines, each with the fix; exit 0, 1 (warnings) or 2 (errors).

The checks live in doctor_checks (this machine) and doctor_discord (Discord, and the screen).
"""

from __future__ import annotations

import argparse
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up (see zilean.cli)
if TYPE_CHECKING:
    from zilean.config import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    doctor = sub.add_parser("doctor", help="check ffmpeg, yt-dlp, the database, Discord and this machine")
    doctor.set_defaults(func=_doctor)


def _doctor(args: argparse.Namespace, settings: Settings | None) -> int:
    import asyncio

    from zilean.cli.doctor_checks import Status
    from zilean.cli.doctor_discord import all_checks, render

    assert settings is not None
    results = asyncio.run(all_checks(settings))
    print(render(results))
    worst = max(result.status for result in results)
    counts = {status: sum(r.status is status for r in results) for status in Status}
    summary = f"{counts[Status.fail]} errors, {counts[Status.warn]} warnings, {counts[Status.ok]} fine"
    print(summary if worst else f"all {len(results)} checks fine", file=sys.stderr if worst else sys.stdout)
    return int(worst)
