"""Staying connected to Discord: log in with retries while it is unreachable, one line per failure.

discord.py gives up at start when Discord's REST API cannot be reached (an 80-line
`ClientConnectorError` traceback) and logs a full traceback for every failed gateway reconnect,
with a backoff that grows to 17 minutes. A service should instead say in one line what it cannot
reach and when it tries again, keep trying (capped backoff), and stop only for what retrying
cannot fix: a refused token or refused intents (ConfigError: the CLI exits 2).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from typing import Any

import aiohttp
import discord
from discord.backoff import ExponentialBackoff
from discord.utils import MISSING

from zilean.core.errors import ConfigError, ZileanError

log = logging.getLogger(__name__)

RETRY_FIRST_S = 1.0
RETRY_MAX_S = 60.0
RECONNECT_MAX_EXPONENT = 6  # discord.py's shard reconnects wait up to 2**exp s (its own cap: 2**10)
NETWORK_ERRORS = (OSError, aiohttp.ClientError, asyncio.TimeoutError, discord.DiscordServerError)
# Gateway close codes retrying cannot fix (Discord's docs, "Gateway Close Event Codes").
FATAL_CLOSE_CODES = {
    4004: "DISCORD_TOKEN was refused by Discord's gateway (authentication failed): check the token in .env",
    4010: "Discord refused the shard ids (invalid shard): check --shard-ids and --shard-count",
    4011: "Discord requires sharding for this many guilds: run with --shard-count",
    4012: "Discord refused the gateway API version",
    4013: "Discord refused the bot's intents (invalid intents)",
}
BAD_TOKEN = (
    "DISCORD_TOKEN was refused by Discord (401 Unauthorized): copy the bot's token from the Developer "
    "Portal (Bot → Reset Token) into .env"
)
INTENTS_REFUSED = (
    "Discord refused the bot's privileged intents: enable Server Members Intent and Message Content "
    "Intent under Bot in the Developer Portal"
)
_ERRNO_WORDS = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset",
    errno.ETIMEDOUT: "timed out",
    errno.ENETUNREACH: "network unreachable",
    errno.EHOSTUNREACH: "host unreachable",
}


def reason(exc: BaseException) -> str:
    """A few words for why a connection failed: 'connection refused', 'timed out', 'Discord answered 503'."""
    if isinstance(exc, discord.DiscordServerError):
        return f"Discord answered {exc.status}"
    if isinstance(exc, discord.ConnectionClosed):
        return f"connection closed (code {exc.code})"
    if isinstance(exc, aiohttp.ClientConnectorDNSError) or isinstance(exc, socket.gaierror):
        return "host name not found"
    os_error = exc.os_error if isinstance(exc, aiohttp.ClientConnectorError) else exc
    if isinstance(os_error, OSError) and os_error.errno in _ERRNO_WORDS:
        return _ERRNO_WORDS[os_error.errno]
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return "timed out"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server disconnected"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _Delays:
    """1, 2, 4 … seconds, at most RETRY_MAX_S."""

    def __init__(self) -> None:
        self.next = RETRY_FIRST_S

    def take(self) -> float:
        delay, self.next = self.next, min(self.next * 2, RETRY_MAX_S)
        return delay


class OneLineNetworkErrors(logging.Filter):
    """discord.py's reconnect logs, without the traceback: the message plus why, on one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, (*NETWORK_ERRORS, discord.GatewayNotFound)):
            return True
        if record.msg == SHARD_RECONNECT and isinstance(record.args, tuple) and len(record.args) == 2:
            shard_id, delay = record.args
            record.msg = "lost Discord's gateway (shard %s): %s; reconnecting in %.1f s"
            record.args = (shard_id, reason(error), delay)
        else:
            record.msg = f"{record.getMessage()} (cannot reach Discord: {reason(error)})"
            record.args = None
        record.levelno, record.levelname = logging.WARNING, "WARNING"  # it retries; nothing is lost yet
        record.exc_info = None
        record.exc_text = None
        return True


SHARD_RECONNECT = "Attempting a reconnect for shard ID %s in %.2fs"  # discord/shard.py


DISCORD_LOGGERS = (
    "discord.client",
    "discord.shard",
    "discord.gateway",
    "discord.http",
    "discord.voice_state",
)


def _cap_reconnect_backoff(bot: discord.AutoShardedClient) -> None:
    """discord.py's shard reconnect backoff grows to 2**10 s; keep it to about a minute."""
    for info in bot.shards.values():
        backoff = getattr(getattr(info, "_parent", None), "_backoff", None)  # discord.py's Shard
        if isinstance(backoff, ExponentialBackoff):
            backoff._max = min(backoff._max, RECONNECT_MAX_EXPONENT)


async def _login(bot: discord.Client, token: str, api_base: str) -> None:
    """Log in, retrying while Discord's API cannot be reached."""
    delays = _Delays()
    while True:
        try:
            await bot.login(token)
            return
        except discord.LoginFailure:
            raise ConfigError(BAD_TOKEN) from None
        except NETWORK_ERRORS as exc:
            # The failed attempt's HTTP session owns its connector: close both, the next login
            # builds new ones (a left-over session would be reported as unclosed).
            await bot.http.close()
            if bot.http.connector is not MISSING and bot.http.connector.closed:
                bot.http.connector = MISSING
            delay = delays.take()
            log.warning("cannot reach Discord at %s: %s; retrying in %.0f s", api_base, reason(exc), delay)
            await asyncio.sleep(delay)


async def _connect(bot: discord.Client, api_base: str) -> None:
    """Open the gateway and stay on it, retrying while Discord cannot be reached."""
    delays = _Delays()
    while not bot.is_closed():
        try:
            await bot.connect(reconnect=True)
            return
        except discord.PrivilegedIntentsRequired:
            raise ConfigError(INTENTS_REFUSED) from None
        except discord.ConnectionClosed as exc:
            if exc.code in FATAL_CLOSE_CODES:
                raise ConfigError(FATAL_CLOSE_CODES[exc.code]) from None
            raise ZileanError(f"Discord closed the gateway connection (code {exc.code})") from None
        except NETWORK_ERRORS as exc:  # fetching the gateway's address (GET /gateway/bot)
            if bot.is_closed():
                return
            delay = delays.take()
            log.warning("cannot reach Discord at %s: %s; retrying in %.0f s", api_base, reason(exc), delay)
            await asyncio.sleep(delay)


async def stay_connected(bot: discord.AutoShardedClient, token: str, *, api_base: str) -> None:
    """`bot.start(token)` for a service: retries while Discord is unreachable, one log line each time.

    Returns when the bot is closed; raises ConfigError for a refused token or refused intents.
    """
    one_line = OneLineNetworkErrors()
    loggers = [logging.getLogger(name) for name in DISCORD_LOGGERS]
    for logger in loggers:
        logger.addFilter(one_line)

    async def capped(*_: Any) -> None:
        _cap_reconnect_backoff(bot)

    bot.add_listener(capped, "on_shard_connect")
    try:
        await _login(bot, token, api_base)
        await _connect(bot, api_base)
    finally:
        bot.remove_listener(capped, "on_shard_connect")
        for logger in loggers:
            logger.removeFilter(one_line)
