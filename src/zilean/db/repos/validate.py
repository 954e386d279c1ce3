"""Checks shared by settings and player state; messages are shown to users as they are."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

from zilean.core.equalizer import Equalizer, EqualizerError
from zilean.db.errors import InvalidSettingError
from zilean.db.records import LoopMode
from zilean.db.schema import LOOP_MODES

MAX_VOLUME = 200
MAX_PREFIX_LENGTH = 5


def volume(value: int) -> int:
    """A shown volume percentage, 0–200."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_VOLUME:
        raise InvalidSettingError(f"volume must be a whole number from 0 to {MAX_VOLUME} %")
    return value


def loop_mode(value: str) -> LoopMode:
    """One of off, track, queue."""
    if value not in LOOP_MODES:
        raise InvalidSettingError("loop mode must be one of: " + ", ".join(LOOP_MODES))
    return cast(LoopMode, value)


def effects(value: Iterable[str]) -> list[str]:
    """Effect names, in the order they apply."""
    names = list(value)
    if isinstance(value, str) or not all(isinstance(name, str) and name for name in names):
        raise InvalidSettingError("effects must be a list of effect names")
    return names


def prefix(value: str | None) -> str | None:
    """A command prefix of 1–5 visible characters, or None for the default."""
    if value is None:
        return None
    if not 1 <= len(value) <= MAX_PREFIX_LENGTH or any(ch.isspace() for ch in value):
        raise InvalidSettingError(f"the prefix must be 1 to {MAX_PREFIX_LENGTH} characters without spaces")
    return value


def non_negative(name: str, value: int) -> int:
    """A whole number ≥ 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidSettingError(f"{name} must be a whole number of 0 or more")
    return value


def positive(name: str, value: int) -> int:
    """A whole number ≥ 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidSettingError(f"{name} must be a whole number of 1 or more")
    return value


def optional_positive(name: str, value: int | None) -> int | None:
    """A whole number ≥ 1, or None for "no limit"."""
    return None if value is None else positive(name, value)


def ratio(name: str, value: float) -> float:
    """A fraction above 0 and at most 1."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise InvalidSettingError(f"{name} must be a fraction above 0 and at most 1 (e.g. 0.5)")
    return float(value)


def eq_gains(value: Mapping[Any, Any]) -> dict[str, float]:
    """Equalizer gains as stored: {"hz": dB} of the bands not at 0, each band one of the 15."""
    if not isinstance(value, Mapping):
        raise InvalidSettingError("the equalizer must be a mapping of band (Hz) to gain (dB)")
    try:
        return Equalizer.from_mapping(value).to_mapping()
    except EqualizerError as exc:
        raise InvalidSettingError(exc.message) from None
