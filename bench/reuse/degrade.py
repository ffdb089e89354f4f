"""Degradations of query clips, as pure functions over (y float32 mono, sr).

Every degradation returns ``(y, sr)`` (the rate may change: the phone band comes back at
8 kHz) and is registered in :data:`DEGRADATIONS` with its true parameters:

* ``time_factor``  = query duration / reference duration (speed +5 % -> 1/1.05 = 0.952),
* ``pitch_factor`` = query pitch / reference pitch (speed +5 % -> 1.05),
* ``talkers``      = other speech clips it mixes in (babble; the benchmark supplies them),
* ``removed``      = a function of the clean cut giving the seconds the degradation cuts
  off its start and end (silence trimming), so that the truth can follow.

Codec round trips go through PyAV (``libmp3lame``, ``libopus``); tempo-only and pitch-only
changes through ``sox`` (``tempo -s``, ``pitch``); filters and resampling through scipy.
"""

from __future__ import annotations

import io
import math
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
from scipy import signal

Audio = tuple[np.ndarray, int]
BABBLE_TALKERS = 4
"""Other voices mixed into a babble background."""


# --- helpers -----------------------------------------------------------------------------


def power(y: np.ndarray) -> float:
    """Mean power of `y` (over the whole clip, silences included)."""
    return float(np.mean(np.square(y, dtype=np.float64))) if y.size else 0.0


def scale_to(noise: np.ndarray, ref: np.ndarray, rel_db: float) -> np.ndarray:
    """Scale `noise` so its power is `rel_db` dB relative to the power of `ref`."""
    target = power(ref) * 10 ** (rel_db / 10)
    return noise * math.sqrt(target / max(power(noise), 1e-20))


def fit_length(y: np.ndarray, n: int) -> np.ndarray:
    """Cut or zero-pad `y` to exactly `n` samples."""
    return y[:n] if len(y) >= n else np.pad(y, (0, n - len(y)))


def peak_guard(y: np.ndarray) -> np.ndarray:
    """Scale down (never up) so that the peak is at most 0.99, as float32."""
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    return (y * (0.99 / peak if peak > 0.99 else 1.0)).astype(np.float32)


# --- noise and overlays ------------------------------------------------------------------


def white_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian white noise."""
    return rng.standard_normal(n)


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Pink (1/f power) noise by shaping white noise in the frequency domain."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spectrum), dtype=np.float64)
    f[0] = 1.0
    return np.fft.irfft(spectrum / np.sqrt(f), n)


def add_noise(y: np.ndarray, sr: int, snr_db: float, color: str,
              rng: np.random.Generator) -> Audio:
    """Add white or pink noise at `snr_db` dB SNR (clip power over noise power)."""
    noise = (white_noise if color == "white" else pink_noise)(len(y), rng)
    return peak_guard(y + scale_to(noise, y, -snr_db)), sr


def music(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A generated accompaniment: a chord every 2 s plus a melody of 0.25 s notes."""
    t = np.arange(n) / sr
    out = np.zeros(n)
    root = 220.0 * 2 ** (rng.integers(0, 12) / 12)
    progression = [(0, 4, 7), (5, 9, 12), (7, 11, 14), (-3, 0, 4)]
    chord_len, note_len = 2 * sr, sr // 4
    for i, start in enumerate(range(0, n, chord_len)):
        seg = slice(start, min(n, start + chord_len))
        env = np.exp(-3.0 * (t[seg] - t[start]))
        for semis in progression[i % len(progression)]:
            f = root * 2 ** (semis / 12)
            out[seg] += env * sum(np.sin(2 * np.pi * f * h * t[seg]) / h for h in (1, 2, 3))
    scale = (0, 2, 4, 5, 7, 9, 11, 12)
    for start in range(0, n, note_len):
        seg = slice(start, min(n, start + note_len))
        f = 2 * root * 2 ** (scale[int(rng.integers(0, len(scale)))] / 12)
        env = np.minimum(1.0, 20 * (t[seg] - t[start])) * np.exp(-6.0 * (t[seg] - t[start]))
        out[seg] += 0.8 * env * np.sin(2 * np.pi * f * t[seg])
    return out


def overlay_music(y: np.ndarray, sr: int, rel_db: float, rng: np.random.Generator) -> Audio:
    """Mix generated music `rel_db` dB relative to the speech power (0 = as loud)."""
    return peak_guard(y + scale_to(music(len(y), sr, rng), y, rel_db)), sr


def overlay_babble(y: np.ndarray, sr: int, rel_db: float, *talkers: np.ndarray) -> Audio:
    """Mix other speech (each clip at equal power, summed) `rel_db` dB relative to `y`."""
    crowd = np.zeros(len(y))
    for clip in talkers:
        crowd += scale_to(fit_length(np.asarray(clip, np.float64), len(y)), y, 0.0)
    return peak_guard(y + scale_to(crowd, y, rel_db)), sr


def overlay_tone(y: np.ndarray, sr: int, rel_db: float, freq: float = 1000.0) -> Audio:
    """Mix a steady sine tone `rel_db` dB relative to the speech power."""
    tone = np.sin(2 * np.pi * freq * np.arange(len(y)) / sr)
    return peak_guard(y + scale_to(tone, y, rel_db)), sr


# --- channels ----------------------------------------------------------------------------


def codec_roundtrip(y: np.ndarray, sr: int, codec: str, fmt: str, bit_rate: int,
                    rate: int) -> Audio:
    """Encode with PyAV at `bit_rate` (at sample rate `rate`), decode, and return at `sr`.

    The decoded signal is cut/padded to the input length; encoder priming is removed by the
    demuxer (MP3 LAME header, Ogg pre-skip), see :func:`codec_delay`.
    """
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        stream.bit_rate = bit_rate
        frame = av.AudioFrame.from_ndarray(resample(y, sr, rate)[np.newaxis, :].astype(np.float32),
                                           format="flt", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    buf.seek(0)
    chunks = []
    with av.open(buf, "r") as inp:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        for decoded in inp.decode(audio=0):
            chunks.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(decoded))
    decoded = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    return fit_length(resample(decoded, rate, sr), len(y)).astype(np.float32), sr


def mp3(y: np.ndarray, sr: int, kbps: int) -> Audio:
    """MP3 (LAME) round trip at `kbps` kbit/s CBR."""
    return codec_roundtrip(y, sr, "libmp3lame", "mp3", kbps * 1000, sr)


def opus(y: np.ndarray, sr: int, kbps: int) -> Audio:
    """Opus round trip at `kbps` kbit/s in Ogg (voice-note style)."""
    return codec_roundtrip(y, sr, "libopus", "ogg", kbps * 1000, 48000)


def phone(y: np.ndarray, sr: int) -> Audio:
    """Telephone channel: 300-3400 Hz band-pass, returned at 8 kHz."""
    sos = signal.butter(6, [300, 3400], btype="bandpass", fs=sr, output="sos")
    return peak_guard(resample(signal.sosfilt(sos, y), sr, 8000)), 8000


def resample(y: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Polyphase resampling between integer rates."""
    if sr_in == sr_out:
        return np.asarray(y, dtype=np.float32)
    g = math.gcd(sr_in, sr_out)
    return signal.resample_poly(y, sr_out // g, sr_in // g).astype(np.float32)


# --- speed, tempo, pitch -----------------------------------------------------------------


def speed(y: np.ndarray, sr: int, factor: float) -> Audio:
    """Play `factor` times faster by resampling: tempo and pitch both scale by `factor`."""
    ratio = Fraction(factor).limit_denominator(1000)
    return signal.resample_poly(y, ratio.denominator, ratio.numerator).astype(np.float32), sr


def sox(y: np.ndarray, sr: int, *effect: str) -> np.ndarray:
    """Run one sox effect over raw float32 samples through pipes."""
    cmd = ["sox", "-R", "-t", "f32", "-r", str(sr), "-c", "1", "-", "-t", "f32", "-", *effect]
    out = subprocess.run(cmd, input=np.asarray(y, "<f4").tobytes(), capture_output=True,
                         check=True).stdout
    return np.frombuffer(out, dtype="<f4").copy()


def tempo(y: np.ndarray, sr: int, factor: float) -> Audio:
    """Tempo only (WSOLA, sox ``tempo -s``): duration / `factor`, pitch unchanged."""
    return peak_guard(sox(y, sr, "tempo", "-s", f"{factor:.6f}")), sr


def pitch(y: np.ndarray, sr: int, factor: float) -> Audio:
    """Pitch only (sox ``pitch``): pitch x `factor`, duration unchanged."""
    cents = 1200 * math.log2(factor)
    return peak_guard(fit_length(sox(y, sr, "pitch", f"{cents:.2f}"), len(y))), sr


def reverb(y: np.ndarray, sr: int, reverberance: float = 50.0) -> Audio:
    """Room reverberation (sox ``reverb``, dry + wet), same length as the input."""
    return peak_guard(fit_length(sox(y, sr, "reverb", f"{reverberance:g}"), len(y))), sr


# --- silence trimming --------------------------------------------------------------------

SILENCE_DB = -40.0
"""A 10-ms frame this far below the clip's loudest frame is silence (the trimmers' floor)."""
MAX_PAUSE = 0.3
KEPT_PAUSE = 0.1


def silent(y: np.ndarray, sr: int) -> np.ndarray:
    """Per 10-ms frame: True where it is ``SILENCE_DB`` below the loudest frame."""
    frame = sr // 100
    n = len(y) // frame
    p = np.mean(np.square(y[:n * frame].reshape(n, frame), dtype=np.float64), axis=1)
    return p < max(float(p.max()) if n else 0.0, 1e-20) * 10 ** (SILENCE_DB / 10)


def silent_ends(y: np.ndarray, sr: int) -> tuple[float, float]:
    """Seconds of silence at the start and at the end of `y` (0, 0 when all of it is)."""
    quiet = silent(y, sr)
    if quiet.all():
        return 0.0, 0.0
    frame = sr // 100
    first = int(np.argmax(~quiet))
    last = len(quiet) - int(np.argmax(~quiet[::-1]))
    return first * frame / sr, (len(y) - last * frame) / sr


def trim_ends(y: np.ndarray, sr: int) -> Audio:
    """Leading and trailing silence removed (what an editor's "trim silence" does)."""
    lead, trail = silent_ends(y, sr)
    return y[int(round(lead * sr)):len(y) - int(round(trail * sr))], sr


def shorten_pauses(y: np.ndarray, sr: int) -> Audio:
    """Ends trimmed and every pause over ``MAX_PAUSE`` s cut to ``KEPT_PAUSE`` s (the middle
    removed), as sox ``silence -l ... -1 0.3`` does (its threshold absolute, this one
    relative to the clip's loudest frame): a non-linear time edit."""
    y, sr = trim_ends(y, sr)
    frame = sr // 100
    quiet = silent(y, sr)
    edges = np.flatnonzero(np.diff(np.r_[0, quiet.view(np.int8), 0])).reshape(-1, 2)
    keep = np.ones(len(y), dtype=bool)
    half = int(KEPT_PAUSE * sr) // 2
    for a, b in edges * frame:
        if b - a > MAX_PAUSE * sr:
            keep[a + half:b - half] = False
    return y[keep], sr


def splice(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Clip `a` followed directly by clip `b` (a compilation edit)."""
    return np.concatenate([a, b]).astype(np.float32)


# --- registry ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Degradation:
    """A named degradation with its true time and pitch factors.

    ``apply(y, sr, rng, *talkers)`` returns ``(y, sr)``; ``talkers`` (babble) are
    ``talkers`` clips of other speech as long as `y`, which the benchmark cuts from the
    negative recordings. ``removed(y, sr)``, where set, gives the seconds cut off the start
    and end of the clean cut. ``splice`` is the one degradation that takes two sources
    and ``embed`` the one that wraps new speech around the archive part; the benchmark
    builds both itself (their ``apply`` is the identity).
    """

    name: str
    family: str
    apply: Callable[..., Audio]
    time_factor: float = 1.0
    pitch_factor: float = 1.0
    talkers: int = 0
    removed: Callable[[np.ndarray, int], tuple[float, float]] | None = None


def _registry() -> dict[str, Degradation]:
    """All degradations by name, in table order."""
    d: list[Degradation] = [Degradation("clean", "clean", lambda y, sr, rng: (y, sr))]
    for color, snrs in (("white", (20, 10, 5, 0)), ("pink", (10, 0))):
        for snr in snrs:
            d.append(Degradation(f"noise-{color}-{snr}dB", "noise",
                                 lambda y, sr, rng, s=snr, c=color: add_noise(y, sr, s, c, rng)))
    d += [
        Degradation("mp3-64k", "codec", lambda y, sr, rng: mp3(y, sr, 64)),
        Degradation("mp3-32k", "codec", lambda y, sr, rng: mp3(y, sr, 32)),
        Degradation("opus-16k", "codec", lambda y, sr, rng: opus(y, sr, 16)),
        Degradation("phone-8k", "channel", lambda y, sr, rng: phone(y, sr)),
        Degradation("reverb-room", "channel", lambda y, sr, rng: reverb(y, sr)),
        Degradation("tone-1k-6dB", "overlay", lambda y, sr, rng: overlay_tone(y, sr, -6.0)),
        Degradation("music-5dB", "overlay", lambda y, sr, rng: overlay_music(y, sr, -5.0, rng)),
        Degradation("music-0dB", "overlay", lambda y, sr, rng: overlay_music(y, sr, 0.0, rng)),
    ]
    for snr in (5, 0):
        d.append(Degradation(f"babble-{snr}dB", "babble", talkers=BABBLE_TALKERS,
                             apply=lambda y, sr, rng, *t, s=snr: overlay_babble(y, sr, -s, *t)))
    for pct in (2, -2, 3, -3, 5, -5, 10, -10):
        f = 1 + pct / 100
        d.append(Degradation(f"speed{pct:+d}%", "speed", lambda y, sr, rng, f=f: speed(y, sr, f),
                             time_factor=1 / f, pitch_factor=f))
    for pct in (5, -5):
        f = 1 + pct / 100
        d.append(Degradation(f"tempo{pct:+d}%", "tempo", lambda y, sr, rng, f=f: tempo(y, sr, f),
                             time_factor=1 / f))
        d.append(Degradation(f"pitch{pct:+d}%", "pitch", lambda y, sr, rng, f=f: pitch(y, sr, f),
                             pitch_factor=f))
    d.append(Degradation("combo-speed+3%-pink10-opus", "combo", _combo,
                         time_factor=1 / 1.03, pitch_factor=1.03))
    d.append(Degradation("trim-ends", "trim", lambda y, sr, rng: trim_ends(y, sr),
                         removed=silent_ends))
    d.append(Degradation("pauses-short", "edit", lambda y, sr, rng: shorten_pauses(y, sr),
                         removed=silent_ends))
    d.append(Degradation("splice", "splice", lambda y, sr, rng: (y, sr)))
    d.append(Degradation("embed", "splice", lambda y, sr, rng: (y, sr)))
    return {x.name: x for x in d}


def _combo(y: np.ndarray, sr: int, rng: np.random.Generator) -> Audio:
    """Re-upload chain: speed +3 %, pink noise at 10 dB SNR, Opus 16 kbit/s."""
    y, sr = speed(y, sr, 1.03)
    y, sr = add_noise(y, sr, 10, "pink", rng)
    return opus(y, sr, 16)


DEGRADATIONS: dict[str, Degradation] = _registry()


def codec_delay(name: str, sr: int = 16000, seconds: float = 4.0) -> float:
    """Lag in seconds of a degradation's output against its input (cross-correlation)."""
    rng = np.random.default_rng(0)
    y = (rng.standard_normal(int(seconds * sr)) * 0.1).astype(np.float32)
    out, out_sr = DEGRADATIONS[name].apply(y, sr, rng)
    out = resample(out, out_sr, sr)
    corr = signal.correlate(out, y, mode="full", method="fft")
    return (int(np.argmax(corr)) - (len(y) - 1)) / sr
