"""Restart safety: `zilean bot` is SIGKILLed mid-song and started again; it rejoins and carries on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from bot_harness import STEP_BASE_HZ, STEP_HZ, Driver, frequency, level

from polling import until_value
from zilean.sandbox.server import Sandbox

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]


@pytest.fixture(scope="module")
def bot_env(
    sandbox: Sandbox, media: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The environment of a `zilean bot` process pointed at the sandbox (no test code in the process)."""
    data = tmp_path_factory.mktemp("restart")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DISCORD_", "DATABASE_", "LIBRARY_", "SEARCH_", "TRUSTED_"))
    }
    env.update(sandbox.bot_env())
    env.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{data / 'bot.db'}",
        LIBRARY_DIR=str(media["steps"].parent),
        SEARCH_PROVIDER="local",
        LOG_DIR=str(data / "logs"),
        PYTHONUNBUFFERED="1",
    )
    return env


class BotProcess:
    """A `zilean bot` child process."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "zilean", "bot"],
            env=self.env,
            cwd=self.cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL: no clean-up runs (the worst case for restart safety)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="module")
def bot_process(bot_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    process = BotProcess(bot_env, tmp_path_factory.mktemp("cwd"))
    yield process
    process.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def outside_driver(sandbox: Sandbox) -> AsyncIterator[Driver]:
    async with httpx.AsyncClient(base_url=sandbox.base_url, timeout=10) as http:
        yield Driver(sandbox, http)


async def wait_connected(driver: Driver, identifies_before: int) -> None:
    """Until a new bot process has identified and published its commands."""

    async def state() -> dict[str, Any]:
        return dict((await driver.http.get("/_sandbox/state")).json())

    def connected(state: dict[str, Any]) -> bool:
        gateway = state["gateway"]
        return (
            gateway["identifies"] > identifies_before
            and gateway["connected"]
            and bool(state["commands"].get("global"))
        )

    await until_value(state, connected, within=40, interval=0.1, what="the bot process connecting")


async def identifies(driver: Driver) -> int:
    return int((await driver.http.get("/_sandbox/state")).json()["gateway"]["identifies"])


async def second_now(driver: Driver) -> float:
    """Which second of the steps file is playing, by its pitch."""
    return (frequency(await driver.listen(0.2)) - STEP_BASE_HZ) / STEP_HZ


async def test_sigkill_and_restart_resumes_the_same_track_at_the_same_place(
    outside_driver: Driver, bot_process: BotProcess
) -> None:
    driver = outside_driver
    before = await identifies(driver)
    bot_process.start()
    await wait_connected(driver, before)
    await driver.join_voice("alice")
    reply = await driver.say("alice", "=play local:steps.flac", within=30)
    assert "Steps" in reply.text
    await driver.say("alice", "=play local:tone440.flac")
    await driver.say("alice", "=play local:short660.flac")
    await driver.say("alice", "=volume 150")
    await driver.wait_voice(lambda s: s["packets"] > 6 * 50, within=30)  # ~6 s into the song
    card = await driver.bot_message_after(0, containing="Now playing")

    heard_before = await second_now(driver)
    bot_process.kill()
    at_kill = await driver.voice()

    before = await identifies(driver)
    bot_process.start()
    await wait_connected(driver, before)
    status = await driver.wait_voice(lambda s: s["packets"] > at_kill["packets"] + 15, within=40)

    # On a loaded machine the restarted player may send silence frames while ffmpeg starts; measure
    # once the song is audible again, and count only audio frames as played time.
    async def heard() -> float:
        return level(await driver.listen(0.2))

    await until_value(heard, lambda rms: rms > 0.01, interval=0.1, what="the song audible again")
    heard_after = await second_now(driver)
    now = await driver.voice()
    audio_frames = (now["packets"] - at_kill["packets"]) - (now["silence_frames"] - at_kill["silence_frames"])
    played_since = audio_frames * 0.02
    resumed_at = heard_after - played_since
    assert status["connected"]
    assert abs(resumed_at - heard_before) <= 2.0, (heard_before, heard_after, played_since)

    # The card posted before the kill still works: its buttons are a persistent view.
    assert card.message_id is not None
    pressed = await driver.press("alice", card.message_id, "zilean:np:pause")
    assert pressed["responses"] and not pressed["responses"][0].get("ephemeral"), pressed
    await driver.assert_audio_held(observe_s=0.5)
    await driver.press("alice", card.message_id, "zilean:np:pause")

    queue = await driver.say("alice", "=queue")
    assert "Tone 440" in queue.text and "Short 660" in queue.text and "Steps" in queue.text
    volume = await driver.say("alice", "=volume")
    assert "150%" in volume.text
    await driver.say("alice", "=leave")
