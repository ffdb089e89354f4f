"""Decoding and refusals of purport.media, on files encoded here with PyAV's own encoders."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pytest

from purport.errors import MediaError, ParameterError
from purport.media import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_DURATION,
    MediaInfo,
    Signal,
    load,
    probe,
    resample,
    sha256_file,
)

TITLE = "Purported statement"


# --- encoding helpers ---------------------------------------------------------------------


def _encoder(*names: str) -> str:
    """First of `names` this PyAV build can encode with, else skip the test saying which."""
    available = av.codecs_available
    for name in names:
        if name in available and _is_encoder(name):
            return name
    pytest.skip(f"no encoder among {', '.join(names)} in this PyAV/FFmpeg build")


def _is_encoder(name: str) -> bool:
    """Whether FFmpeg has an encoder called `name` (av.codecs_available mixes in decoders)."""
    try:
        return av.Codec(name, "w").is_encoder
    except ValueError:  # av.codec.codec.UnknownCodecError
        return False


def _tone(freq: float, seconds: float, rate: int) -> np.ndarray:
    """Sine at `freq` Hz, amplitude 0.5, float32."""
    t = np.arange(round(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _encode(
    path: Path,
    *,
    fmt: str,
    codec: str,
    rate: int,
    y: np.ndarray,
    layout: str = "mono",
    video: str | None = None,
    title: str | None = TITLE,
    muxer_options: dict[str, str] | None = None,
    codec_options: dict[str, str] | None = None,
) -> Path:
    """Write `y` (mono float32) as `layout` audio with `codec` in a `fmt` container at `path`."""
    channels = 2 if layout == "stereo" else 1
    with av.open(str(path), "w", format=fmt, options=muxer_options or {}) as out:
        if title:
            out.metadata["title"] = title
        vstream = None
        if video:
            vstream = out.add_stream(video, rate=10)
            vstream.width, vstream.height, vstream.pix_fmt = 64, 48, "yuv420p"
        astream = out.add_stream(codec, rate=rate, options=codec_options or {})
        astream.layout = layout
        frame = av.AudioFrame.from_ndarray(
            np.repeat(y[np.newaxis, :], channels, axis=0).T.reshape(1, -1).copy(),
            format="flt",
            layout=layout,
        )
        frame.sample_rate, frame.pts = rate, 0
        if vstream is not None:
            for i in range(int(len(y) / rate * 10)):
                image = np.full((48, 64, 3), (i * 20) % 256, dtype=np.uint8)
                for packet in vstream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                    out.mux(packet)
            out.mux(vstream.encode(None))
        out.mux(astream.encode(frame))  # PyAV converts and re-frames to the encoder's needs
        out.mux(astream.encode(None))
    return path


@dataclass(frozen=True)
class Case:
    """One container/codec pairing to encode, with what probing it should report."""

    id: str
    suffix: str
    fmt: str
    encoders: tuple[str, ...]
    rate: int
    container: str
    codec: str
    layout: str = "mono"
    video: tuple[str, ...] = ()
    codec_options: tuple[tuple[str, str], ...] = ()


CASES = [
    Case("wav", ".wav", "wav", ("pcm_s16le",), 44100, "wav", "pcm_s16le", "stereo"),
    Case("flac", ".flac", "flac", ("flac",), 44100, "flac", "flac"),
    Case("mp3", ".mp3", "mp3", ("libmp3lame", "mp3"), 44100, "mp3", "mp3", "stereo"),
    Case("m4a", ".m4a", "ipod", ("aac",), 44100, "mov,mp4,m4a,3gp,3g2,mj2", "aac"),
    Case(
        "ogg-vorbis", ".ogg", "ogg", ("libvorbis", "vorbis"), 44100, "ogg", "vorbis", "stereo",
        codec_options=(("strict", "experimental"),),
    ),
    Case("ogg-opus", ".ogg", "ogg", ("libopus", "opus"), 48000, "ogg", "opus"),
    Case("webm-opus", ".webm", "webm", ("libopus", "opus"), 48000, "matroska,webm", "opus"),
    Case(
        "mp4-video", ".mp4", "mp4", ("aac",), 44100, "mov,mp4,m4a,3gp,3g2,mj2", "aac",
        video=("mpeg4", "libx264"),
    ),
    Case(
        "mkv-video", ".mkv", "matroska", ("libopus", "opus"), 48000, "matroska,webm", "opus",
        "stereo", video=("libx264", "mpeg4"),
    ),
]


def _make(case: Case, tmp_path: Path, *, freq: float = 440.0, seconds: float = 2.0) -> Path:
    """Encode a `seconds`-long tone as `case` describes, skipping when an encoder is absent."""
    codec = _encoder(*case.encoders)
    video = _encoder(*case.video) if case.video else None
    return _encode(
        tmp_path / f"tone-{case.id}{case.suffix}",
        fmt=case.fmt,
        codec=codec,
        rate=case.rate,
        y=_tone(freq, seconds, case.rate),
        layout=case.layout,
        video=video,
        codec_options=dict(case.codec_options),
    )


def _peak_hz(y: np.ndarray, sr: int) -> float:
    """Frequency of the strongest FFT bin."""
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return float(np.argmax(spectrum)) * sr / len(y)


def _wav(tmp_path: Path, name: str = "tone.wav", seconds: float = 3.0) -> Path:
    """Write a mono 16 kHz 16-bit WAV tone."""
    return _encode(
        tmp_path / name, fmt="wav", codec="pcm_s16le", rate=16000, y=_tone(440.0, seconds, 16000)
    )


def _cut(path: Path, fraction: float = 0.5) -> Path:
    """Copy of `path` keeping only the first `fraction` of its bytes."""
    data = path.read_bytes()
    cut = path.with_name(f"cut-{path.name}")
    cut.write_bytes(data[: int(len(data) * fraction)])
    return cut


# --- decoding every format ----------------------------------------------------------------


@pytest.mark.parametrize("sr", [8000, 16000])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_format_decodes_to_requested_rate_with_tone_intact(
    case: Case, sr: int, tmp_path: Path
) -> None:
    path = _make(case, tmp_path, freq=1000.0, seconds=2.0)
    signal = load(path, sr=sr)
    assert isinstance(signal, Signal)
    assert signal.sr == sr
    assert signal.y.dtype == np.float32
    assert signal.y.ndim == 1
    assert signal.duration == pytest.approx(2.0, abs=0.05)
    assert signal.info.duration == pytest.approx(2.0, abs=0.05)
    assert _peak_hz(signal.y, sr) == pytest.approx(1000.0, abs=3.0)
    middle = signal.y[len(signal.y) // 4 : -len(signal.y) // 4]  # codecs ring at abrupt edges
    assert 0.4 < np.max(np.abs(middle)) < 0.6


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_metadata_round_trips(case: Case, tmp_path: Path) -> None:
    path = _make(case, tmp_path)
    info = probe(path)
    assert info.container == case.container
    assert info.codec == case.codec
    assert info.channels == (2 if case.layout == "stereo" else 1)
    assert info.sample_rate == case.rate
    assert info.tags.get("title") == TITLE
    assert info.bit_rate is None or info.bit_rate > 0
    assert info.name == path.name
    assert info.path == str(path.resolve())
    assert info.size_bytes == path.stat().st_size


def test_opus_voice_note_decodes_to_requested_rate(tmp_path: Path) -> None:
    codec = _encoder("libopus", "opus")
    path = _encode(
        tmp_path / "voice-note.ogg", fmt="ogg", codec=codec, rate=48000,
        y=_tone(440.0, 2.5, 48000), title=None, codec_options={"b": "24000"},
    )
    signal = load(path, sr=16000)
    assert signal.sr == 16000
    assert signal.info.sample_rate == 48000
    assert len(signal.y) == pytest.approx(2.5 * 16000, abs=0.02 * 16000)
    assert _peak_hz(signal.y, 16000) == pytest.approx(440.0, abs=3.0)


def test_stereo_is_mixed_to_mono(tmp_path: Path) -> None:
    path = _encode(
        tmp_path / "stereo.wav", fmt="wav", codec="pcm_s16le", rate=44100,
        y=_tone(440.0, 1.0, 44100), layout="stereo",
    )
    signal = load(path, sr=16000)
    assert signal.info.channels == 2
    assert signal.y.shape == (16000,)
    assert np.max(np.abs(signal.y)) == pytest.approx(0.5, abs=0.02)


def test_video_file_yields_only_its_audio_track(tmp_path: Path) -> None:
    mp4 = _make(CASES[[c.id for c in CASES].index("mp4-video")], tmp_path, seconds=1.5)
    with av.open(str(mp4)) as container:
        assert len(container.streams.video) == 1
    signal = load(mp4, sr=8000)
    assert signal.duration == pytest.approx(1.5, abs=0.05)
    assert _peak_hz(signal.y, 8000) == pytest.approx(440.0, abs=3.0)


def test_sample_rate_already_matching_passes_through(tmp_path: Path) -> None:
    y = _tone(440.0, 1.0, 16000)
    path = _encode(tmp_path / "f32.wav", fmt="wav", codec="pcm_f32le", rate=16000, y=y)
    signal = load(path, sr=16000)
    np.testing.assert_allclose(signal.y, y, atol=1e-6)


def test_any_positive_rate_is_honoured(tmp_path: Path) -> None:
    signal = load(_wav(tmp_path, seconds=1.0), sr=22050)
    assert signal.sr == 22050
    assert len(signal.y) == pytest.approx(22050, abs=2)


def test_sha256_matches_hashlib(tmp_path: Path) -> None:
    path = _wav(tmp_path)
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    assert sha256_file(path) == expected
    assert load(path).info.sha256 == expected


def test_probe_reports_what_load_learns(tmp_path: Path) -> None:
    path = _wav(tmp_path)
    info = probe(path)
    assert isinstance(info, MediaInfo)
    assert info == load(path, sr=8000).info
    assert info.duration == pytest.approx(3.0, abs=1e-3)


def test_media_info_is_json_ready(tmp_path: Path) -> None:
    info = probe(_wav(tmp_path))
    data = json.loads(json.dumps(info.to_dict()))
    assert data["codec"] == "pcm_s16le"
    assert data["tags"]["title"] == TITLE
    assert set(data) == {
        "path", "name", "size_bytes", "sha256", "container", "codec",
        "bit_rate", "sample_rate", "channels", "duration", "tags",
    }


def test_default_caps() -> None:
    assert DEFAULT_MAX_BYTES == 2 * 1024**3
    assert DEFAULT_MAX_DURATION == 6 * 3600.0


@pytest.mark.parametrize("suffix", [".mp3", ".m4a", ".ogg", ".webm"])
def test_encoder_padding_is_not_called_truncation(suffix: str, tmp_path: Path) -> None:
    case = next(c for c in CASES if c.suffix == suffix)
    for seconds in (0.3, 1.0, 2.7):
        signal = load(_make(case, tmp_path, seconds=seconds), sr=16000)
        assert signal.duration == pytest.approx(seconds, abs=0.05)


def test_vbr_mp3_without_xing_header_is_not_called_truncated(tmp_path: Path) -> None:
    # FFmpeg guesses this file's duration from the first (silent, tiny) frame's bitrate, so the
    # header "declares" ~1.5x the real length; that guess must not count as a declaration.
    codec = _encoder("libmp3lame", "mp3")
    y = _tone(440.0, 3.0, 44100)
    y[: len(y) // 3] = 0.0
    y[len(y) // 3 :] += 0.3 * np.random.default_rng(0).standard_normal(len(y) - len(y) // 3)
    path = _encode(
        tmp_path / "vbr.mp3", fmt="mp3", codec=codec, rate=44100, y=y.astype(np.float32),
        muxer_options={"write_xing": "0"},
        codec_options={"flags": "+qscale", "global_quality": str(2 * 118)},
    )
    assert load(path).duration == pytest.approx(3.0, abs=0.06)


# --- resample -----------------------------------------------------------------------------


@pytest.mark.parametrize(("orig_sr", "target_sr"), [(48000, 16000), (16000, 8000), (8000, 44100)])
def test_resample_keeps_length_and_tone(orig_sr: int, target_sr: int) -> None:
    y = _tone(1000.0, 1.5, orig_sr)
    out = resample(y, orig_sr=orig_sr, target_sr=target_sr)
    assert out.dtype == np.float32
    assert out.ndim == 1
    assert len(out) == pytest.approx(1.5 * target_sr, abs=2)
    assert _peak_hz(out, target_sr) == pytest.approx(1000.0, abs=2.0)


def test_resample_to_same_rate_returns_a_copy() -> None:
    y = _tone(440.0, 0.1, 16000)
    out = resample(y, orig_sr=16000, target_sr=16000)
    np.testing.assert_array_equal(out, y)
    assert out is not y


def test_resample_refuses_bad_arguments() -> None:
    y = _tone(440.0, 0.1, 16000)
    with pytest.raises(ParameterError, match="target_sr"):
        resample(y, orig_sr=16000, target_sr=0)
    with pytest.raises(ParameterError, match="mono"):
        resample(np.zeros((2, 100), np.float32), orig_sr=16000, target_sr=8000)


# --- refusals -----------------------------------------------------------------------------


def test_missing_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="no such file"):
        load(tmp_path / "nowhere.wav")


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="is a directory"):
        load(tmp_path)


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.touch()
    with pytest.raises(MediaError, match=r"empty \(0 bytes\)"):
        load(path)


def test_text_file_renamed_mp3_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "statement.mp3"
    path.write_text("This is not audio, only words about audio.\n" * 40)
    with pytest.raises(MediaError, match=r"statement\.mp3: unreadable"):
        load(path)


def test_random_bytes_ogg_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "noise.ogg"
    path.write_bytes(np.random.default_rng(7).bytes(20000))
    with pytest.raises(MediaError, match="unreadable"):
        load(path)


def test_video_only_mp4_has_no_audio_stream(tmp_path: Path) -> None:
    video = _encoder("mpeg4", "libx264")
    path = tmp_path / "silent-film.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream(video, rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for _ in range(5):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(
                np.zeros((48, 64, 3), np.uint8), format="rgb24")))
        out.mux(stream.encode(None))
    with pytest.raises(MediaError, match="no audio stream"):
        load(path)


def test_zero_length_audio_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nothing.wav"
    with av.open(str(path), "w", format="wav") as out:
        stream = out.add_stream("pcm_s16le", rate=16000)
        stream.layout = "mono"
        out.start_encoding()
    with pytest.raises(MediaError, match="zero-length audio"):
        load(path)


def test_file_over_max_bytes_is_refused_before_opening(tmp_path: Path) -> None:
    path = _wav(tmp_path)
    with pytest.raises(MediaError, match="above the limit of 1000 bytes"):
        load(path, max_bytes=1000)


def test_header_over_max_duration_is_refused_before_decoding(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match=r"header declares 3\.0 s.*limit of 1\.0 s"):
        load(_wav(tmp_path), max_duration=1.0)


def test_decoding_stops_once_past_max_duration(tmp_path: Path) -> None:
    # ADTS AAC has no duration in its header (FFmpeg only guesses one), so the cap bites mid-decode.
    path = _encode(
        tmp_path / "long.aac", fmt="adts", codec="aac", rate=16000, y=_tone(440.0, 3.0, 16000),
        title=None,
    )
    with pytest.raises(MediaError, match=r"runs past the limit of 1\.0 s"):
        load(path, max_duration=1.0)
    assert probe(path, max_duration=5.0).duration == pytest.approx(3.0, abs=0.1)


def test_truncated_wav_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match=r"truncated, decoded 1\.5 s of the 3\.0 s"):
        load(_cut(_wav(tmp_path)))


@pytest.mark.parametrize("faststart", [False, True], ids=["moov-at-end", "faststart"])
def test_truncated_m4a_is_refused(faststart: bool, tmp_path: Path) -> None:
    path = _encode(
        tmp_path / "tone.m4a", fmt="ipod", codec="aac", rate=44100, y=_tone(440.0, 3.0, 44100),
        muxer_options={"movflags": "faststart"} if faststart else None,
    )
    with pytest.raises(MediaError, match=r"unreadable|truncated"):
        load(_cut(path))


@pytest.mark.parametrize("case_id", ["flac", "mp3", "webm-opus", "mkv-video"])
def test_truncated_files_with_declared_length_are_refused(case_id: str, tmp_path: Path) -> None:
    case = next(c for c in CASES if c.id == case_id)
    with pytest.raises(MediaError, match="truncated"):
        load(_cut(_make(case, tmp_path, seconds=3.0)))


@pytest.mark.parametrize("sr", [0, -16000, 16000.0, True])
def test_bad_rate_is_a_parameter_error(sr: object, tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="sr"):
        load(_wav(tmp_path), sr=sr)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "caps", [{"max_bytes": 0}, {"max_duration": 0.0}, {"max_duration": float("nan")}]
)
def test_bad_caps_are_a_parameter_error(caps: dict[str, float], tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="max_"):
        load(_wav(tmp_path), **caps)  # type: ignore[arg-type]
