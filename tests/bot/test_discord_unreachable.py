"""`zilean bot` and `zilean run` as services when Discord is away: one line per failure, retries, SIGTERM.

The real program runs as a child process against the sandbox: a closed port (Discord down at
start), a sandbox stopped and started again on the same port (the gateway vanishing mid-session),
and a sandbox that refuses the token.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from polling import until
from zilean.core.sources import SourceOptions
from zilean.sandbox.server import Sandbox, SandboxConfig

pytestmark = pytest.mark.slow

YTDLP_WORKERS = SourceOptions().ytdlp_workers
SIGTERM_EXIT_S = 10  # the contract for a service stopped by systemd, not a measurement


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Program:
    """`zilean bot` / `zilean run` as a child process, its output in a file."""

    def __init__(self, command: str, env: dict[str, str], directory: Path) -> None:
        self.output_path = directory / f"{command}.out"
        self._output = self.output_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "zilean", command],
            env=env,
            cwd=directory,
            stdout=self._output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def output(self) -> str:
        return self.output_path.read_text(errors="replace")

    def lines_with(self, text: str) -> list[str]:
        return [line for line in self.output.splitlines() if text in line]

    async def wait_for(self, text: str, count: int = 1, within: float = 60) -> list[str]:
        """Until `count` lines contain `text`; the output is in the failure."""
        try:
            await until(lambda: len(self.lines_with(text)) >= count, within=within, what=repr(text))
        except TimeoutError as exc:
            raise AssertionError(f"{exc}\n{self.output}") from None
        return self.lines_with(text)

    def stop(self) -> None:
        """Terminate → wait → kill → wait, whatever state it is in."""
        try:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(SIGTERM_EXIT_S)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(10)
        finally:
            self._output.close()


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[object]:
    """launch(command, api_base, gateway_url, token) -> a running Program; all are stopped afterwards."""
    started: list[Program] = []

    def start(command: str, port: int, token: str) -> Program:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DISCORD_", "DATABASE_", "LIBRARY_", "SEARCH_", "TRUSTED_", "WEB_"))
        }
        env.update(
            DISCORD_TOKEN=token,
            DISCORD_API_BASE=f"http://127.0.0.1:{port}/api/v10",
            DISCORD_GATEWAY_URL=f"ws://127.0.0.1:{port}/gateway",
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / f'{command}.db'}",
            LIBRARY_DIR=str(tmp_path),
            SEARCH_PROVIDER="local",
            LOG_DIR=str(tmp_path / "logs"),
            WEB_PORT=str(free_port()),
            PYTHONUNBUFFERED="1",
        )
        program = Program(command, env, tmp_path)
        started.append(program)
        return program

    yield start
    for program in started:
        program.stop()


def ytdlp_workers(pid: int) -> int:
    """How many yt-dlp worker processes `pid` has started (its children running the worker module)."""
    count = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            with contextlib.suppress(OSError):
                count += b"ytdlp_worker" in Path(f"/proc/{child}/cmdline").read_bytes()
    return count


def sandbox_on(port: int) -> Sandbox:
    return Sandbox(config=SandboxConfig(port=port, voice=False))


def token_of_sandboxes() -> str:
    return Sandbox(config=SandboxConfig(voice=False)).token  # stable: derived from the default world


def connected(sandbox: Sandbox) -> bool:
    """A bot has identified with this sandbox and its gateway socket is open."""
    sessions = sandbox.gateway.sessions.values()
    return sandbox.gateway.identify_count > 0 and any(s.ws is not None and not s.ws.closed for s in sessions)


async def exited(program: Program, within: float) -> int:
    """Its exit code, polled (the sandbox runs on this event loop: a blocking wait would stall it)."""
    await until(lambda: program.process.poll() is not None, within=within, what="the program exiting")
    return program.process.wait()


async def assert_exits_cleanly_on_sigterm(program: Program) -> None:
    program.process.send_signal(signal.SIGTERM)
    assert await exited(program, SIGTERM_EXIT_S) == 0, program.output
    assert "Traceback" not in program.output, program.output


@pytest.mark.parametrize("command", ["bot", "run"])
async def test_discord_down_at_start_is_one_line_per_retry_and_sigterm_still_stops_it(
    command: str, launch: object
) -> None:
    port = free_port()  # nothing listens: connection refused
    program = launch(command, port, token_of_sandboxes())  # type: ignore[operator]
    where = f"cannot reach Discord at http://127.0.0.1:{port}/api/v10: connection refused; retrying in"
    first, second = (await program.wait_for(where, count=2))[:2]
    assert first.endswith("retrying in 1 s") and second.endswith("retrying in 2 s"), program.output
    assert program.process.poll() is None, program.output
    await assert_exits_cleanly_on_sigterm(program)


async def test_the_bot_connects_when_discord_comes_up_and_reconnects_after_it_vanishes(
    launch: object,
) -> None:
    """(`zilean run` connects through the same code: bot/connection.py; its start-up is tested above.)"""
    port = free_port()
    program = launch("bot", port, token_of_sandboxes())  # type: ignore[operator]
    await program.wait_for("cannot reach Discord at")
    async with sandbox_on(port) as sandbox:
        await until(lambda: connected(sandbox), within=60, what="the bot connecting once Discord is up")
        await program.wait_for("Shard ID 0 has connected to Gateway")  # READY handled: mid-session
        # Every yt-dlp worker was started with the service, not at its first play.
        await until(lambda: ytdlp_workers(program.process.pid) == YTDLP_WORKERS, what="warm yt-dlp workers")
        assert sandbox.commands.by_scope.get(None), "the slash commands were published after retrying"
    # The sandbox is gone mid-session: the gateway closes and every reconnect fails. (Usually
    # "connection refused"; a reconnect that reached the closing server waits out discord.py's 60 s.)
    await program.wait_for("lost Discord's gateway (shard 0): ", within=120)
    async with sandbox_on(port) as sandbox:
        await until(lambda: connected(sandbox), within=90, what="the bot reconnecting")
        assert program.process.poll() is None, program.output
        assert "Traceback" not in program.output, program.output
        await assert_exits_cleanly_on_sigterm(program)


@pytest.mark.parametrize("command", ["bot", "run"])
async def test_a_refused_token_is_one_line_naming_discord_token_and_exit_2(
    command: str, launch: object
) -> None:
    port = free_port()
    async with sandbox_on(port) as sandbox:
        program = launch(command, port, "MTIz.not-the.sandbox-token")  # type: ignore[operator]
        assert await exited(program, 60) == 2, program.output
        assert sandbox.gateway.identify_count == 0
    assert "Traceback" not in program.output, program.output
    refusals = program.lines_with("DISCORD_TOKEN")
    assert len(refusals) == 1 and "refused" in refusals[0], program.output
    assert program.output.rstrip().endswith(refusals[0]), "the refusal is the last word"
