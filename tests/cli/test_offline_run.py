"""What `make run` gives a newcomer without a token: the sandbox with the bot in it, playing demo music."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from audio_fixtures import ffmpeg_exe, run_pcm
from polling import until_sync
from zilean.core import analysis


@pytest.fixture
def offline_product(tmp_path: Path) -> Iterator[str]:
    """`zilean sandbox --port 0` (what `zilean run` starts without a token) in an empty directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "DATABASE_", "LIBRARY_"))}
    env["LOG_DIR"] = str(tmp_path / "logs")
    proc = subprocess.Popen(
        [sys.executable, "-m", "zilean", "sandbox", "--port", "0", "--web-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        base = ""
        for line in proc.stdout:
            if line.startswith("Zilean sandbox running at "):
                base = line.split()[-1]
                break
        assert base, "the sandbox did not print its address"
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        assert proc.stdout is not None
        proc.stdout.close()


def wait_for(predicate, within: float = 30.0):  # type: ignore[no-untyped-def]
    return until_sync(predicate, within=within, interval=0.2)


def decoded_rms(path: Path) -> float:
    """The RMS of an audio file as ffmpeg decodes it (what the bot plays, before the volume)."""
    argv = [ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "2", "-ar", "48000", "pipe:1"]
    samples = run_pcm(argv)
    return analysis.rms(samples[48_000:-48_000].ravel())  # the steady middle


def test_the_demo_track_plays_and_is_heard(offline_product: str, tmp_path: Path) -> None:
    with httpx.Client(base_url=offline_product, timeout=10) as http:
        state = http.get("/_sandbox/state").json()
        guild = state["guilds"][0]
        channels = {c["name"]: c["id"] for c in guild["channels"]}
        alice = next(u["id"] for u in state["users"] if u["username"] == "alice")

        def bot_online() -> bool:
            return bool(http.get("/_sandbox/state").json().get("gateway", {}).get("connected"))

        wait_for(bot_online)
        http.post("/_sandbox/voice", json={"user_id": alice, "channel_id": channels["Music"]})
        http.post(
            "/_sandbox/messages",
            json={"channel_id": channels["general"], "user_id": alice, "content": "=play tuning fork"},
        )

        def heard() -> dict | None:  # type: ignore[type-arg]
            stats = http.get(f"/_sandbox/voice/{guild['id']}").json()
            return stats if stats.get("seconds", 0) >= 2 else None

        stats = wait_for(heard)
        assert stats["dominant_hz"] == pytest.approx(440, abs=2)
        # The demo tone is a 0.4-amplitude sine (its MP3 a little below that); the default volume is 0.25×.
        file_rms = decoded_rms(tmp_path / "data" / "demo-music" / "tuning-fork.mp3")
        assert file_rms == pytest.approx(0.4 / 2**0.5, rel=0.1)
        assert stats["rms"] == pytest.approx(0.25 * file_rms, rel=0.03)
        replies = http.get(f"/_sandbox/channels/{channels['general']}/messages").json()
        assert any("Tuning Fork" in str(m.get("embeds")) for m in replies if m["author"]["bot"])
        assert analysis.dbfs(stats["rms"]) < -20


def test_a_bot_that_cannot_start_ends_the_run_with_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "DATABASE_"))}
    env |= {"LOG_DIR": str(tmp_path / "logs"), "DATABASE_URL": "mysql://root@localhost/zilean"}
    result = subprocess.run(
        [sys.executable, "-m", "zilean", "sandbox", "--port", "0", "--no-voice"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].startswith("zilean: the bot stopped: DATABASE_URL uses 'mysql'")
    assert "Traceback" not in result.stderr + result.stdout
