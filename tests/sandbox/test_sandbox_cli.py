"""`zilean sandbox` and the world file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from zilean.core.errors import ConfigError
from zilean.sandbox import build_world, load_world

WORLD = {
    "application_id": "1234567890123456789",
    "bot": {"username": "Groovy"},
    "guilds": [
        {
            "name": "Band Room",
            "owner": "ana",
            "roles": [{"name": "DJ", "permissions": 8}],
            "channels": [
                {"name": "chat"},
                {"name": "Stage", "type": "voice", "bitrate": 96000, "user_limit": 5},
            ],
            "members": [{"username": "ana"}, {"username": "ben", "roles": ["DJ"]}],
        }
    ],
}


def test_world_file_overrides_the_seed(tmp_path: Path) -> None:
    path = tmp_path / "world.json"
    path.write_text(json.dumps(WORLD))
    world = load_world(path)
    assert world.application_id == 1234567890123456789 and world.bot.username == "Groovy"
    stage = world.channel_named("Stage")
    assert (stage.type, stage.bitrate, stage.user_limit) == (2, 96000, 5)
    guild = world.first_guild
    ben = world.user_named("ben")
    assert guild.permissions_of(ben.id) == guild.permissions_of(guild.owner_id)  # DJ here is an administrator
    assert load_world(path).bot_user_id == world.bot_user_id  # seeded ids are stable across runs


def test_bad_world_files_are_config_errors(tmp_path: Path) -> None:
    path = tmp_path / "world.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError):
        load_world(path)
    broken = {
        **WORLD,
        "guilds": [{**WORLD["guilds"][0], "members": [{"username": "ana", "roles": ["Nope"]}]}],
    }
    with pytest.raises(ConfigError, match="unknown roles"):
        build_world(broken)


def test_the_command_serves_and_prints_the_bot_environment(tmp_path: Path) -> None:
    env_file = tmp_path / "sandbox.env"
    env = {**os.environ, "LOG_DIR": str(tmp_path / "logs")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "zilean",
            "sandbox",
            "--port",
            "0",
            "--no-voice",
            "--no-bot",
            "--env-file",
            str(env_file),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line.strip())
            if line.startswith("  DISCORD_CLIENT_SECRET="):
                break
        values = dict(line.split("=", 1) for line in lines if line.startswith("DISCORD_"))
        written = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
        assert written == values
        base = values["DISCORD_API_BASE"].removesuffix("/api/v10")
        state = httpx.get(f"{base}/_sandbox/state", timeout=5).json()
        assert state["application_id"] == values["DISCORD_CLIENT_ID"]
        me = httpx.get(
            values["DISCORD_API_BASE"] + "/users/@me",
            headers={"Authorization": "Bot " + values["DISCORD_TOKEN"]},
        )
        assert me.json()["username"] == "Zilean"
    finally:
        proc.terminate()
        code = proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert code == 0
