"""Signal helpers for the case set: levels, speech activity, pauses, backgrounds, changes, files.

Pure functions over ``(y float32 mono, SR)`` except :func:`encode` (FFmpeg) and the sox
changes (:func:`tempo`, :func:`pitch`). Speech activity is judged on 10-ms frames; a frame
is speech when its RMS is within ``ACTIVITY_DB`` of the loud frames (95th percentile), so
the judgement does not depend on the recording's level.
"""

from __future__ import annotations

import math
import subprocess
import tempfile
import wave
from fractions import Fraction
from pathlib import Path

import numpy as np
from plan import SR, Background, Encoding
from scipy import signal

FRAME = SR // 100
"""Activity frame: 10 ms."""
ACTIVITY_DB = 35.0
"""A frame within this many dB of the loud frames counts as speech."""
MIN_PAUSE = 0.15
"""A pause is at least this long (s) of frames that are not speech."""


# --- levels and activity ------------------------------------------------------------------


def frame_rms(y: np.ndarray) -> np.ndarray:
    """RMS of every whole 10-ms frame of `y`, shape (len(y) // FRAME,)."""
    n = len(y) // FRAME
    frames = y[: n * FRAME].astype(np.float64).reshape(n, FRAME)
    return np.sqrt(np.mean(frames**2, axis=1))


def activity(y: np.ndarray) -> np.ndarray:
    """Speech frames of clean speech `y`: boolean per 10-ms frame."""
    rms = frame_rms(y)
    if not rms.size or not np.any(rms > 0):
        return np.zeros(rms.shape, bool)
    loud = float(np.percentile(rms[rms > 0], 95))
    return rms > loud * 10 ** (-ACTIVITY_DB / 20)


def active_dbfs(y: np.ndarray, act: np.ndarray | None = None) -> float:
    """RMS level of the speech frames of `y`, dBFS."""
    rms = frame_rms(y)
    act = activity(y) if act is None else act[: len(rms)]
    speech = rms[: len(act)][act]
    power = float(np.mean(speech**2)) if speech.size else 1e-12
    return 10 * math.log10(max(power, 1e-12))


def gain(y: np.ndarray, db: float) -> np.ndarray:
    """`y` scaled by `db` decibels."""
    return (y * 10 ** (db / 20)).astype(np.float32)


def peak_guard(y: np.ndarray, limit: float = 0.99) -> tuple[np.ndarray, float]:
    """Scale down (never up) so the peak is at most `limit`; the signal and the dB applied."""
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak <= limit:
        return y.astype(np.float32), 0.0
    return (y * (limit / peak)).astype(np.float32), 20 * math.log10(limit / peak)


def pauses(act: np.ndarray, min_pause: float = MIN_PAUSE) -> list[tuple[float, float]]:
    """Runs of non-speech frames at least `min_pause` s long, as (start, end) seconds."""
    quiet = np.concatenate([[False], ~act, [False]])
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))
    runs = edges.reshape(-1, 2) / 100.0
    return [(float(a), float(b)) for a, b in runs if b - a >= min_pause]


def snap(act: np.ndarray, t: float, within: float = 4.0) -> float:
    """The middle of the pause nearest to `t` (within `within` s), else `t` itself."""
    best, where = within, t
    for a, b in pauses(act):
        mid = (a + b) / 2
        if abs(mid - t) < best:
            best, where = abs(mid - t), mid
    return round(where, 2)


def speech_edges(act: np.ndarray, start: float, end: float) -> tuple[float, float]:
    """First speech onset and last speech offset inside [start, end] s (the span's edges
    when it holds no speech)."""
    lo, hi = int(math.ceil(start * 100)), int(end * 100)
    idx = np.flatnonzero(act[lo:hi])
    if not idx.size:
        return start, end
    return round((lo + idx[0]) / 100, 2), round((lo + idx[-1] + 1) / 100, 2)


def quiet_around(act: np.ndarray, start: float, end: float) -> tuple[float, float]:
    """End of the last speech before `start` and start of the first speech after `end`, s
    (0 and the end of `act` when there is none)."""
    before = np.flatnonzero(act[: int(start * 100)])
    after = np.flatnonzero(act[int(math.ceil(end * 100)):])
    return (round((before[-1] + 1) / 100, 2) if before.size else 0.0,
            round(int(math.ceil(end * 100)) / 100 + after[0] / 100, 2) if after.size
            else round(len(act) / 100, 2))


def stretch(act: np.ndarray, n: int, factor: float) -> np.ndarray:
    """Activity frames `act` stretched in time by `factor` to `n` frames."""
    if not act.size:
        return np.zeros(n, bool)
    idx = np.minimum((np.arange(n) / factor).astype(int), len(act) - 1)
    return act[idx]


def trim_silence(y: np.ndarray, rel_db: float = 45.0) -> np.ndarray:
    """`y` without the leading and trailing samples `rel_db` dB under its peak."""
    if not y.size:
        return y
    loud = np.flatnonzero(np.abs(y) > np.max(np.abs(y)) * 10 ** (-rel_db / 20))
    return y[loud[0]: loud[-1] + 1] if loud.size else y[:0]


def cut_at_pause(y: np.ndarray, act: np.ndarray, seconds: float) -> int:
    """Sample count to keep so `y` ends in the last pause before `seconds` (or at it)."""
    if len(y) <= seconds * SR:
        return len(y)
    starts = [a for a, _ in pauses(act) if a <= seconds and a >= seconds - 30]
    end = (max(starts) + 0.05) if starts else seconds
    return int(end * SR)


# --- backgrounds --------------------------------------------------------------------------


_PINK_B = np.array([0.049922035, -0.095993537, 0.050612699, -0.004408786])
_PINK_A = np.array([1.0, -2.494956002, 2.017265875, -0.522189400])


def pink(n: int, rng: np.random.Generator) -> np.ndarray:
    """Pink noise (about -3 dB per octave) of unit RMS, by filtering white noise."""
    y = signal.lfilter(_PINK_B, _PINK_A, rng.standard_normal(n))
    return (y / max(float(np.sqrt(np.mean(y**2))), 1e-12)).astype(np.float32)


def hum(n: int, hz: float, rng: np.random.Generator) -> np.ndarray:
    """Mains hum of unit RMS: `hz` and three harmonics, its frequency wandering like a grid's
    (a mean-reverting random walk, one step a second, about 20 mHz RMS)."""
    steps = rng.standard_normal(n // SR + 2) * 0.004
    walk = signal.lfilter([1.0], [1.0, -0.98], steps)
    f = hz + np.interp(np.arange(n) / SR, np.arange(len(walk)), walk)
    phase = 2 * np.pi * np.cumsum(f) / SR
    weights = (1.0, 0.5, 0.35, 0.2)
    y = sum(w * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
            for k, w in enumerate(weights, start=1))
    return (y / math.sqrt(sum(w * w / 2 for w in weights))).astype(np.float32)


def background(n: int, bg: Background, speech_dbfs: float, rng: np.random.Generator
               ) -> np.ndarray:
    """`n` samples of room tone and hum at their levels under speech at `speech_dbfs`."""
    out = np.zeros(n, np.float32)
    if bg.floor_db is not None:
        out += gain(pink(n, rng), speech_dbfs - bg.floor_db)
    if bg.hum_hz:
        out += gain(hum(n, bg.hum_hz, rng), speech_dbfs - bg.hum_db)
    return out


# --- speed, tempo, pitch ------------------------------------------------------------------


def speed(y: np.ndarray, factor: float) -> tuple[np.ndarray, float]:
    """Play `factor` times faster by resampling (tempo and pitch together).

    Returns the signal and the exact factor used (a ratio of small integers).
    """
    ratio = Fraction(factor).limit_denominator(1000)
    out = signal.resample_poly(y, ratio.denominator, ratio.numerator).astype(np.float32)
    return out, float(ratio)


def sox(y: np.ndarray, *effect: str) -> np.ndarray:
    """Run one sox effect over float32 samples through pipes."""
    cmd = ["sox", "-R", "-t", "f32", "-r", str(SR), "-c", "1", "-", "-t", "f32", "-", *effect]
    out = subprocess.run(cmd, input=np.asarray(y, "<f4").tobytes(), capture_output=True,
                         check=True).stdout
    return np.frombuffer(out, dtype="<f4").copy()


def tempo(y: np.ndarray, factor: float) -> np.ndarray:
    """Tempo only (sox ``tempo -s``, WSOLA): duration / `factor`, pitch kept."""
    return sox(y, "tempo", "-s", f"{factor:.6f}")


def pitch(y: np.ndarray, factor: float) -> np.ndarray:
    """Pitch only (sox ``pitch``): pitch x `factor`, duration kept."""
    out = sox(y, "pitch", f"{1200 * math.log2(factor):.2f}")
    return out[: len(y)] if len(out) >= len(y) else np.pad(out, (0, len(y) - len(out)))


def change(y: np.ndarray, transform: str, factor: float) -> tuple[np.ndarray, float, float]:
    """Apply a piece's change; returns (y, time factor, pitch factor) as true values.

    time factor = output duration / input duration; pitch factor = output pitch / input.
    """
    if transform == "speed":
        out, exact = speed(y, factor)
        return out, 1 / exact, exact
    if transform == "tempo":
        return tempo(y, factor), 1 / factor, 1.0
    if transform == "pitch":
        return pitch(y, factor), 1.0, factor
    return y, 1.0, 1.0


# --- files --------------------------------------------------------------------------------


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """A 16-bit PCM WAV as float32 mono, with its rate."""
    with wave.open(str(path), "rb") as w:
        sr, ch = w.getframerate(), w.getnchannels()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    if ch > 1:
        data = data.reshape(-1, ch).mean(axis=1)
    return (data / 32768.0).astype(np.float32), sr


def to_sr(y: np.ndarray, sr: int) -> np.ndarray:
    """Resample from `sr` to SR (polyphase)."""
    if sr == SR:
        return y.astype(np.float32)
    g = math.gcd(sr, SR)
    return signal.resample_poly(y, SR // g, sr // g).astype(np.float32)


def write_wav(path: Path, y: np.ndarray, sr: int = SR) -> None:
    """Float mono audio as 16-bit PCM WAV."""
    pcm = (np.clip(y, -1.0, 1.0) * 32767.0).round().astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(pcm.tobytes())


def ffmpeg_codec(enc: Encoding) -> list[str]:
    """FFmpeg output options for an encoding (bit-exact, no metadata: reproducible bytes)."""
    codec = {"mp3": ["-c:a", "libmp3lame"], "m4a": ["-c:a", "aac"],
             "opus": ["-c:a", "libopus", "-application", "voip"],
             "vorbis": ["-c:a", "libvorbis"], "wav": ["-c:a", "pcm_s16le"]}[enc.fmt]
    rate = ["-b:a", f"{enc.kbps}k"] if enc.kbps else []
    return [*codec, *rate, "-ar", str(enc.sr), "-ac", "1", "-map_metadata", "-1",
            "-fflags", "+bitexact", "-flags:a", "+bitexact"]


def encode(y: np.ndarray, path: Path, enc: Encoding) -> None:
    """Write `y` (at SR) to `path` in encoding `enc` through a temporary WAV."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "in.wav"
        write_wav(wav, y)
        cmd = ["ffmpeg", "-v", "error", "-y", "-i", str(wav), *ffmpeg_codec(enc), str(path)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(f"ffmpeg failed on {path.name}: {proc.stderr.strip()[-400:]}")
