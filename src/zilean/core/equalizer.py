"""The 15-band equalizer as a value: band gains in dB, presets, and a pure mapping to ffmpeg filters.

The bands are Lavalink's (25 Hz … 16 kHz, about 2/3 octave apart), each −12…+12 dB. Each band is
one ffmpeg `equalizer` (an RBJ peaking biquad, ~1 octave wide: Q 1.4). Neighbouring peaks overlap,
so setting each filter to the band's gain would overshoot (all bands +12 would measure ~+20): the
filter gains are solved so that the cascade's response AT EACH BAND'S CENTRE is what the user set
(the dB responses of cascaded filters add up; a few quasi-Newton steps with the response matrix
computed at 0 dB converge to < 0.01 dB). A single +12 band is therefore one +16 dB peak with small
cuts beside it, and the centres measure exactly +12, 0, 0 …

Each biquad costs ~0.024 % of a core per stream, ~0.35 % for all 15 (BENCHMARKS.md, busy
machine); corrections under 0.05 dB are left out (one band: 7 filters). A linear-phase FIR
(firequalizer) would need a 0.1 s kernel to resolve 25 vs 40 Hz, and that much delay.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from zilean.core.errors import ZileanError

BANDS: tuple[int, ...] = (25, 40, 63, 100, 160, 250, 400, 630, 1000, 1600, 2500, 4000, 6300, 10000, 16000)
MIN_DB = -12.0
MAX_DB = 12.0
Q = 1.4  # each peak ~1 octave wide: smooth between bands, overlap the solver can undo
RATE = 48_000  # the pipeline runs the equalizer after resampling to 48 kHz (see pipeline.py)
_TOLERANCE_DB = 0.01
_STEPS = 30
_NEGLIGIBLE_DB = 0.05  # a filter gain below this is left out of the chain
MAX_PRESET_NAME = 32


class EqualizerError(ZileanError):
    """A band, gain or preset the equalizer does not know."""


def band_list() -> str:
    """The bands as users type them ("25, 40, … 16000")."""
    return ", ".join(str(hz) for hz in BANDS)


def _check_gain(gain: float) -> None:
    if not (isinstance(gain, int | float) and not isinstance(gain, bool)) or not MIN_DB <= gain <= MAX_DB:
        raise EqualizerError(f"Each band goes from {MIN_DB:g} to +{MAX_DB:g} dB.")


def _rounded(gain: float) -> float:
    """Gains are kept to 0.1 dB (what the show command prints)."""
    _check_gain(gain)
    return round(float(gain), 1) + 0.0  # + 0.0 turns -0.0 into 0.0


@dataclass(frozen=True, slots=True)
class Equalizer:
    """Fifteen band gains in dB (0 = untouched), in BANDS order."""

    gains: tuple[float, ...] = (0.0,) * len(BANDS)

    def __post_init__(self) -> None:
        if len(self.gains) != len(BANDS):
            raise EqualizerError(f"An equalizer has {len(BANDS)} bands.")
        for gain in self.gains:
            _check_gain(gain)

    @classmethod
    def from_mapping(cls, values: Mapping[str, float] | Mapping[int, float]) -> Equalizer:
        """From {hz: dB} (keys as ints or strings, as stored in JSON); missing bands are 0."""
        gains = [0.0] * len(BANDS)
        for hz, gain in values.items():
            gains[BANDS.index(band(hz))] = _rounded(gain)
        return cls(tuple(gains))

    def to_mapping(self) -> dict[str, float]:
        """{"hz": dB} for the bands that are not 0 (what is stored)."""
        return {str(hz): gain for hz, gain in zip(BANDS, self.gains, strict=True) if gain}

    def with_band(self, hz: int | str, gain: float) -> Equalizer:
        """A copy with one band changed."""
        gains = list(self.gains)
        gains[BANDS.index(band(hz))] = _rounded(gain)
        return Equalizer(tuple(gains))

    def gain(self, hz: int) -> float:
        """The gain of one band."""
        return self.gains[BANDS.index(band(hz))]

    @property
    def is_flat(self) -> bool:
        """True when every band is 0 dB (no filters at all)."""
        return not any(self.gains)


FLAT = Equalizer()


def _preset(*gains: float) -> Equalizer:
    return Equalizer(tuple(float(g) for g in gains))


#              25   40   63  100  160  250  400  630   1k 1.6k 2.5k   4k 6.3k  10k  16k
PRESETS: dict[str, Equalizer] = {
    "flat": FLAT,
    "bass": _preset(6, 6, 5, 4, 2.5, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    "rock": _preset(4, 4, 3, 2, 0.5, -1, -1.5, -1.5, -0.5, 1, 2, 3, 3.5, 4, 4),
    "pop": _preset(-1, -0.5, 0, 1, 2, 3, 3.5, 3, 2, 1, 0, -0.5, -1, -1, -1.5),
    "vocal": _preset(-3, -3, -2, -1, 0, 1, 2.5, 4, 4.5, 4, 3, 2, 0.5, -1, -2),
    "treble": _preset(0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2.5, 4, 5, 6, 6),
}


def band(hz: int | str) -> int:
    """The band a user named ("100", "1000", "1k", "16khz"); anything else raises with the valid bands."""
    text = str(hz).strip().lower().removesuffix("hz").strip()
    try:
        value = float(text[:-1]) * 1000 if text.endswith("k") else float(text)
    except ValueError:
        value = math.nan
    if value in BANDS:
        return int(value)
    shown = str(hz) if len(str(hz)) <= 20 else str(hz)[:20] + "…"
    raise EqualizerError(f"There is no {shown!r} Hz band. The bands are: {band_list()} Hz.")


def gain_db(value: float | str) -> float:
    """A gain the user typed ("+6", "-3.5", "6db"), checked against −12…+12 dB."""
    text = str(value).strip().lower().removesuffix("db").strip()
    try:
        gain = float(text)
    except ValueError:
        raise EqualizerError(
            f"{str(value)[:20]!r} is not a gain; use a number of dB from -12 to 12."
        ) from None
    return _rounded(gain)


def parse_assignment(text: str) -> tuple[int, float]:
    """ "HZ=DB" (the render CLI's --eq) → (band, gain)."""
    hz, sep, gain = text.partition("=")
    if not sep:
        raise EqualizerError(f"{text[:40]!r} is not HZ=DB (e.g. 100=6).")
    return band(hz), gain_db(gain)


def preset_name(name: str) -> str:
    """A preset name as stored: lower case, 1–32 characters of letters, digits, - and _."""
    cleaned = name.strip().lower()
    if not 1 <= len(cleaned) <= MAX_PRESET_NAME or not all(ch.isalnum() or ch in "-_" for ch in cleaned):
        raise EqualizerError(
            f"A preset name is 1 to {MAX_PRESET_NAME} letters, digits, '-' or '_' (e.g. my-bass)."
        )
    return cleaned


def describe(eq: Equalizer) -> str:
    """One line per band: `  100 Hz  +6.0 dB ██████`."""
    lines = []
    for hz, gain in zip(BANDS, eq.gains, strict=True):
        label = f"{hz / 1000:g}k" if hz >= 1000 else str(hz)
        bar = ("+" if gain > 0 else "-") * round(abs(gain) / 2)
        lines.append(f"{label:>5} Hz {gain:+5.1f} dB {bar}")
    return "\n".join(lines)


def summary(eq: Equalizer) -> str:
    """One line: "flat", a built-in preset's name, or the bands not at 0 ("100 Hz +6, 1k Hz -3 dB")."""
    for name, preset in PRESETS.items():
        if preset == eq:
            return name
    parts = [
        f"{f'{hz / 1000:g}k' if hz >= 1000 else hz} Hz {gain:+g}"
        for hz, gain in zip(BANDS, eq.gains, strict=True)
        if gain
    ]
    return ", ".join(parts) + " dB"


def filter_chain(eq: Equalizer) -> str:
    """The ffmpeg filters for `eq` at 48 kHz ("" when flat). Pure: same gains, same string."""
    if eq.is_flat:
        return ""
    return ",".join(
        f"equalizer=f={hz}:t=q:w={Q:g}:g={gain:.3f}"
        for hz, gain in zip(BANDS, _filter_gains(eq.gains), strict=True)
        if gain
    )


def gain_at(eq: Equalizer, freq_hz: float) -> float:
    """What `eq` does (dB) to a tone at `freq_hz`: the solved filters' response (tests, the CLI)."""
    return 0.0 if eq.is_flat else response_db(_filter_gains(eq.gains), freq_hz)


def response_db(gains: tuple[float, ...], freq_hz: float) -> float:
    """The cascade's response (dB) at `freq_hz` for these FILTER gains (what ffmpeg computes)."""
    return sum(_peak_db(hz, gain, freq_hz) for hz, gain in zip(BANDS, gains, strict=True) if gain)


@lru_cache(maxsize=256)
def _filter_gains(targets: tuple[float, ...]) -> tuple[float, ...]:
    """Filter gains whose cascade measures `targets` at the band centres."""
    inverse = _inverse_response()
    gains = _apply(inverse, targets)
    for _ in range(_STEPS):
        errors = [t - response_db(gains, hz) for t, hz in zip(targets, BANDS, strict=True)]
        if max(abs(e) for e in errors) < _TOLERANCE_DB:
            break
        step = _apply(inverse, tuple(errors))
        gains = tuple(g + s for g, s in zip(gains, step, strict=True))
    # The small corrections far from a changed band cost a filter each and change < 0.05 dB each (two
    # can add up to just over 0.05 at one centre):
    # dropped (one band at +6: 7 filters instead of 12). Rounded as ffmpeg gets them, so gain_at()
    # is the response of exactly the filters in the chain.
    return tuple(round(g, 3) if abs(g) >= _NEGLIGIBLE_DB else 0.0 for g in gains)


def _peak_db(centre_hz: float, gain: float, freq_hz: float) -> float:
    """One RBJ peaking biquad's response in dB (as ffmpeg's `equalizer` with t=q builds it)."""
    a = 10 ** (gain / 40)
    w0 = 2 * math.pi * centre_hz / RATE
    alpha = math.sin(w0) / (2 * Q)
    cos = math.cos(w0)
    z1 = cmath.exp(-1j * 2 * math.pi * freq_hz / RATE)
    z2 = z1 * z1
    num = (1 + alpha * a) - 2 * cos * z1 + (1 - alpha * a) * z2
    den = (1 + alpha / a) - 2 * cos * z1 + (1 - alpha / a) * z2
    return 20 * math.log10(abs(num / den))


@lru_cache(maxsize=1)
def _inverse_response() -> tuple[tuple[float, ...], ...]:
    """The inverse of M[j][k] = the response at band j of a 1 dB filter at band k."""
    n = len(BANDS)
    rows = [
        [_peak_db(BANDS[k], 1.0, BANDS[j]) for k in range(n)] + [float(j == i) for i in range(n)]
        for j in range(n)
    ]
    for col in range(n):  # Gauss-Jordan with partial pivoting
        pivot = max(range(col, n), key=lambda r: abs(rows[r][col]))
        rows[col], rows[pivot] = rows[pivot], rows[col]
        lead = rows[col][col]
        rows[col] = [v / lead for v in rows[col]]
        for r in range(n):
            if r != col and rows[r][col]:
                factor = rows[r][col]
                rows[r] = [v - factor * p for v, p in zip(rows[r], rows[col], strict=True)]
    return tuple(tuple(row[n:]) for row in rows)


def _apply(matrix: tuple[tuple[float, ...], ...], vector: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(sum(m * v for m, v in zip(row, vector, strict=True)) for row in matrix)
