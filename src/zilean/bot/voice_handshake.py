"""discord.py's voice connection state, with a state wait that cannot miss a change.

discord.py 2.7.1 announces each step of the voice handshake with `Event.set()` followed at once
by `clear()`. It waits for a step by checking the state and then wrapping `Event.wait()` in a new
task (`utils.sane_wait_for`). A change that lands after the check but before that task first runs
is missed, and the wait then sleeps until the 20 s connect timeout. On a busy event loop
this happened to about 1 join in 1,000 (100 guilds joining; BENCHMARKS.md). VOICE_SERVER_UPDATE
was handled and the state reached `got_both_voice_updates`, yet "Timed out connecting to voice".

Here the check and `Event.wait()` run in one step of the caller's own task, so the waiter is
registered before anything else can run. No helper task either: Python 3.11's `asyncio.wait_for`
runs its coroutine in one, and swallows a cancellation that arrives just as that task finishes,
which discord.py's teardown (cancelling the reconnect loop while the state changes) can hit.
"""

from __future__ import annotations

import asyncio

from discord.voice_state import ConnectionFlowState, VoiceConnectionState


class ReliableVoiceConnectionState(VoiceConnectionState):
    """discord.py's connection state; only `_wait_for_state` differs."""

    async def _wait_for_state(
        self,
        state: ConnectionFlowState,
        *other_states: ConnectionFlowState,
        timeout: float | None = None,  # noqa: ASYNC109 - discord.py's signature
    ) -> None:
        states = (state, *other_states)
        async with asyncio.timeout(timeout):
            while self.state not in states:
                await self._state_event.wait()  # registers its waiter before it yields
