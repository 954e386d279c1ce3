"""The voice handshake's state wait sees a change that lands before the waiting task first runs."""

from __future__ import annotations

import asyncio
import threading

import pytest
from discord.voice_state import ConnectionFlowState, VoiceConnectionState

from cancellation import cancel_is_honoured
from zilean.bot.voice_handshake import ReliableVoiceConnectionState


def bare_state(cls: type[VoiceConnectionState]) -> VoiceConnectionState:
    """A connection state with only what the state and its wait use (no voice client, no socket thread)."""
    state = cls.__new__(cls)
    state._state = ConnectionFlowState.set_guild_voice_state
    state._state_event = asyncio.Event()
    state._connected = threading.Event()
    return state


async def change_right_after_the_wait_started(cls: type[VoiceConnectionState]) -> None:
    """discord.py's event order when VOICE_SERVER_UPDATE is handled on a busy loop."""
    state = bare_state(cls)
    both = ConnectionFlowState.got_both_voice_updates
    waiter = asyncio.create_task(state._wait_for_state(both, timeout=1.0))
    await asyncio.sleep(0)  # the waiter checks the state and goes to sleep
    state.state = both  # set() then clear(), as discord.py does
    await waiter


async def test_a_state_change_right_after_the_wait_started_is_not_missed() -> None:
    await change_right_after_the_wait_started(ReliableVoiceConnectionState)


async def test_discord_py_2_7_1_misses_it() -> None:
    # Why the subclass exists. If this starts failing, discord.py fixed its wait: drop the subclass.
    with pytest.raises(TimeoutError):
        await change_right_after_the_wait_started(VoiceConnectionState)


async def test_the_wait_still_times_out_when_the_state_never_comes() -> None:
    state = bare_state(ReliableVoiceConnectionState)
    with pytest.raises(TimeoutError):
        await state._wait_for_state(ConnectionFlowState.connected, timeout=0.05)


async def test_cancelling_the_wait_as_the_state_arrives_still_cancels() -> None:
    # discord.py cancels its reconnect loop while it changes the state; that must not be swallowed
    # (Python 3.11's asyncio.wait_for returns normally when its inner task has just finished).
    state = bare_state(ReliableVoiceConnectionState)
    waiter = asyncio.create_task(state._wait_for_state(ConnectionFlowState.connected, timeout=5.0))
    await asyncio.sleep(0)
    state.state = ConnectionFlowState.connected
    await asyncio.sleep(0)  # anything the wait scheduled has run
    assert await cancel_is_honoured(waiter)
