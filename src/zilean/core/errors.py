"""The one error vocabulary: every ZileanError carries a message that is safe to show users."""

from __future__ import annotations


class ZileanError(Exception):
    """A failure whose message can be shown to a user as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(ZileanError):
    """The settings are missing, malformed or unsafe."""


class SourceError(ZileanError):
    """A query or URL could not be resolved to something playable."""


class UnsafeURLError(SourceError):
    """A URL points somewhere the bot must not fetch (private network, local file, bad scheme)."""


class PlaybackError(ZileanError):
    """The audio pipeline failed for a track."""


class QueueError(ZileanError):
    """A queue operation was given a bad position or an empty queue."""


def cause_of(error: BaseException) -> str:
    """A short, bounded name for what kind of failure `error` is (a metrics label): "internal" for bugs."""
    for kind, name in (
        (UnsafeURLError, "unsafe_url"),
        (SourceError, "source"),
        (PlaybackError, "playback"),
        (QueueError, "queue"),
        (ConfigError, "config"),
        (ZileanError, "other"),
    ):
        if isinstance(error, kind):
            return name
    return "internal"
