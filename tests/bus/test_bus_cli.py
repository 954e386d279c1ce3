"""`zilean send` and `zilean status` as real subprocesses against a bot worker on the same database."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from bus_helpers import Recorder

from zilean.cli.send import ACTION_NAMES
from zilean.core.track import Track
from zilean.db import PlayerState
from zilean.db.bus import Bus
from zilean.db.bus.actions import ACTIONS, ActionError, parse_time_ms, payload_from_args
from zilean.db.bus.records import Command, Outcome
from zilean.db.connector import utcnow

GUILD = 1_180_000_000_000_000_001


async def zilean(url: str, cwd: Path, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"DATABASE_URL": url}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "zilean",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_send_waits_for_the_outcome_and_exits_0_when_done(
    bus: Bus, db_url: str, tmp_path: Path
) -> None:
    handler = Recorder()
    await bus.worker(handler).start()
    code, out, err = await zilean(db_url, tmp_path, "send", str(GUILD), "seek", "1:30", "--as", "42")
    assert (code, out.strip()) == (0, "done: seek ok"), err
    (command,) = handler.ran
    assert (command.guild_id, command.action, command.payload, command.user_id) == (
        GUILD,
        "seek",
        {"position_ms": 90_000},
        42,
    )


async def test_send_exits_2_with_the_reason_when_refused(bus: Bus, db_url: str, tmp_path: Path) -> None:
    async def refuse(command: Command) -> Outcome:
        return Outcome.refused("you need the DJ role to skip")

    await bus.worker(Recorder(refuse)).start()
    code, out, _ = await zilean(db_url, tmp_path, "send", str(GUILD), "skip", "--as", "7")
    assert (code, out.strip()) == (2, "refused: you need the DJ role to skip")


async def test_send_without_a_bot_gives_up_after_the_timeout_and_cancels(
    bus: Bus, db_url: str, tmp_path: Path
) -> None:
    code, out, _ = await zilean(
        db_url, tmp_path, "send", str(GUILD), "pause", "--as", "7", "--timeout", "0.5"
    )
    assert code == 2
    assert out.strip() == "expired: no bot took this command within 0.5 s; it was cancelled"
    # It can never run late: a bot that starts now finds nothing to do.
    handler = Recorder()
    await bus.worker(handler).start()
    await bus.send(GUILD, "resume", user_id=7, timeout_s=30)
    assert [c.action for c in handler.ran] == ["resume"]


async def test_send_no_wait_only_queues(bus: Bus, db_url: str, tmp_path: Path) -> None:
    code, out, _ = await zilean(
        db_url, tmp_path, "send", str(GUILD), "play", "never", "gonna", "--as", "7", "--no-wait"
    )
    assert code == 0 and out.startswith("queued: command ")
    command = await bus.commands.get(int(out.split()[-1]))
    assert command is not None
    assert (command.status, command.payload) == ("pending", {"query": "never gonna"})


async def test_send_with_bad_arguments_is_one_line_exit_2(db_url: str, tmp_path: Path) -> None:
    code, out, err = await zilean(db_url, tmp_path, "send", str(GUILD), "volume", "300", "--as", "7")
    assert (code, out, err.strip()) == (2, "", "zilean: volume must be between 0 and 200 %")


async def test_status_prints_player_and_queue(bus: Bus, db_url: str, tmp_path: Path) -> None:
    track = Track(title="Song A", url="https://example.test/a.mp3", source="http", duration_ms=200_000)
    await bus.db.player_state.save(
        PlayerState(
            guild_id=GUILD,
            track=track,
            position_ms=60_000,
            anchor_at=utcnow() - timedelta(seconds=5),
            volume=80,
            loop_mode="queue",
        )
    )
    await bus.db.queue.append(
        GUILD,
        [
            Track(title=f"Next {i}", url=f"https://example.test/{i}.mp3", source="http", duration_ms=60_000)
            for i in range(3)
        ],
    )
    await bus.worker(Recorder()).start()
    code, out, err = await zilean(db_url, tmp_path, "status", str(GUILD), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["bot"]["online"] is True
    assert report["player"]["track"]["title"] == "Song A"
    assert report["player"]["position_ms"] == 60_000
    assert 65_000 <= report["player"]["position_now_ms"] <= 200_000
    assert [e["title"] for e in report["queue"]["entries"]] == ["Next 0", "Next 1", "Next 2"]
    code, out, _ = await zilean(db_url, tmp_path, "status", str(GUILD))
    assert code == 0
    # The position runs on while the CLI starts (seconds on a busy machine): read it, don't expect 1:0x.
    playing = re.search(r"^playing: Song A \[(\d+):(\d\d)/3:20\]$", out, re.MULTILINE)
    assert playing is not None, out
    assert 65 <= int(playing[1]) * 60 + int(playing[2]) <= 200
    assert "volume 80 %, loop queue" in out and "  2. Next 1 [1:00]" in out


def test_the_cli_lists_every_action() -> None:
    assert ACTION_NAMES.split() == list(ACTIONS)


@pytest.mark.parametrize(
    ("action", "args", "payload"),
    [
        ("play", ["lofi", "beats"], {"query": "lofi beats"}),
        ("skip", [], {}),
        ("skip", ["3"], {"to": 3}),
        ("seek", ["1:02:03"], {"position_ms": 3_723_000}),
        ("volume", ["0"], {"percent": 0}),
        ("effects", ["Bass", "nightcore"], {"effects": ["bass", "nightcore"]}),
        ("effects", ["none"], {"effects": []}),
        ("loop", ["Track"], {"mode": "track"}),
        ("move", ["4", "1"], {"from": 4, "to": 1}),
        ("join", [], {}),
        (
            "settings",
            ["prefix=!", "dj_role_id=5", "always_on=true", "loop_mode=off"],
            {"changes": {"prefix": "!", "dj_role_id": 5, "always_on": True, "loop_mode": "off"}},
        ),
        (
            "permission",
            ["role", "9", "can_skip=false", "can_play=none"],
            {"target_kind": "role", "target_id": 9, "rules": {"can_skip": False, "can_play": None}},
        ),
    ],
)
def test_payloads_from_words(action: str, args: list[str], payload: dict[str, object]) -> None:
    assert payload_from_args(action, args) == payload


@pytest.mark.parametrize(
    ("action", "args", "message"),
    [
        ("dance", [], "unknown action 'dance'"),
        ("play", [], "play needs a search query"),
        ("pause", ["now"], "pause takes no arguments"),
        ("seek", ["soon"], "'soon' is not a time"),
        ("remove", ["0"], "0 must be 1 or more"),
        ("loop", ["forever"], "loop needs one of"),
        ("permission", ["role", "9", "can_fly=true"], "unknown permission 'can_fly'"),
    ],
)
def test_bad_words_are_refused_with_a_reason(action: str, args: list[str], message: str) -> None:
    with pytest.raises(ActionError, match=message):
        payload_from_args(action, args)


def test_times() -> None:
    assert [parse_time_ms(t) for t in ("90", "1:30", "0:05.5", "1:00:00")] == [
        90_000,
        90_000,
        5_500,
        3_600_000,
    ]
