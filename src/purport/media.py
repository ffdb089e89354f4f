"""Decode any file FFmpeg reads (via PyAV) to mono float32, refusing unusable files clearly.

Every refusal is a :class:`~purport.errors.MediaError` whose message is one line naming the
file and the reason; bad arguments raise :class:`~purport.errors.ParameterError`.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

import av
import av.logging
import numpy as np

from purport.errors import MediaError, ParameterError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DURATION",
    "SR",
    "MediaInfo",
    "Signal",
    "load",
    "probe",
    "resample",
    "sha256_file",
]

SR: int = 16000
"""The rate a questioned recording is decoded at, once, for every question: the speech band
voice needs; reuse (8 kHz) and timing (1 kHz) resample from it."""

DEFAULT_MAX_BYTES: int = 2 * 1024**3
DEFAULT_MAX_DURATION: float = 6 * 3600.0

MIN_DURATION: float = 0.001
"""Audio shorter than this (1 ms) counts as zero-length."""

SILENT_SPAN: float = 2.0 / 32768
"""Audio whose samples all lie within one 16-bit step of each other is digital silence."""

_ESTIMATED_LOG = "Estimating duration from bitrate"
_WAV_SIZE_PLACEHOLDER = 0x7FFFF000


@dataclass(frozen=True)
class MediaInfo:
    """What a media file is and holds: identity, container, audio codec, rate, length, tags."""

    path: str
    name: str
    size_bytes: int
    sha256: str
    container: str
    codec: str
    bit_rate: int | None
    sample_rate: int
    channels: int
    duration: float
    tags: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of every field."""
        return asdict(self)


@dataclass
class Signal:
    """Decoded mono audio `y` (float32) at rate `sr`, with the facts about its source file."""

    y: np.ndarray
    sr: int
    info: MediaInfo

    @property
    def duration(self) -> float:
        """Length of `y` in seconds."""
        return len(self.y) / self.sr


@dataclass(frozen=True)
class _Decoded:
    """Result of one decoding pass: samples at `sr` (empty when only probing) and the length."""

    y: np.ndarray
    seconds: float
    span: float  # peak-to-peak amplitude over the whole stream (full scale = 2.0)
    damage: str | None = None  # the first decoding error once audio had started


def display_name(name: str) -> str:
    """A file name as text that can be stored and shown: bytes that are not UTF-8 (kept by
    Python as surrogates) become ``\\xff`` escapes instead of failing every write."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, streamed in chunks so large files never sit whole in memory."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def load(
    path: str | os.PathLike[str],
    *,
    sr: int = SR,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_duration: float = DEFAULT_MAX_DURATION,
) -> Signal:
    """Decode the best audio stream of any media file to mono float32 at `sr`.

    The file is read twice from disk (hashed, then decoded) but hashed once and decoded
    once: ``info.sha256`` is the digest.
    """
    _check_rate(sr, "sr")
    info, decoded = _read(path, sr=sr, max_bytes=max_bytes, max_duration=max_duration)
    return Signal(y=decoded.y, sr=sr, info=info)


def probe(
    path: str | os.PathLike[str],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_duration: float = DEFAULT_MAX_DURATION,
) -> MediaInfo:
    """Everything load() learns about a file, with the same refusals; decodes it for the length."""
    info, _ = _read(path, sr=None, max_bytes=max_bytes, max_duration=max_duration)
    return info


#: seconds of audio handed to FFmpeg's resampler at once (memory stays flat on long audio)
RESAMPLE_BLOCK = 30


def resample(y: np.ndarray, *, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample mono float32 `y` from `orig_sr` to `target_sr` with FFmpeg's swresample."""
    _check_rate(orig_sr, "orig_sr")
    _check_rate(target_sr, "target_sr")
    y = np.asarray(y)
    if y.ndim != 1:
        raise ParameterError(f"resample expects mono audio of shape (n,), got shape {y.shape}")
    y = np.ascontiguousarray(y, dtype=np.float32)
    if orig_sr == target_sr or y.size == 0:
        return y.copy()
    resampler = av.AudioResampler(format="flt", layout="mono", rate=target_sr)
    out: list[np.ndarray] = []
    step = RESAMPLE_BLOCK * orig_sr  # a block at a time: the resampler keeps its state
    for start in range(0, len(y), step):
        frame = av.AudioFrame.from_ndarray(y[np.newaxis, start:start + step], format="flt",
                                           layout="mono")
        frame.sample_rate = orig_sr
        frame.pts = start
        frame.time_base = Fraction(1, orig_sr)
        out += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame) if f is not None]
    out += [f.to_ndarray().reshape(-1) for f in resampler.resample(None) if f is not None]
    return _concat(out)


def codec_roundtrip(y: np.ndarray, sr: int, *, codec: str = "libopus", kbps: int = 16,
                    container: str = "ogg", rate: int = 48000) -> np.ndarray:
    """``y`` encoded with FFmpeg's ``codec`` at ``kbps`` kbit/s (at ``rate`` Hz) and decoded
    back to ``sr``, the length kept: what a voice note or a low-rate MP3 does to speech."""
    x = resample(y, orig_sr=sr, target_sr=rate)
    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        stream.bit_rate = int(kbps * 1000)
        frame = av.AudioFrame.from_ndarray(x[np.newaxis, :], format="flt", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    buf.seek(0)
    chunks = []
    with av.open(buf, "r") as inp:
        back = av.AudioResampler(format="flt", layout="mono", rate=sr)
        for decoded in inp.decode(audio=0):
            chunks += [f.to_ndarray().reshape(-1) for f in back.resample(decoded)]
        chunks += [f.to_ndarray().reshape(-1) for f in back.resample(None) if f is not None]
    z = _concat(chunks) if chunks else np.zeros(0, np.float32)
    return np.pad(z, (0, max(0, len(y) - len(z))))[: len(y)].astype(np.float32)


# --- checks -------------------------------------------------------------------------------


def _check_rate(value: object, name: str) -> None:
    """Refuse a sample rate that is not a positive integer."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
        raise ParameterError(f"{name} must be a positive integer number of Hz, got {value!r}")


def _check_caps(max_bytes: object, max_duration: object) -> None:
    """Refuse size and duration caps that are not positive finite numbers."""
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int | np.integer) or max_bytes <= 0:
        raise ParameterError(f"max_bytes must be a positive integer, got {max_bytes!r}")
    if (
        isinstance(max_duration, bool)
        or not isinstance(max_duration, int | float | np.integer | np.floating)
        or not math.isfinite(max_duration)
        or max_duration <= 0
    ):
        raise ParameterError(
            f"max_duration must be a positive number of seconds, got {max_duration!r}"
        )


def _check_file(path: str, label: str, max_bytes: int) -> int:
    """Size in bytes of a regular, non-empty file within `max_bytes`, else MediaError."""
    if not os.path.exists(path):
        raise MediaError(f"{label}: no such file")
    if os.path.isdir(path):
        raise MediaError(f"{label}: is a directory, not a media file")
    if not os.path.isfile(path):
        raise MediaError(f"{label}: not a regular file")
    size = os.path.getsize(path)
    if size == 0:
        raise MediaError(f"{label}: file is empty (0 bytes)")
    if size > max_bytes:
        raise MediaError(f"{label}: file is {size} bytes, above the limit of {max_bytes} bytes")
    return size


def _shortfall_tolerance(declared: float) -> float:
    """Seconds decoded audio may fall short of the header before the file counts as truncated."""
    return max(0.5, 0.02 * declared)


def _one_line(text: str) -> str:
    """Collapse whitespace so a message stays on one line."""
    return " ".join(str(text).split())


def _ffmpeg_reason(exc: av.error.FFmpegError) -> str:
    """Short human reason from an FFmpeg error: its strerror plus FFmpeg's last logged line."""
    reason = _one_line(exc.strerror or str(exc))
    log = getattr(exc, "log", None)
    detail = log[-1] if isinstance(log, tuple) and log and isinstance(log[-1], str) else ""
    detail = _one_line(detail)
    return f"{reason}: {detail}" if detail else reason


# --- opening ------------------------------------------------------------------------------


_LOG_LOCK = threading.Lock()
_LOG_USERS = 0
_LOG_SAVED: tuple[int | None, bool] = (None, True)


@contextmanager
def _ffmpeg_logs() -> Iterator[list[tuple[int, str, str]]]:
    """Capture FFmpeg warnings and errors of this thread (a duration that is a bitrate
    guess, damage met while decoding). FFmpeg's log level is one for the process: it stays
    at WARNING while any thread captures, and goes back when the last one is done."""
    global _LOG_USERS, _LOG_SAVED
    with _LOG_LOCK:
        if _LOG_USERS == 0:
            _LOG_SAVED = (av.logging.get_level(), av.logging.get_skip_repeated())
            av.logging.set_level(av.logging.WARNING)
            av.logging.set_skip_repeated(False)
        _LOG_USERS += 1
    try:
        with av.logging.Capture() as logs:
            yield logs
    finally:
        with _LOG_LOCK:
            _LOG_USERS -= 1
            if _LOG_USERS == 0:
                av.logging.set_skip_repeated(_LOG_SAVED[1])
                av.logging.set_level(_LOG_SAVED[0])


def _open(path: str, label: str) -> tuple[av.container.InputContainer, bool]:
    """Open a media container; also say whether FFmpeg only guessed durations from bitrate."""
    try:
        with _ffmpeg_logs() as logs:
            container = av.open(path, mode="r", metadata_errors="replace")
    except av.error.FFmpegError as exc:
        raise MediaError(
            f"{label}: unreadable, not a media file FFmpeg can open ({_ffmpeg_reason(exc)})"
        ) from None
    except OSError as exc:
        raise MediaError(f"{label}: cannot be read ({_one_line(exc.strerror or exc)})") from None
    estimated = any(_ESTIMATED_LOG in message for _, _, message in logs)
    return container, estimated


def _pick_audio_stream(container: av.container.InputContainer, label: str) -> av.AudioStream:
    """FFmpeg's best audio stream with channels, else the first such; MediaError if none."""
    usable = [s for s in container.streams.audio if s.codec_context.channels > 0]
    if not usable:
        kinds = sorted({s.type for s in container.streams})
        if not kinds:
            raise MediaError(f"{label}: unreadable, no streams found (truncated or not media)")
        raise MediaError(f"{label}: no audio stream (contains only {', '.join(kinds)})")
    best = container.streams.best("audio")
    return best if best in usable else usable[0]


# --- header facts -------------------------------------------------------------------------


def _parse_clock(text: str) -> float | None:
    """Seconds from an "HH:MM:SS.fff" tag (Matroska per-track DURATION), or None."""
    try:
        hours, minutes, seconds = text.strip().split(":")
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    except ValueError:
        return None


def _wav_declared_duration(path: str) -> float | None:
    """Seconds the RIFF/WAVE header declares (FFmpeg clamps this to the file size), or None."""
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        byte_rate = 0
        for _ in range(64):
            chunk = fh.read(8)
            if len(chunk) < 8:
                return None
            cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"data":
                if not byte_rate or size == 0 or size >= _WAV_SIZE_PLACEHOLDER:
                    return None
                return size / byte_rate
            body = fh.read(size + (size & 1))
            if cid == b"fmt " and len(body) >= 12:
                byte_rate = struct.unpack("<I", body[8:12])[0]
    return None


def _declared_duration(
    container: av.container.InputContainer, stream: av.AudioStream, path: str, estimated: bool
) -> float | None:
    """Audio length the header states (not a bitrate guess, not another stream's), or None."""
    if container.format.name == "wav":
        return _wav_declared_duration(path)
    if estimated:
        return None
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    tag = {k.lower(): v for k, v in stream.metadata.items()}.get("duration")
    if tag:
        return _parse_clock(tag)
    if container.duration and len(container.streams) == 1:
        return container.duration / av.time_base
    return None


def _tags(container: av.container.InputContainer, stream: av.AudioStream) -> dict[str, str]:
    """Container then stream metadata, keys lower-cased; the container wins on a clash."""
    tags: dict[str, str] = {}
    for source in (container.metadata, stream.metadata):
        for key, value in source.items():
            tags.setdefault(key.lower(), str(value))
    return tags


def _bit_rate(container: av.container.InputContainer, stream: av.AudioStream) -> int | None:
    """Bits per second of the audio stream, else of the container, else None."""
    return stream.codec_context.bit_rate or container.bit_rate or None


# --- decoding -----------------------------------------------------------------------------


def _concat(chunks: list[np.ndarray]) -> np.ndarray:
    """One float32 array from a list of 1-D chunks (empty list gives an empty array)."""
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(chunks).astype(np.float32, copy=False)


def _to_mono(frame: av.AudioFrame) -> np.ndarray:
    """Mean of the channels of a packed float32 frame (librosa's to_mono, no downmix gain)."""
    channels = len(frame.layout.channels)
    samples = frame.to_ndarray().reshape(-1, channels)
    return samples[:, 0].copy() if channels == 1 else samples.mean(axis=1, dtype=np.float32)


class _MonoSink:
    """Collects decoded frames as mono float32 at `sr`; a new resampler on each format change."""

    def __init__(self, sr: int) -> None:
        self.sr = sr
        self.chunks: list[np.ndarray] = []
        self._resampler: av.AudioResampler | None = None
        self._key: tuple[str, str, int] | None = None

    def push(self, frame: av.AudioFrame) -> None:
        """Resample one decoded frame (rate and sample format only) and keep it as mono."""
        key = (frame.format.name, frame.layout.name, frame.sample_rate)
        resampler = self._resampler
        if resampler is None or key != self._key:
            self.flush()
            # output in large frames: one array per 16384 samples, not per codec frame
            resampler = av.AudioResampler(format="flt", layout=frame.layout, rate=self.sr,
                                          frame_size=16384)
            self._resampler, self._key = resampler, key
        self._keep(resampler.resample(frame))

    def flush(self) -> None:
        """Drain the samples the resampler still holds."""
        if self._resampler is not None:
            self._keep(self._resampler.resample(None))
            self._resampler = None
            self._key = None

    def _keep(self, frames: list[av.AudioFrame | None]) -> None:
        """Append resampled frames as mono (a passthrough flush yields None; skip it)."""
        self.chunks.extend(_to_mono(f) for f in frames if f is not None)


def _decode(
    container: av.container.InputContainer,
    stream: av.AudioStream,
    *,
    sr: int | None,
    max_duration: float,
    label: str,
) -> _Decoded:
    """Decode `stream`, stopping as soon as it passes `max_duration`; resample when `sr` is set.

    FFmpeg errors it logs once audio has started (a CRC mismatch, a lost frame header) make
    the file corrupt (``damage``): FFmpeg skips it and hands back audio with a hole in it.
    """
    sink = _MonoSink(sr) if sr else None
    seconds, low, high = 0.0, math.inf, -math.inf
    damage: str | None = None
    try:
        with _ffmpeg_logs() as logs:
            for packet in container.demux(stream):
                for frame in packet.decode():
                    if not frame.samples or not frame.sample_rate:
                        continue
                    if seconds == 0.0:
                        logs.clear()  # damage before the first frame is FFmpeg's to resync
                    seconds += frame.samples / frame.sample_rate
                    if sink is not None:
                        sink.push(frame)
                    if high - low < SILENT_SPAN:  # the silence check: until a frame sounds
                        lo, hi = _range(frame)
                        low, high = min(low, lo), max(high, hi)
                if seconds > max_duration:
                    raise MediaError(
                        f"{label}: audio runs past the limit of {max_duration:.1f} s "
                        "(stopped decoding)")
                if damage is None and (found := _damage(logs)):
                    damage = f"FFmpeg reports {found!r} after {seconds:.1f} s of audio"
            if sink is not None:
                sink.flush()
    except av.error.FFmpegError as exc:
        raise MediaError(
            f"{label}: truncated or corrupt after {seconds:.1f} s ({_ffmpeg_reason(exc)})"
        ) from None
    y = _concat(sink.chunks if sink is not None else [])
    return _Decoded(y=y, seconds=seconds, span=max(high - low, 0.0) if seconds else 0.0,
                    damage=damage)


def _range(frame: av.AudioFrame) -> tuple[float, float]:
    """Lowest and highest sample of a decoded frame, full scale -1..1 whatever its format."""
    a = frame.to_ndarray()
    lo, hi = float(a.min()), float(a.max())
    if a.dtype.kind == "u":  # unsigned 8-bit: 128 is zero
        return (lo - 128.0) / 128.0, (hi - 128.0) / 128.0
    if a.dtype.kind == "i":
        scale = float(2 ** (8 * a.dtype.itemsize - 1))
        return lo / scale, hi / scale
    return lo, hi


def _damage(logs: list[tuple[int, str, str]]) -> str | None:
    """FFmpeg's first logged error (not a warning), as one line, or None."""
    for level, _, message in logs:
        if level <= av.logging.ERROR and message.strip():
            return _one_line(message)
    return None


#: an Ogg page header: capture pattern, version, flags, granule, serial, sequence, CRC, segments
_OGG_PAGE = struct.Struct("<4sBBqIIIB")
_OGG_EOS = 0x04


def _ogg_ending(path: str) -> str | None:
    """Why an Ogg file is cut short (a partial last page, no end-of-stream page), or None.

    Ogg states no length in a header, so a file cut between pages decodes without an
    error; every complete Ogg stream ends with a page flagged end-of-stream.
    """
    size = os.path.getsize(path)
    eos = False
    with open(path, "rb") as fh:
        pos = 0
        while pos < size:
            fh.seek(pos)
            head = fh.read(_OGG_PAGE.size)
            if len(head) < _OGG_PAGE.size or head[:4] != b"OggS":
                if eos:  # bytes after a complete stream (a tag some tools append): harmless
                    return None
                return f"corrupt, no Ogg page where one should start (byte {pos} of {size})"
            flags, segments = head[5], head[26]
            table = fh.read(segments)
            if len(table) < segments:
                return f"truncated, its last Ogg page is cut short at byte {size}"
            end = pos + _OGG_PAGE.size + segments + sum(table)
            if end > size:
                return f"truncated, its last Ogg page lacks {end - size} bytes"
            eos = bool(flags & _OGG_EOS)
            pos = end
    return None if eos else "truncated, the Ogg stream has no end-of-stream page"


def _read(
    path: str | os.PathLike[str], *, sr: int | None, max_bytes: int, max_duration: float
) -> tuple[MediaInfo, _Decoded]:
    """Check, hash, open and decode one file; the single routine behind load() and probe()."""
    _check_caps(max_bytes, max_duration)
    label = os.fspath(path)
    full = os.path.abspath(os.path.expanduser(label))
    size = _check_file(full, label, max_bytes)
    try:
        digest = sha256_file(full)
    except OSError as exc:
        raise MediaError(f"{label}: cannot be read ({_one_line(exc.strerror or exc)})") from None

    container, estimated = _open(full, label)
    with container:
        stream = _pick_audio_stream(container, label)
        declared = _declared_duration(container, stream, full, estimated)
        if declared is not None and declared > max_duration + _shortfall_tolerance(max_duration):
            raise MediaError(
                f"{label}: header declares {declared:.1f} s of audio, "
                f"above the limit of {max_duration:.1f} s"
            )
        decoded = _decode(container, stream, sr=sr, max_duration=max_duration, label=label)
        info = MediaInfo(
            path=full,
            name=display_name(os.path.basename(full)),
            size_bytes=size,
            sha256=digest,
            container=container.format.name,
            codec=stream.codec_context.codec.canonical_name,
            bit_rate=_bit_rate(container, stream),
            sample_rate=stream.codec_context.sample_rate,
            channels=stream.codec_context.channels,
            duration=decoded.seconds,
            tags=_tags(container, stream),
        )

    if decoded.seconds < MIN_DURATION:
        raise MediaError(
            f"{label}: zero-length audio ({decoded.seconds * 1000:.1f} ms decoded)"
        )
    if declared is not None and declared - decoded.seconds > _shortfall_tolerance(declared):
        raise MediaError(
            f"{label}: truncated, decoded {decoded.seconds:.1f} s "
            f"of the {declared:.1f} s the header declares"
        )
    if decoded.damage:
        raise MediaError(f"{label}: corrupt, {decoded.damage}")
    if info.container == "ogg" and (cut := _ogg_ending(full)):
        raise MediaError(f"{label}: {cut}, after {decoded.seconds:.1f} s of audio")
    if decoded.span < SILENT_SPAN:
        raise MediaError(f"{label}: digital silence, no sample differs from another by one "
                         f"16-bit step in {decoded.seconds:.1f} s (nothing to analyse)")
    return info, decoded
