"""The measuring tools must measure: known signals in, known numbers out."""

from __future__ import annotations

import numpy as np
import pytest

from zilean.core import analysis


def test_dominant_frequency_of_a_tone() -> None:
    assert analysis.dominant_frequency(analysis.sine(440, 1.0)) == pytest.approx(440, abs=0.5)
    assert analysis.dominant_frequency(analysis.sine(550, 0.5)) == pytest.approx(550, abs=1.0)


def test_rms_of_a_sine_is_amplitude_over_root_two() -> None:
    assert analysis.rms(analysis.sine(1000, 1.0, amplitude=0.5)) == pytest.approx(0.5 / np.sqrt(2), rel=1e-3)


def test_pcm16_round_trip_and_silence() -> None:
    tone = analysis.sine(440, 0.1, amplitude=0.25)
    stereo = np.stack([tone, np.zeros_like(tone)], axis=1)
    pcm = (stereo * 32767).astype("<i2").tobytes()
    channels = analysis.pcm16_to_channels(pcm)
    assert channels.shape == (tone.size, 2)
    assert not analysis.is_silent(channels[:, 0])
    assert analysis.is_silent(channels[:, 1])


def test_band_level_separates_frequencies() -> None:
    mix = analysis.sine(60, 1.0, 0.4) + analysis.sine(1000, 1.0, 0.1)
    low = analysis.band_level(mix, 40, 80)
    high = analysis.band_level(mix, 900, 1100)
    assert low == pytest.approx(0.4 / np.sqrt(2), rel=0.02)
    assert high == pytest.approx(0.1 / np.sqrt(2), rel=0.02)
