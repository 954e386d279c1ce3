"""The audio pipeline: argv shape, volume by measured level, and OpusStream on real ffmpeg."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from player_sink import decode

from audio_fixtures import ffmpeg_exe, http_server, run_pcm, steps, stereo, tone, write_wav
from egress_thread import egress_proxy
from zilean.core import analysis
from zilean.core.errors import PlaybackError, ZileanError
from zilean.core.media import MediaInput
from zilean.core.pipeline import (
    FFMPEG_NICE,
    OpusStream,
    PlaybackSpec,
    audio_filters,
    ffmpeg_argv,
    ffmpeg_env,
    gain_for,
)

TWENTY_MS_CONFIGS = {1, 5, 9, 13, 15, 19, 23, 27, 31}


def local(path: Path) -> MediaInput:
    return MediaInput(str(path), is_local_file=True)


@pytest.fixture(scope="module")
def a440(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_wav(tmp_path_factory.mktemp("audio") / "a440.wav", stereo(tone(440, 2.0, amplitude=0.5)))


def drain(stream: OpusStream, timeout: float = 30) -> list[bytes]:
    """Read until the stream ends."""
    packets: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        packet = stream.read()
        if packet is None:
            return packets
        if packet:
            packets.append(packet)
        else:
            time.sleep(0.005)
    raise AssertionError("stream did not end")


def test_gain_is_a_quarter_of_the_shown_volume() -> None:
    assert gain_for(100) == 0.25
    assert gain_for(200) == 0.5
    assert gain_for(0) == 0.0
    with pytest.raises(PlaybackError):
        gain_for(201)
    with pytest.raises(PlaybackError):
        gain_for(-1)


def test_filter_order_is_format_effects_volume_resample() -> None:
    graph = audio_filters(PlaybackSpec(MediaInput("/x.wav", is_local_file=True), ("bassboost",), 150))
    assert graph == (
        "aformat=sample_fmts=fltp:channel_layouts=stereo,bass=g=10:f=100:w=0.6,volume=0.3750,"
        "aresample=48000:resampler=soxr"
    )


def test_argv_for_a_local_file_only_allows_file_protocol() -> None:
    argv = ffmpeg_argv(
        "ffmpeg", PlaybackSpec(MediaInput("/music/a:b.mp3", is_local_file=True), start_ms=1500)
    )
    assert argv[:5] == ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error"]
    assert argv[argv.index("-protocol_whitelist") + 1] == "file"
    assert argv[argv.index("-i") + 1] == "file:/music/a:b.mp3"
    assert argv.index("-ss") < argv.index("-i")  # input seeking
    assert argv[argv.index("-ss") + 1] == "1.500"
    assert "-reconnect" not in argv
    assert argv[argv.index("-c:a") + 1] == "libopus"
    assert argv[argv.index("-compression_level") + 1] == "7"
    assert argv[argv.index("-frame_duration") + 1] == "20"
    assert argv[-1] == "pipe:1"


PROXIED = MediaInput("http://zilean.invalid/t0k3n/0/a.webm", proxy="http://127.0.0.1:9")


def test_argv_for_a_network_input_goes_through_the_proxy_only() -> None:
    argv = ffmpeg_argv("ffmpeg", PlaybackSpec(PROXIED), output="wav")
    # No https/tls (they would bypass the proxy) and only demuxers that open nothing else.
    assert argv[argv.index("-protocol_whitelist") + 1] == "http,tcp,crypto"
    formats = argv[argv.index("-format_whitelist") + 1].split(",")
    assert "dash" not in formats and "concat" not in formats and "mp3" in formats
    assert argv[argv.index("-http_proxy") + 1] == "http://127.0.0.1:9"
    assert argv[argv.index("-max_redirects") + 1] == "0"
    assert argv[argv.index("-reconnect_max_retries") + 1] == "5"
    assert argv.index("-reconnect") < argv.index("-i")
    assert "-headers" not in argv and "-ss" not in argv
    assert argv[argv.index("-f") + 1] == "wav"


def test_ffmpeg_env_points_every_http_open_at_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "*")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.setenv("HTTP_PROXY", "http://elsewhere:3128")
    env = ffmpeg_env(PROXIED)
    assert env is not None
    assert env["http_proxy"] == "http://127.0.0.1:9"
    assert not {"NO_PROXY", "no_proxy", "HTTP_PROXY"} & set(env)
    assert ffmpeg_env(MediaInput("/a.wav", is_local_file=True)) is None


@pytest.mark.parametrize(
    "media",
    [
        MediaInput("relative/path.mp3", is_local_file=True),
        MediaInput("file:///etc/passwd"),
        MediaInput("-i /etc/passwd"),
        MediaInput("https://cdn.example/a.mp3"),  # a network URL not of the proxy
        MediaInput("https://cdn.example/a.mp3", proxy="http://127.0.0.1:9"),
        MediaInput("http://zilean.invalid/t/0/a.mp3"),  # a proxy URL without the proxy
    ],
)
def test_argv_refuses_inputs_that_are_not_guarded_values(media: MediaInput) -> None:
    with pytest.raises(PlaybackError):
        ffmpeg_argv("ffmpeg", PlaybackSpec(media))


def test_unknown_effect_is_refused_before_ffmpeg_starts() -> None:
    with pytest.raises(ZileanError, match="nightcore"):
        OpusStream("ffmpeg", PlaybackSpec(MediaInput("/x.wav", is_local_file=True), ("lofi",)))


@pytest.mark.parametrize(("percent", "ratio"), [(100, 0.25), (200, 0.5), (50, 0.125)])
def test_volume_scales_the_measured_level(a440: Path, percent: int, ratio: float) -> None:
    out = run_pcm(ffmpeg_argv(ffmpeg_exe(), PlaybackSpec(local(a440), volume_percent=percent), output="pcm"))
    source_rms = analysis.rms(tone(440, 2.0, amplitude=0.5))
    for channel in (0, 1):
        assert analysis.rms(out[:, channel]) / source_rms == pytest.approx(ratio, rel=0.03)


def test_volume_zero_is_silent(a440: Path) -> None:
    out = run_pcm(ffmpeg_argv(ffmpeg_exe(), PlaybackSpec(local(a440), volume_percent=0), output="pcm"))
    assert out.shape[0] > 0
    assert analysis.is_silent(out[:, 0], threshold_dbfs=-90)


def test_any_source_rate_and_mono_becomes_48k_stereo(tmp_path: Path) -> None:
    source = write_wav(tmp_path / "mono44k.wav", tone(1000, 1.0, amplitude=0.5, rate=44_100), rate=44_100)
    out = run_pcm(ffmpeg_argv(ffmpeg_exe(), PlaybackSpec(local(source), volume_percent=200), output="pcm"))
    assert out.shape[0] == pytest.approx(48_000, abs=100)
    assert analysis.dominant_frequency(out[:, 1]) == pytest.approx(1000, abs=2)
    # ffmpeg spreads mono over both channels power-preservingly: -3 dB each, the same total power.
    total_power = analysis.rms(out[:, 0]) ** 2 + analysis.rms(out[:, 1]) ** 2
    assert np.sqrt(total_power) / analysis.rms(tone(1000, 1.0, amplitude=0.5)) == pytest.approx(0.5, rel=0.03)


def assert_stream_of_a440(stream: OpusStream) -> None:
    stream.start()
    assert stream.wait_ready(20)
    packets = drain(stream)
    assert stream.error is None
    assert stream.packets_read == len(packets)
    # 2 s of audio = 100 packets of 20 ms (libopus may add one for its pre-skip).
    assert 99 <= len(packets) <= 102
    # The TOC byte (RFC 6716 §3.1): a config whose frame size is 20 ms, one frame per packet.
    assert all(packet[0] >> 3 in TWENTY_MS_CONFIGS and packet[0] & 3 == 0 for packet in packets)
    pcm = decode(packets[10:40])
    assert pcm.shape[0] == 30 * 960  # every packet decodes to exactly 20 ms at 48 kHz
    assert analysis.dominant_frequency(pcm[:, 0]) == pytest.approx(440, abs=2)


def test_opus_stream_from_a_local_file(a440: Path) -> None:
    with OpusStream(ffmpeg_exe(), PlaybackSpec(local(a440))) as stream:
        assert_stream_of_a440(stream)


def test_a_full_pipe_holds_ffmpeg_back_without_losing_or_reordering_packets(tmp_path: Path) -> None:
    # 30 s of Opus is more than the pipe holds: ffmpeg blocks until read() drains it.
    source = write_wav(tmp_path / "long.wav", tone(440, 30.0, amplitude=0.5))
    with OpusStream(ffmpeg_exe(), PlaybackSpec(local(source))) as held_back:
        held_back.start()
        time.sleep(1.0)  # ffmpeg fills the pipe, then waits
        assert held_back.returncode is None
        packets = drain(held_back)
    with OpusStream(ffmpeg_exe(), PlaybackSpec(local(source))) as reference:
        reference.start()
        expected = drain(reference)
    assert 1499 <= len(expected) <= 1502
    assert packets == expected


def test_ffmpeg_yields_the_cpu_to_the_sender(tmp_path: Path) -> None:
    long = write_wav(tmp_path / "long.wav", tone(440, 30.0, amplitude=0.3))
    with OpusStream(ffmpeg_exe(), PlaybackSpec(local(long))) as stream:
        stream.start()
        assert stream.wait_ready(20)
        assert stream._process is not None
        assert os.getpriority(os.PRIO_PROCESS, stream._process.pid) == FFMPEG_NICE


def test_opus_stream_from_local_http(a440: Path) -> None:
    with http_server(a440.parent) as base, egress_proxy(base) as proxy:
        media = proxy.media(f"{base}/a440.wav")
        with OpusStream(ffmpeg_exe(), PlaybackSpec(media)) as stream:
            assert_stream_of_a440(stream)
        assert media.ticket is not None and media.ticket.requests >= 1  # ffmpeg came through the proxy


@pytest.mark.parametrize("over_http", [False, True], ids=["file", "http-server-without-ranges"])
def test_start_ms_seeks_into_the_track(tmp_path: Path, over_http: bool) -> None:
    source = write_wav(tmp_path / "steps.wav", steps([300, 500, 700, 900]))
    with contextlib.ExitStack() as stack:
        media = local(source)
        if over_http:  # this server ignores Range requests: the proxy skips to the wanted byte itself
            base = stack.enter_context(http_server(tmp_path))
            media = stack.enter_context(egress_proxy(base)).media(f"{base}/steps.wav")
        with OpusStream(ffmpeg_exe(), PlaybackSpec(media, start_ms=2000)) as stream:
            stream.start()
            packets = drain(stream)
    assert stream.error is None
    assert 98 <= len(packets) <= 102  # the last 2 of 4 seconds
    pcm = decode(packets)
    assert analysis.dominant_frequency(pcm[5 : 45 * 960, 0]) == pytest.approx(700, abs=2)
    assert analysis.dominant_frequency(pcm[55 * 960 : 95 * 960, 0]) == pytest.approx(900, abs=2)


def test_a_file_that_is_not_audio_sets_an_error(tmp_path: Path) -> None:
    bogus = tmp_path / "cover.wav"
    bogus.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40)
    stream = OpusStream(ffmpeg_exe(), PlaybackSpec(local(bogus)))
    stream.start()
    assert not stream.wait_ready(20)
    assert drain(stream) == []
    assert stream.read() is None
    assert stream.error is not None and "could not be played" in stream.error
    assert str(bogus) not in stream.error
    stream.close()


def test_a_missing_http_file_is_a_download_error(tmp_path: Path) -> None:
    with http_server(tmp_path) as base, egress_proxy(base) as proxy:
        stream = OpusStream(ffmpeg_exe(), PlaybackSpec(proxy.media(f"{base}/gone.mp3?token=secret")))
        stream.start()
        assert drain(stream) == []
    assert stream.error is not None and "could not be downloaded" in stream.error
    assert "secret" not in stream.error and "127.0.0.1" not in stream.error
    stream.close()


def test_a_redirect_is_followed_by_the_guard_and_a_page_refused_by_ffmpeg(tmp_path: Path, a440: Path) -> None:
    (tmp_path / "music").mkdir()
    (tmp_path / "music" / "index.html").write_text("<html>not audio</html>")
    with http_server(tmp_path) as base, egress_proxy(base) as proxy:
        # The server answers /music with a 301 to /music/: the proxy follows it (checked), finds an
        # HTML page, and ffmpeg refuses it (not an audio format on its whitelist).
        stream = OpusStream(ffmpeg_exe(), PlaybackSpec(proxy.media(f"{base}/music")))
        stream.start()
        assert drain(stream) == []
    assert stream.error is not None and "could not be played" in stream.error
    stream.close()


def test_seeking_past_the_end_reports_no_audio(a440: Path) -> None:
    with OpusStream(ffmpeg_exe(), PlaybackSpec(local(a440), start_ms=60_000)) as stream:
        stream.start()
        assert drain(stream) == []
    assert stream.error is not None


def test_close_kills_ffmpeg_and_is_idempotent(tmp_path: Path) -> None:
    long = write_wav(tmp_path / "long.wav", tone(440, 30.0, amplitude=0.3))
    stream = OpusStream(ffmpeg_exe(), PlaybackSpec(local(long)))
    stream.start()
    assert stream.wait_ready(20)
    process = stream._process
    assert process is not None and process.poll() is None  # blocked on the full pipe, still alive
    stream.close()
    stream.close()
    assert process.returncode is not None and process.returncode != 0  # killed, and reaped (no zombie)
    assert stream.read() is None  # closed: buffered packets are dropped, the stream has ended
    with pytest.raises(PlaybackError):
        stream.start()


def test_close_before_start_is_harmless(a440: Path) -> None:
    stream = OpusStream(ffmpeg_exe(), PlaybackSpec(local(a440)))
    stream.close()
    assert stream.error is None


def test_output_that_is_not_ogg_opus_stops_ffmpeg(tmp_path: Path) -> None:
    long = write_wav(tmp_path / "long.wav", tone(440, 60.0, amplitude=0.3))
    stream = OpusStream(ffmpeg_exe(), PlaybackSpec(local(long)))
    # The same input, but WAV on stdout: the parser must refuse it and ffmpeg must not be left
    # blocked on a pipe nobody drains.
    stream._argv = ffmpeg_argv(ffmpeg_exe(), PlaybackSpec(local(long)), output="wav")
    stream.start()
    assert not stream.wait_ready(20)
    assert drain(stream) == []
    assert stream.error == "The audio encoder produced an unreadable stream."
    assert stream.returncode is not None
    stream.close()


def test_an_encrypted_hls_stream_plays_through_the_proxy(tmp_path: Path) -> None:
    # AES-128 HLS: the playlist is rewritten by the proxy, the key and the segments fetched through it.
    (tmp_path / "enc.key").write_bytes(os.urandom(16))
    (tmp_path / "key.info").write_text(f"enc.key\n{tmp_path / 'enc.key'}\n{os.urandom(16).hex()}\n")
    source = write_wav(tmp_path / "tone.wav", stereo(tone(440, 4.0, amplitude=0.5)))
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(source), "-c:a", "aac", "-f", "hls",
         "-hls_time", "2", "-hls_key_info_file", str(tmp_path / "key.info"),
         "-hls_segment_filename", str(tmp_path / "seg%d.ts"), str(tmp_path / "list.m3u8")],
        check=True,
    )  # fmt: skip
    assert "#EXT-X-KEY:METHOD=AES-128" in (tmp_path / "list.m3u8").read_text()
    with http_server(tmp_path) as base, egress_proxy(base) as proxy:
        media = proxy.media(f"{base}/list.m3u8")
        with OpusStream(ffmpeg_exe(), PlaybackSpec(media)) as stream:
            stream.start()
            packets = drain(stream)
    assert stream.error is None
    assert 195 <= len(packets) <= 205  # 4 s
    assert analysis.dominant_frequency(decode(packets[20:180])[:, 0]) == pytest.approx(440, abs=2)
    assert proxy.proxy.refused == 0
