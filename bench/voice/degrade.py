"""Channel versions of a recording, as functions ``(y, sr, rng) -> (y, sr)``.

* ``clean``: as made (FSDD at the level it was recorded at).
* ``level``: scaled so that its active speech is at -26 dBFS (the speakers of FSDD differ
  by up to 20 dB; this version takes the level away as a cue).
* ``opus16``: Opus 16 kbit/s in Ogg at 48 kHz (PyAV ``libopus``), decoded.
* ``mp3-32``: MP3 32 kbit/s CBR at 16 kHz (PyAV ``libmp3lame``), decoded.
* ``noise10``: white Gaussian noise 10 dB below the active speech level.
* ``phone``: 300-3400 Hz band-pass (4th-order Butterworth each side), delivered at 8 kHz.
* ``noise10+opus16``: the noise, then the Opus round trip.

The active speech level is the mean power of the 30 ms frames no more than 40 dB below the
loudest frame (a simple stand-in for ITU-T P.56), so silences between words do not lower
it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from corpus import resample
from scipy import signal

from purport import media

Audio = tuple[np.ndarray, int]
LEVEL_DBFS = -26.0


def active_power(y: np.ndarray, sr: int) -> float:
    """Mean power of the frames within 40 dB of the loudest 30 ms frame."""
    n = max(int(0.03 * sr), 1)
    frames = y[: len(y) // n * n].astype(np.float64).reshape(-1, n)
    if not len(frames):
        return 0.0
    p = np.mean(frames ** 2, axis=1)
    active = p >= p.max() * 1e-4
    return float(p[active].mean()) if active.any() else 0.0


def peak_guard(y: np.ndarray) -> np.ndarray:
    """Scale down (never up) so that the peak is at most 0.99; float32."""
    peak = float(np.max(np.abs(y))) if len(y) else 0.0
    return (y * (0.99 / peak if peak > 0.99 else 1.0)).astype(np.float32)


def level(y: np.ndarray, sr: int, rng: np.random.Generator | None = None) -> Audio:
    """Active speech at ``LEVEL_DBFS``."""
    p = active_power(y, sr)
    gain = math.sqrt(10 ** (LEVEL_DBFS / 10) / p) if p > 0 else 1.0
    return peak_guard(y * gain), sr


def noise(y: np.ndarray, sr: int, rng: np.random.Generator, snr_db: float = 10.0) -> Audio:
    """White Gaussian noise ``snr_db`` below the active speech level."""
    n = rng.standard_normal(len(y)) * math.sqrt(active_power(y, sr) * 10 ** (-snr_db / 10))
    return peak_guard(y + n), sr


def codec_roundtrip(y: np.ndarray, sr: int, codec: str, fmt: str, kbps: int,
                    rate: int) -> Audio:
    """Encode with PyAV at ``kbps`` kbit/s at ``rate`` Hz and decode
    (:func:`purport.media.codec_roundtrip`); returned at ``sr``."""
    z = media.codec_roundtrip(np.asarray(y, np.float32), sr, codec=codec, kbps=kbps,
                              container=fmt, rate=rate)
    return peak_guard(z), sr


def opus16(y: np.ndarray, sr: int, rng: np.random.Generator | None = None) -> Audio:
    return codec_roundtrip(y, sr, "libopus", "ogg", 16, 48000)


def mp3_32(y: np.ndarray, sr: int, rng: np.random.Generator | None = None) -> Audio:
    return codec_roundtrip(y, sr, "libmp3lame", "mp3", 32, 16000)


def phone(y: np.ndarray, sr: int, rng: np.random.Generator | None = None) -> Audio:
    """300-3400 Hz band-pass, at 8 kHz."""
    x = resample(y, sr, 8000)
    sos = signal.butter(4, [300, 3400], btype="bandpass", fs=8000, output="sos")
    return peak_guard(signal.sosfilt(sos, x)), 8000


def noise_opus(y: np.ndarray, sr: int, rng: np.random.Generator) -> Audio:
    z, zsr = noise(y, sr, rng)
    return opus16(z, zsr)


VERSIONS: dict[str, Callable[..., Audio]] = {
    "clean": lambda y, sr, rng=None: (np.asarray(y, np.float32), sr),
    "level": level,
    "opus16": opus16,
    "mp3-32": mp3_32,
    "noise10": noise,
    "phone": phone,
    "noise10+opus16": noise_opus,
}


def apply(version: str, y: np.ndarray, sr: int, rng: np.random.Generator) -> Audio:
    """The ``version`` of ``(y, sr)``."""
    return VERSIONS[version](y, sr, rng)
