"""Every effect, measured: generated signals through the real playback pipeline (ffmpeg), then analysed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from audio_fixtures import (
    burst,
    ffmpeg_exe,
    integrated_lufs,
    pink_noise,
    run_pcm,
    stereo,
    tone,
    tones,
    white_noise,
    write_wav,
)
from zilean.core import analysis
from zilean.core.analysis import FloatArray
from zilean.core.media import MediaInput
from zilean.core.pipeline import PlaybackSpec, ffmpeg_argv

RATE = analysis.SAMPLE_RATE


Render = Callable[..., FloatArray]


@pytest.fixture
def render(tmp_path: Path) -> Render:
    """Play a signal through the pipeline with effects at volume 200 (gain 0.5); (frames, 2) floats."""

    def play(signal: FloatArray, *effect_names: str, volume: int = 200) -> FloatArray:
        source = write_wav(tmp_path / "in.wav", signal if signal.ndim == 2 else stereo(signal))
        spec = PlaybackSpec(MediaInput(str(source), is_local_file=True), effect_names, volume)
        return run_pcm(ffmpeg_argv(ffmpeg_exe(), spec, output="pcm"))

    return play


def db(level: float) -> float:
    return analysis.dbfs(level)


def band_db(signal: FloatArray, freq: float, width: float = 0.05) -> float:
    return db(analysis.band_level(signal, freq * (1 - width), freq * (1 + width)))


def envelope(signal: FloatArray, window_s: float) -> FloatArray:
    """RMS per window of `window_s` seconds."""
    size = round(window_s * RATE)
    count = signal.size // size
    result: FloatArray = np.sqrt(np.mean(np.square(signal[: count * size].reshape(count, size)), axis=1))
    return result


@pytest.mark.parametrize(
    ("effect", "pitch", "tempo"),
    [
        ("nightcore", 1.25, 1.25),
        ("vaporwave", 0.8, 0.8),
        ("chipmunk", 1.5, 1.0),
        ("deep", 0.75, 1.0),
        ("speedup", 1.0, 1.25),
        ("slowdown", 1.0, 0.8),
    ],
)
def test_speed_effects_change_frequency_and_duration(
    render: Render, effect: str, pitch: float, tempo: float
) -> None:
    out = render(tone(440, 2.0), effect)
    assert analysis.dominant_frequency(out[:, 0]) == pytest.approx(440 * pitch, abs=2)
    assert out.shape[0] / RATE == pytest.approx(2.0 / tempo, abs=0.03)


def test_stacked_speed_effects_multiply(render: Render) -> None:
    out = render(tone(440, 2.0), "nightcore", "speedup")
    assert analysis.dominant_frequency(out[:, 0]) == pytest.approx(550, abs=2)
    assert out.shape[0] / RATE == pytest.approx(2.0 / 1.5625, abs=0.03)


@pytest.mark.parametrize(("effect", "pitch", "tempo"), [("nightcore", 1.25, 1.25), ("deep", 0.75, 1.0)])
def test_speed_stage_is_relative_to_the_source_whatever_its_rate(
    tmp_path: Path, effect: str, pitch: float, tempo: float
) -> None:
    """A 44.1 kHz source shifts by the same factors as a 48 kHz one (the speed stage resamples first)."""
    source = write_wav(tmp_path / "in44.wav", stereo(tone(440, 2.0, rate=44_100)), rate=44_100)
    spec = PlaybackSpec(MediaInput(str(source), is_local_file=True), (effect,), 200)
    out = run_pcm(ffmpeg_argv(ffmpeg_exe(), spec, output="pcm"))
    assert analysis.dominant_frequency(out[:, 0]) == pytest.approx(440 * pitch, abs=2)
    assert out.shape[0] / RATE == pytest.approx(2.0 / tempo, abs=0.03)


@pytest.mark.parametrize("speed", ["nightcore", "vaporwave", "deep"])
def test_effects_after_the_speed_stage_keep_their_stated_timing(render: Render, speed: str) -> None:
    """The echo is 250 ms behind in the output, not sped up or slowed down with the music."""
    out = render(burst(1000, 1.5, at=0.2), speed, "echo")[:, 0]
    level = envelope(out, 0.001)
    main = int(np.argmax(level))
    later = level.copy()
    later[: main + 100] = 0  # ignore the burst itself (20 ms at most ×1/0.75)
    assert (int(np.argmax(later)) - main) / 1000 == pytest.approx(0.25, abs=0.01)


def test_nightcore_plus_bassboost_does_both(render: Render) -> None:
    out = render(tones([48, 800], 2.0, amplitude=0.2), "nightcore", "bassboost")[:, 0]
    # 48 → 60 Hz and 800 → 1000 Hz after the pitch shift, then the shelf lifts 60 Hz
    assert band_db(out, 60) - band_db(out, 1000) >= 6


@pytest.mark.parametrize(("effect", "boosted"), [("bassboost", 60), ("trebleboost", 8000)])
def test_shelf_boosts_by_at_least_6_db_relative_to_1khz(render: Render, effect: str, boosted: int) -> None:
    signal = tones([boosted, 1000], 2.0, amplitude=0.2)
    dry, wet = render(signal)[:, 0], render(signal, effect)[:, 0]
    lift = (band_db(wet, boosted) - band_db(wet, 1000)) - (band_db(dry, boosted) - band_db(dry, 1000))
    assert lift >= 6


def test_telephone_is_a_300_to_3400_band_pass(render: Render) -> None:
    out = render(tones([100, 1000, 2000, 8000], 2.0, amplitude=0.15), "telephone")[:, 0]
    passband = band_db(out, 1000)
    assert abs(band_db(out, 2000) - passband) < 3
    assert passband - band_db(out, 100) >= 20
    assert passband - band_db(out, 8000) >= 20


@pytest.mark.parametrize(
    ("effect", "kept", "cut"),
    [
        ("telephone", (500, 2500), [(40, 150), (6000, 12000)]),
        ("underwater", (60, 300), [(1500, 6000)]),
        ("bassboost", (30, 80), []),
    ],
)
def test_filters_shape_pink_noise(
    render: Render, effect: str, kept: tuple[int, int], cut: list[tuple[int, int]]
) -> None:
    """On broadband noise the cut bands drop at least 15 dB more than the kept band."""
    noise = pink_noise(2.0)
    dry, wet = render(noise)[:, 0], render(noise, effect)[:, 0]
    # pink: equal power per octave
    assert db(analysis.band_level(dry, 100, 200)) == pytest.approx(
        db(analysis.band_level(dry, 1000, 2000)), abs=1.5
    )

    def change(band: tuple[int, int]) -> float:
        return db(analysis.band_level(wet, *band)) - db(analysis.band_level(dry, *band))

    kept_change = change(kept)
    if effect == "bassboost":
        assert kept_change - change((800, 1200)) >= 6
    for band in cut:
        assert kept_change - change(band) >= 15


def test_underwater_is_a_low_pass_near_500hz(render: Render) -> None:
    out = render(tones([150, 500, 2000], 2.0, amplitude=0.2), "underwater")[:, 0]
    assert band_db(out, 150) - band_db(out, 500) == pytest.approx(6, abs=3)  # two 2-pole stages: -6 dB at 500
    assert band_db(out, 150) - band_db(out, 2000) >= 30


def test_karaoke_removes_centre_panned_content(render: Render) -> None:
    centre = tone(440, 2.0, 0.3)
    signal = np.stack([centre + tone(1000, 2.0, 0.3), centre + tone(1500, 2.0, 0.3)], axis=1)
    dry, wet = render(signal), render(signal, "karaoke")
    for channel, side_freq in ((0, 1000), (1, 1500)):
        centre_drop = band_db(dry[:, channel], 440) - band_db(wet[:, channel], 440)
        side_drop = band_db(dry[:, channel], side_freq) - band_db(wet[:, channel], side_freq)
        assert centre_drop - side_drop >= 12


def test_8d_rotates_the_balance_with_a_4_to_10_second_period(render: Render) -> None:
    out = render(tone(440, 12.0, 0.3), "8d")
    left, right = envelope(out[:, 0], 0.05), envelope(out[:, 1], 0.05)
    balance = (left - right) / (left + right + 1e-12)
    assert balance.max() > 0.8 and balance.min() < -0.8  # it really travels from one side to the other
    crossings = np.flatnonzero(np.diff(np.sign(balance)) != 0) * 0.05
    period = 2 * float(np.mean(np.diff(crossings)))
    assert 4 <= period <= 10


def test_tremolo_modulates_amplitude_at_4_to_8_hz(render: Render) -> None:
    out = render(tone(440, 3.0, 0.3), "tremolo")
    level = envelope(out[:, 0], 0.01)[10:]  # 100 values per second
    assert level.min() < 0.6 * level.max()
    assert 4 <= analysis.dominant_frequency(level - level.mean(), rate=100) <= 8
    dry_level = envelope(render(tone(440, 3.0, 0.3))[:, 0], 0.01)[10:]
    assert dry_level.min() > 0.95 * dry_level.max()


def test_vibrato_modulates_pitch(render: Render) -> None:
    def pitch_track(signal: FloatArray) -> list[float]:
        return [analysis.dominant_frequency(signal[i : i + 960]) for i in range(4800, signal.size - 960, 480)]

    wet = pitch_track(render(tone(1000, 2.0, 0.3), "vibrato")[:, 0])
    dry = pitch_track(render(tone(1000, 2.0, 0.3))[:, 0])
    assert max(wet) - min(wet) >= 40  # at least ±2 %
    assert max(dry) - min(dry) < 5
    assert np.mean(wet) == pytest.approx(1000, abs=10)  # modulated around the original pitch


def test_echo_adds_a_copy_at_least_150ms_later(render: Render) -> None:
    out = render(burst(1000, 1.5, at=0.2), "echo")[:, 0]
    level = envelope(out, 0.001)
    main = int(np.argmax(level))
    later = level.copy()
    later[: main + 50] = 0  # ignore the burst itself (20 ms)
    echo = int(np.argmax(later))
    assert (echo - main) / 1000 >= 0.15
    assert db(later[echo]) - db(level[main]) > -12  # a clearly audible copy


def test_reverb_adds_a_decaying_tail(render: Render) -> None:
    signal = burst(1000, 1.5, at=0.2)
    dry, wet = envelope(render(signal)[:, 0], 0.001), envelope(render(signal, "reverb")[:, 0], 0.001)
    tail = slice(270, 420)  # 50-200 ms after the burst ended
    assert db(float(wet[tail].mean())) - db(float(wet.max())) > -35
    assert analysis.is_silent(dry[tail], threshold_dbfs=-80)
    late = slice(900, 1000)  # it decays: 0.5 s later the tail is far quieter
    assert db(float(wet[late].mean())) < db(float(wet[tail].mean())) - 20


def test_normalize_raises_quiet_input_toward_minus_16_lufs(render: Render, tmp_path: Path) -> None:
    quiet = stereo(tone(1000, 4.0, 0.03))
    before = integrated_lufs(write_wav(tmp_path / "quiet.wav", quiet))
    out = render(quiet, "normalize", volume=100)
    after = integrated_lufs(write_wav(tmp_path / "out.wav", out / 0.25))  # undo the 0.25× volume gain
    assert before < -28
    assert after >= before + 8
    assert after == pytest.approx(-16, abs=5)


def test_noise_keeps_its_level_without_effects(render: Render) -> None:
    noise = white_noise(1.0)
    out = render(noise, volume=100)
    assert analysis.rms(out[:, 0]) / analysis.rms(noise) == pytest.approx(0.25, rel=0.03)
