"""Audio effects as values: a name, a one-line description, and a pure mapping to ffmpeg filters.

Every effect is a pitch factor, a tempo factor and a chain of cheap ffmpeg filters. A stack of
effects is turned into ONE filter string by `filter_chain`:

1. the speed stage first — pitch and tempo factors of every effect in the stack MULTIPLY
   (nightcore + speedup = tempo ×1.5625; chipmunk + deep = pitch ×1.125), rendered as ONE
   resample to 48 kHz ÷ pitch followed by `asetrate=48000` (pitch and tempo together: the
   samples are relabelled, so the stream is at 48 kHz again without a second resample), then
   one `atempo` chain (tempo only), so the cost stays that of one effect however many are stacked;
2. then every other effect's filters, in the order the user added them.

The speed stage runs first so time-based effects (echo delays, tremolo and 8D rates) keep
their stated timing instead of being sped up or slowed down with the music. Pitch shifting
without tempo change (chipmunk, deep) is `asetrate ×p` + `atempo ÷p`, which costs a fraction
of rubberband. Stacking an effect twice is a no-op (an effect set, not a list).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from zilean.core.errors import ZileanError

# The rate the whole pipeline runs at; asetrate factors are relative to it.
PIPELINE_RATE = 48_000
# atempo accepts 0.5..100 per instance; stacks beyond that are chained.
_ATEMPO_MIN = 0.5


class UnknownEffectError(ZileanError):
    """An effect name that is not in the catalogue."""


@dataclass(frozen=True, slots=True)
class Effect:
    """One named effect: pitch × tempo factors plus extra ffmpeg filters."""

    name: str
    description: str
    pitch: float = 1.0
    tempo: float = 1.0
    filters: str = ""


_CATALOGUE = (
    Effect("nightcore", "Faster and higher: pitch and tempo ×1.25.", pitch=1.25, tempo=1.25),
    Effect("vaporwave", "Slower and lower: pitch and tempo ×0.8.", pitch=0.8, tempo=0.8),
    Effect("bassboost", "Boost the bass (+10 dB shelf below ~100 Hz).", filters="bass=g=10:f=100:w=0.6"),
    Effect(
        "trebleboost", "Boost the treble (+10 dB shelf above ~4 kHz).", filters="treble=g=10:f=4000:w=0.6"
    ),
    Effect(
        "8d", "Sound circles around your head (L/R pan rotating every 8 s).", filters="apulsator=hz=0.125"
    ),
    Effect(
        "karaoke",
        "Remove centre-panned vocals.",
        filters="stereotools=mlev=0.015625",
    ),
    Effect("tremolo", "Pulsing volume at 6 Hz.", filters="tremolo=f=6:d=0.7"),
    Effect("vibrato", "Wobbling pitch at 6 Hz.", filters="vibrato=f=6:d=0.5"),
    Effect("echo", "A distinct echo 250 ms behind.", filters="aecho=0.8:0.7:250:0.5"),
    Effect(
        "reverb",
        "A roomy reverb.",
        filters="aecho=0.8:0.85:37|61|89|113|149|181:0.5|0.42|0.35|0.29|0.23|0.18",
    ),
    Effect("chipmunk", "Squeaky voices: pitch ×1.5, same tempo.", pitch=1.5),
    Effect("deep", "Deep voices: pitch ×0.75, same tempo.", pitch=0.75),
    Effect("speedup", "Faster without changing pitch: tempo ×1.25.", tempo=1.25),
    Effect("slowdown", "Slower without changing pitch: tempo ×0.8.", tempo=0.8),
    Effect(
        "telephone",
        "Thin telephone sound (300–3400 Hz band).",
        filters="highpass=f=300,highpass=f=300,lowpass=f=3400,lowpass=f=3400",
    ),
    Effect(
        "underwater", "Muffled, as if under water (low-pass ~500 Hz).", filters="lowpass=f=500,lowpass=f=500"
    ),
    Effect(
        "normalize",
        "Even out loudness (quiet songs raised toward -16 LUFS).",
        filters="dynaudnorm=f=200:g=11:p=0.9:m=10:r=0.16",
    ),
)

EFFECTS: dict[str, Effect] = {effect.name: effect for effect in _CATALOGUE}


def effect_names() -> list[str]:
    """Every effect name, in catalogue order."""
    return list(EFFECTS)


def resolve(names: Iterable[str]) -> list[Effect]:
    """Effect values for the names, in order, without duplicates; unknown names raise UnknownEffectError."""
    chosen: list[Effect] = []
    for raw in names:
        name = raw.strip().lower()
        effect = EFFECTS.get(name)
        if effect is None:
            shown = raw if len(raw) <= 40 else raw[:40] + "…"
            raise UnknownEffectError(f"Unknown effect {shown!r}. Valid effects: {', '.join(EFFECTS)}.")
        if effect not in chosen:
            chosen.append(effect)
    return chosen


def speed_factors(names: Iterable[str]) -> tuple[float, float]:
    """(pitch, tempo) of a stack: each the product over its effects (every stack stays within ×0.6..×1.9)."""
    effects = resolve(names)
    return math.prod(effect.pitch for effect in effects), math.prod(effect.tempo for effect in effects)


def tempo_factor(names: Iterable[str]) -> float:
    """How many seconds of the source play per second of output (the player advances position by this)."""
    return speed_factors(names)[1]


def filter_chain(names: Iterable[str]) -> str:
    """The ffmpeg filter string for a stack of effects ("" for none). Pure: same names, same string."""
    effects = resolve(names)
    pitch, tempo = speed_factors(effect.name for effect in effects)
    stages: list[str] = []
    if not math.isclose(pitch, 1.0):
        # Resample whatever the source rate is to 48 kHz / pitch, then relabel those samples as
        # 48 kHz: played ×pitch faster and higher, and later filters see a 48 kHz timebase. One
        # resampling pass (resample to 48 kHz, asetrate ×pitch, resample back costs two).
        rate = round(PIPELINE_RATE / pitch)
        stages.append(f"aresample={rate}:resampler=soxr")
        stages.append(f"asetrate={PIPELINE_RATE}")
        pitch = PIPELINE_RATE / rate  # what the rounded rate really gives; atempo makes up the rest
    stages.extend(_atempo(tempo / pitch))
    stages.extend(effect.filters for effect in effects if effect.filters)
    return ",".join(stages)


def _atempo(factor: float) -> list[str]:
    """atempo filters whose product is `factor` (each instance within atempo's 0.5 lower bound)."""
    if math.isclose(factor, 1.0):
        return []
    parts: list[str] = []
    while factor < _ATEMPO_MIN:
        parts.append(f"atempo={_ATEMPO_MIN}")
        factor /= _ATEMPO_MIN
    parts.append(f"atempo={_fmt(factor)}")
    return parts


def _fmt(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")
