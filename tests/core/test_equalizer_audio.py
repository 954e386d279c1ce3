"""The equalizer, measured: pink noise through the real playback pipeline (ffmpeg), band by band.

Each band's gain is the power ratio of the equalized render to the flat render of the same noise,
in a ±2 % window around the band's centre (Hann-windowed FFT of 4 s: 0.25 Hz bins, so even the
25 Hz band has 8 of them). The renders differ only by the equalizer, so the ratio is its response.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from audio_fixtures import ffmpeg_exe, pink_noise, run_pcm, stereo, write_wav
from zilean.core import analysis
from zilean.core.analysis import FloatArray
from zilean.core.equalizer import BANDS, FLAT, PRESETS, Equalizer
from zilean.core.media import MediaInput
from zilean.core.pipeline import PlaybackSpec, ffmpeg_argv

TOLERANCE_DB = 1.5  # issue 18's bound; the pipeline measures within ~0.2 dB


@pytest.fixture(scope="module")
def noise(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_wav(tmp_path_factory.mktemp("eq") / "pink.wav", stereo(pink_noise(4.0, amplitude=0.1)))


def render(source: Path, eq: Equalizer, effects: tuple[str, ...] = ()) -> FloatArray:
    spec = PlaybackSpec(MediaInput(str(source), is_local_file=True), effects, 100, eq=eq)
    return run_pcm(ffmpeg_argv(ffmpeg_exe(), spec, output="pcm"))


def spectrum(audio: FloatArray) -> FloatArray:
    mono = audio.mean(axis=1)
    result: FloatArray = np.abs(np.fft.rfft(mono * np.hanning(mono.size))) ** 2
    return result


def band_gains(out: FloatArray, reference: FloatArray) -> list[float]:
    """The gain (dB) of `out` against `reference` at each band's centre."""
    assert out.shape == reference.shape
    freqs = np.fft.rfftfreq(out.shape[0], 1 / analysis.SAMPLE_RATE)
    power, base = spectrum(out), spectrum(reference)
    gains = []
    for hz in BANDS:
        window = (freqs > hz * 0.98) & (freqs < hz * 1.02)
        gains.append(10 * float(np.log10(power[window].sum() / base[window].sum())))
    return gains


@pytest.fixture(scope="module")
def flat(noise: Path) -> FloatArray:
    return render(noise, FLAT)


CASES = {
    **{name: preset for name, preset in PRESETS.items() if name != "flat"},
    "100 Hz +12": FLAT.with_band(100, 12),
    "one band at a time (-12 at 2.5 kHz)": FLAT.with_band(2500, -12),
    "alternating ±12": Equalizer(tuple([12.0, -12.0] * 7 + [12.0])),
    "the edges": FLAT.with_band(25, 9).with_band(16000, -9),
}


@pytest.mark.parametrize("name", CASES)
def test_each_band_measures_what_was_set(noise: Path, flat: FloatArray, name: str) -> None:
    eq = CASES[name]
    measured = band_gains(render(noise, eq), flat)
    errors = {hz: round(got - want, 2) for hz, got, want in zip(BANDS, measured, eq.gains, strict=True)}
    assert all(abs(error) <= TOLERANCE_DB for error in errors.values()), errors


def test_flat_changes_nothing(noise: Path, flat: FloatArray) -> None:
    assert max(abs(g) for g in band_gains(render(noise, FLAT), flat)) < 0.01


def test_the_equalizer_stacks_on_top_of_the_effects(noise: Path) -> None:
    """bassboost + treble preset: against bassboost alone, the bands measure the preset."""
    boosted = render(noise, FLAT, ("bassboost",))
    both = render(noise, PRESETS["treble"], ("bassboost",))
    measured = band_gains(both, boosted)
    for hz, got, want in zip(BANDS, measured, PRESETS["treble"].gains, strict=True):
        assert got == pytest.approx(want, abs=TOLERANCE_DB), hz
    # and bassboost is still there: the low bands are louder than without it
    plain = band_gains(render(noise, PRESETS["treble"]), both)
    assert plain[0] < -5
