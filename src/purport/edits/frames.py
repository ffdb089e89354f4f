"""Short-time analysis shared by the edit detectors: band levels per frame, pauses, speech.

Pure (``y``, ``sr`` in, arrays out). One pass of 32-ms Hann frames every 16 ms, reduced at
once to the log power of 250-Hz bands, so an hour costs about 7 MB whatever the rate.
A frame is a *pause* when its level lies within ``PAUSE_DB`` of the local noise floor
(the lowest smoothed frame level within ``FLOOR_SPAN`` seconds either side) and *speech*
when it lies ``SPEECH_DB`` or more above it: the floor is local, so a recording whose
room tone rises half-way still has pauses on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

FRAME = 0.032      # seconds per analysis frame
HOP = 0.016        # seconds between frames
BAND_HZ = 250.0    # width of the level bands
PAUSE_DB = 6.0     # a pause frame lies within this of the local floor
SPEECH_DB = 15.0   # a speech frame lies at least this above it
FLOOR_SPAN = 3.0   # seconds either side searched for the local floor
EPS = 1e-12        # power floor (-120 dB)
BLOCK = 8192       # frames transformed at a time


@dataclass(frozen=True)
class Frames:
    """Per-frame levels of a signal.

    ``bands``: (n_frames, n_bands) log10 power (dB) of 250-Hz bands from 0 Hz;
    ``level``: (n_frames,) dB of the whole frame; ``floor``: the local floor (dB);
    ``t``: (n_frames,) frame centres in seconds; ``top_hz``: the highest frequency that
    carries the source's audio (its Nyquist frequency, or ``sr / 2``).
    """

    t: np.ndarray
    bands: np.ndarray
    level: np.ndarray
    floor: np.ndarray
    top_hz: float

    @property
    def pause(self) -> np.ndarray:
        return self.level <= self.floor + PAUSE_DB

    @property
    def speech(self) -> np.ndarray:
        return self.level >= self.floor + SPEECH_DB

    @property
    def n_bands_used(self) -> int:
        """Bands wholly below ``top_hz``."""
        return max(1, int(self.top_hz // BAND_HZ))


def analyse(y: np.ndarray, *, sr: int, source_sr: int | None = None) -> Frames:
    """Band levels, frame levels and local floor of mono ``y`` at ``sr``.

    ``source_sr``: the file's own rate; bands above its Nyquist frequency hold only the
    resampler's leakage and are left out by the detectors.
    """
    y = np.asarray(y, dtype=np.float32)
    n_fft = int(round(FRAME * sr))
    hop = int(round(HOP * sr))
    n = 0 if len(y) < n_fft else 1 + (len(y) - n_fft) // hop
    freqs = np.fft.rfftfreq(n_fft, 1 / sr)
    n_bands = int(np.ceil((sr / 2) / BAND_HZ))
    which = np.minimum((freqs // BAND_HZ).astype(int), n_bands - 1)
    starts = np.searchsorted(which, np.arange(n_bands))
    window = np.hanning(n_fft).astype(np.float32)
    norm = float(np.sum(window ** 2)) * n_fft / 2
    bands = np.empty((n, n_bands), np.float32)
    level = np.empty(n, np.float32)
    for a in range(0, n, BLOCK):
        b = min(n, a + BLOCK)
        idx = (np.arange(a, b) * hop)[:, None] + np.arange(n_fft)[None, :]
        spec = np.abs(np.fft.rfft(y[idx] * window, axis=1)) ** 2 / norm
        power = np.add.reduceat(spec, starts, axis=1)
        bands[a:b] = 10 * np.log10(power + EPS)
        level[a:b] = 10 * np.log10(power.sum(axis=1) + EPS)
    t = (np.arange(n) * hop + n_fft / 2) / sr
    smooth = ndimage.uniform_filter1d(level, 3, mode="nearest") if n else level
    span = 2 * int(FLOOR_SPAN / HOP) + 1
    floor = ndimage.minimum_filter1d(smooth, span, mode="nearest") if n else level
    top = sr / 2 if not source_sr else min(sr, source_sr) / 2
    return Frames(t=t, bands=bands, level=level, floor=floor.astype(np.float32), top_hz=top)


def window_sums(values: np.ndarray, mask: np.ndarray, t: np.ndarray, grid: np.ndarray,
                width: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                       np.ndarray, np.ndarray]:
    """Sums over masked frames in ``[g - width, g)`` and ``[g, g + width)`` for each grid
    time ``g``: (n_left, sum_left, sumsq_left, n_right, sum_right, sumsq_right); sums have
    the shape of ``values[0]`` per grid time."""
    v = np.where(mask[:, None], values, 0.0).astype(np.float64)
    c = np.concatenate([np.zeros((1, v.shape[1])), np.cumsum(v, axis=0)])
    c2 = np.concatenate([np.zeros((1, v.shape[1])), np.cumsum(v * v, axis=0)])
    cn = np.concatenate([[0], np.cumsum(mask.astype(np.int64))])
    lo = np.searchsorted(t, grid - width)
    mid = np.searchsorted(t, grid)
    hi = np.searchsorted(t, grid + width)
    return (cn[mid] - cn[lo], c[mid] - c[lo], c2[mid] - c2[lo],
            cn[hi] - cn[mid], c[hi] - c[mid], c2[hi] - c2[mid])


def peaks(score: np.ndarray, step: float, threshold: float, separation: float) -> list[int]:
    """Indices of local maxima of ``score`` (sampled every ``step`` seconds) at or above
    ``threshold``, each the largest within ``separation`` seconds either side (the first
    of a plateau)."""
    if not len(score):
        return []
    size = 2 * max(1, int(round(separation / step))) + 1
    top = ndimage.maximum_filter1d(score, size, mode="constant", cval=-np.inf)
    cand = np.flatnonzero((score >= threshold) & (score >= top))
    kept: list[int] = []
    for i in cand:
        if not kept or (i - kept[-1]) * step >= separation or score[i] > score[kept[-1]]:
            if kept and (i - kept[-1]) * step < separation:
                kept[-1] = int(i)
            else:
                kept.append(int(i))
    return kept
