"""`zilean render` and `zilean effects`: the playback pipeline into a WAV, and one-line errors."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from audio_fixtures import http_server, steps, stereo, tone, write_wav
from zilean.cli import main
from zilean.core import analysis
from zilean.core.effects import EFFECTS
from zilean.core.media import MediaInput
from zilean.core.pipeline import PlaybackSpec, ffmpeg_argv


@pytest.fixture(autouse=True)
def clean_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No developer .env, no trusted origins unless a test sets them."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRUSTED_MEDIA_ORIGINS", raising=False)


@pytest.fixture
def a440(tmp_path: Path) -> Path:
    return write_wav(tmp_path / "a440.wav", stereo(tone(440, 2.0)))


def read_wav(path: Path) -> tuple[int, int, analysis.FloatArray]:
    with wave.open(str(path), "rb") as wav:
        return (
            wav.getframerate(),
            wav.getnchannels(),
            analysis.pcm16_to_channels(wav.readframes(wav.getnframes())),
        )


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("zilean: ") and "\n" not in err, err
    return err


def test_effects_lists_every_effect_with_its_description(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["effects"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(EFFECTS) >= 17
    for line, effect in zip(lines, EFFECTS.values(), strict=True):
        assert line.split()[0] == effect.name
        assert line.endswith(effect.description)


def test_render_nightcore_into_a_48k_stereo_wav(a440: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.wav"
    assert main(["render", str(a440), "-o", str(out), "--effect", "nightcore"]) == 0
    rate, channels, audio = read_wav(out)
    assert (rate, channels) == (48_000, 2)
    assert audio.shape[0] / rate == pytest.approx(1.6, abs=0.03)
    assert analysis.dominant_frequency(audio[:, 0]) == pytest.approx(550, abs=2)
    assert analysis.rms(audio[:, 0]) / analysis.rms(tone(440, 2.0)) == pytest.approx(0.25, rel=0.03)


def test_render_start_duration_and_volume(tmp_path: Path) -> None:
    source = write_wav(tmp_path / "steps.wav", stereo(steps([300, 500, 700, 900])))
    out = tmp_path / "part.wav"
    argv = ["render", str(source), "-o", str(out), "--start", "2", "--duration", "1", "--volume", "200"]
    assert main(argv) == 0
    rate, _, audio = read_wav(out)
    assert audio.shape[0] / rate == pytest.approx(1.0, abs=0.01)
    assert analysis.dominant_frequency(audio[:, 1]) == pytest.approx(700, abs=2)
    assert analysis.rms(audio[:, 1]) / analysis.rms(tone(700, 1.0)) == pytest.approx(0.5, rel=0.03)


def test_render_stacks_comma_separated_and_repeated_effects(a440: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.wav"
    assert (
        main(["render", str(a440), "-o", str(out), "--effect", "chipmunk,bassboost", "--effect", "speedup"])
        == 0
    )
    rate, _, audio = read_wav(out)
    assert analysis.dominant_frequency(audio[:, 0]) == pytest.approx(660, abs=2)
    assert audio.shape[0] / rate == pytest.approx(1.6, abs=0.03)


def test_render_uses_the_same_filter_graph_as_playback() -> None:
    spec = PlaybackSpec(MediaInput("/a.wav", is_local_file=True), ("8d", "echo"), 130, 5000)
    opus, wav = (
        ffmpeg_argv("ffmpeg", spec),
        ffmpeg_argv("ffmpeg", spec, output="wav", destination="/tmp/x.wav"),
    )
    assert opus[opus.index("-af") + 1] == wav[wav.index("-af") + 1]
    assert opus[: opus.index("-af")] == wav[: wav.index("-af")]


def test_render_from_a_trusted_local_http_server(
    a440: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with http_server(a440.parent) as base:
        monkeypatch.setenv("TRUSTED_MEDIA_ORIGINS", base)
        out = tmp_path / "from_http.wav"
        assert main(["render", f"{base}/a440.wav", "-o", str(out), "--effect", "vaporwave"]) == 0
    _, _, audio = read_wav(out)
    assert analysis.dominant_frequency(audio[:, 0]) == pytest.approx(352, abs=2)


def test_render_refuses_an_untrusted_loopback_url(
    a440: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "never.wav"
    with http_server(a440.parent) as base:
        assert main(["render", f"{base}/a440.wav", "-o", str(out)]) == 2
    assert "loopback" in one_line_error(capsys)
    assert not out.exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--effect", "lofi"], "Valid effects: nightcore"),
        (["--volume", "250"], "--volume must be between 0 and 200"),
        (["--start", "-1"], "--start cannot be negative"),
        (["--duration", "0"], "--duration must be positive"),
    ],
)
def test_bad_options_are_one_line_errors(
    a440: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["render", str(a440), "-o", str(tmp_path / "x.wav"), *argv]) == 2
    assert message in one_line_error(capsys)


@pytest.mark.parametrize(
    ("source", "message"),
    [("missing.wav", "no such file: missing.wav"), ("ftp://example.com/a.mp3", "not ftp: links")],
)
def test_bad_inputs_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, message: str
) -> None:
    assert main(["render", source, "-o", str(tmp_path / "x.wav")]) == 2
    assert message in one_line_error(capsys)


def test_a_file_ffmpeg_cannot_decode_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bogus = tmp_path / "image.mp3"
    bogus.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(4000))
    assert main(["render", str(bogus), "-o", str(tmp_path / "x.wav")]) == 2
    assert "ffmpeg could not render" in one_line_error(capsys)


def test_render_eq_bands_and_preset(tmp_path: Path) -> None:
    source = write_wav(tmp_path / "two.wav", stereo(tone(100, 2.0, 0.25) + tone(4000, 2.0, 0.25)))
    levels = {}
    for name, extra in {
        "flat": [],
        "eq": ["--eq", "100=-12", "--eq", "4k=+6"],
        "preset": ["--eq-preset", "bass", "--eq", "100=0"],
    }.items():
        out = tmp_path / f"{name}.wav"
        assert main(["render", str(source), "-o", str(out), *extra]) == 0
        audio = read_wav(out)[2][:, 0]
        levels[name] = [analysis.dbfs(analysis.band_level(audio, f * 0.95, f * 1.05)) for f in (100, 4000)]
    assert levels["eq"][0] - levels["flat"][0] == pytest.approx(-12, abs=0.5)
    assert levels["eq"][1] - levels["flat"][1] == pytest.approx(6, abs=0.5)
    # bass lifts 100 Hz by 4 dB, but --eq set it back to 0; 4 kHz is untouched by the preset
    assert levels["preset"][0] - levels["flat"][0] == pytest.approx(0, abs=0.5)
    assert levels["preset"][1] - levels["flat"][1] == pytest.approx(0, abs=0.5)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--eq", "1234=5"], "The bands are: 25, 40, 63, 100"),
        (["--eq", "100=20"], "from -12 to +12 dB"),
        (["--eq", "100"], "is not HZ=DB"),
        (["--eq-preset", "jazz"], "presets: flat, bass, rock, pop, vocal, treble"),
    ],
)
def test_bad_eq_options_are_one_line_errors(
    a440: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["render", str(a440), "-o", str(tmp_path / "x.wav"), *argv]) == 2
    assert message in one_line_error(capsys)
