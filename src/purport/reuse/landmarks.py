"""Speech landmarks that survive speed, tempo and pitch change: peak triplets, log frequency.

A triplet of spectral peaks (t1, F1), (t2, F2), (t3, F3), t1 <= t2 <= t3, is hashed on
features that a time stretch or a pitch shift leaves alone (Panako's idea, Six & Leman
2014, re-tuned for speech):

- the time ratio (t2 - t1) / (t3 - t1)           (invariant to any time scaling)
- the log-frequency steps F2 - F1 and F3 - F1    (invariant to any pitch shift)
- a coarse band of the span t3 - t1 and of F1    (not invariant: probed on both sides
                                                  of a band edge at query time)

The index stores one hash per triplet; the query side probes the neighbouring
quantisation cell of every feature that lies near a cell edge, which makes the
quantisation itself tolerant instead of indexing resampled copies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy import fft, ndimage, signal

#: Analysis rate: the speech band up to 4 kHz.
SR = 8000
N_FFT = 1024
HOP = 128
FRAME = HOP / SR  # seconds per frame (16 ms)
#: Log-frequency axis: 36 bins per octave (about 1.9 % per bin) from 125 Hz.
BINS_PER_OCTAVE = 36
FMIN = 125.0
FMAX = 3800.0

PEAKS_PER_SECOND = 24
FAN = 4                    # later peaks paired with each anchor in the index
#: ... and in a query: noise or a voice over the query adds peaks between the indexed ones,
#: which pushes an anchor's indexed partners further down its list of next peaks
QUERY_FAN = 6
MAX_DT = 90                # frames: a triplet spans at most ~1.4 s
MIN_SPAN = 8               # frames: shorter spans make a noisy time ratio
MAX_DF = 54.0              # log bins: 1.5 octaves either side of the anchor

# Quantisation of the hash features.
R_LEVELS = 10
DF_STEP = 3.0
DF_LEVELS = int(2 * MAX_DF / DF_STEP) + 1
SPAN_LEVELS = 8            # half-octave bands of the span, from 2**3 frames
F_BAND = 18.0              # half-octave bands of the anchor frequency
F_LEVELS = 11
#: How far a query feature may sit from a cell edge before its neighbour is probed too:
#: time jitter of about one frame, frequency jitter of half a bin, and up to 12 % of
#: speed or pitch change for the two non-invariant bands.
R_JITTER_FRAMES = 1.5
DF_TOLERANCE = 0.9
SCALE_TOLERANCE = np.log2(1.13)
N_HASHES = R_LEVELS * DF_LEVELS * DF_LEVELS * SPAN_LEVELS * F_LEVELS

METHOD = "purport-triplets-v2"  # v2: no peaks on steady tones


@dataclass(frozen=True)
class Peaks:
    """Spectral peaks: frame index ``t`` (int32), log-frequency bin ``f`` (float32)."""

    t: np.ndarray
    f: np.ndarray

    def __len__(self) -> int:
        return len(self.t)


@dataclass(frozen=True)
class Fingerprint:
    """One recording's landmarks: its peaks and the triplets hashed from them.

    ``hash`` (uint32), ``t1`` (int32 frame of the first peak), ``span`` (int16 frames
    t3 - t1) and ``f1`` (float32 log-frequency bin of the first peak), one row per triplet.
    """

    hash: np.ndarray
    t1: np.ndarray
    span: np.ndarray
    f1: np.ndarray
    peaks: Peaks
    duration: float
    method: str = METHOD
    #: loudness per frame, dB below the recording's loudest frame (uint8, 0 = loudest)
    level: np.ndarray | None = None
    #: (n, 3) peak indices of each triplet; kept for queries, never stored in the archive
    triplet_peaks: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.hash)

    @property
    def nbytes(self) -> int:
        arrays = (self.hash, self.t1, self.span, self.f1, self.peaks.t, self.peaks.f)
        return int(sum(a.nbytes for a in arrays)) + (0 if self.level is None else self.level.nbytes)


def _log_filterbank(n_fft: int = N_FFT, sr: int = SR) -> np.ndarray:
    """Matrix (n_log_bins, n_fft//2+1) mapping a magnitude spectrum to a log-frequency axis.

    Narrow low bins interpolate between FFT bins; wide high bins take a triangle over them.
    """
    fft_freqs = np.arange(n_fft // 2 + 1) * sr / n_fft
    n_bins = int(np.floor(BINS_PER_OCTAVE * np.log2(FMAX / FMIN))) + 1
    centres = FMIN * 2.0 ** (np.arange(n_bins) / BINS_PER_OCTAVE)
    ratio = 2.0 ** (1.0 / BINS_PER_OCTAVE)
    fb = np.zeros((n_bins, len(fft_freqs)), dtype=np.float32)
    df = sr / n_fft
    for i, fc in enumerate(centres):
        lo, hi = fc / ratio, fc * ratio
        if hi - lo < 2 * df:
            pos = fc / df
            k = int(np.floor(pos))
            fb[i, k] = 1.0 - (pos - k)
            fb[i, k + 1] = pos - k
        else:
            rise, fall = (fft_freqs - lo) / (fc - lo), (hi - fft_freqs) / (hi - fc)
            w = np.maximum(0.0, np.minimum(rise, fall))
            fb[i] = w / w.sum()
    return fb


_FILTERBANK = _log_filterbank()
N_BINS = _FILTERBANK.shape[0]
_N_USED = int(np.flatnonzero(_FILTERBANK.any(axis=0)).max()) + 1
_WINDOW = signal.get_window("hann", N_FFT).astype(np.float32)


def log_spectrogram(y: np.ndarray) -> np.ndarray:
    """Log-frequency magnitude spectrogram in dB, shape (n_bins, n_frames), of y at ``SR``."""
    if len(y) < N_FFT:
        y = np.pad(y, (0, N_FFT - len(y)))
    frames = np.lib.stride_tricks.sliding_window_view(y.astype(np.float32), N_FFT)[::HOP]
    mag = np.abs(fft.rfft(frames * _WINDOW, axis=1))[:, :_N_USED]
    return 20.0 * np.log10(_FILTERBANK[:, :_N_USED] @ mag.T + 1e-6)


#: A spectral ridge held this long at one bin (within one bin either way) is a steady tone
#: (mains hum, a test tone, a carrier), not speech: its peaks are dropped. Sung or chanted
#: notes can hold a pitch for a second; speech rarely for 1.5 s.
STEADY_FRAMES = int(round(1.5 / FRAME))
#: Frames of spectrogram computed at once: memory does not grow with the recording.
CHUNK_FRAMES = 4096
#: Context each side of a chunk that the peak filters look at (the steady-tone test's reach).
_CONTEXT = STEADY_FRAMES + 32


@dataclass(frozen=True)
class _Candidates:
    """Local spectral maxima of a stretch of spectrogram, before the loudness floor."""

    t: np.ndarray           # frame
    f: np.ndarray           # refined log-frequency bin
    value: np.ndarray       # dB
    prominence: np.ndarray  # dB above the local mean


def _candidates(spec: np.ndarray, first: int, lo: int, hi: int) -> _Candidates:
    """Prominent local maxima of ``spec`` (frames ``first`` + column) in columns [lo, hi).

    Prominence is the height above the local mean (a time-frequency neighbourhood), so
    quiet passages keep their peaks and broadband noise does not win; a ridge that holds
    one bin for ``STEADY_FRAMES`` is a steady tone and gives none.
    """
    n_bins = spec.shape[0]
    local_max = ndimage.maximum_filter(spec, size=(7, 9), mode="nearest") == spec
    prominence = spec - ndimage.uniform_filter(spec, size=(19, 31), mode="nearest")
    ridge = spec >= ndimage.maximum_filter1d(spec, size=3, axis=0, mode="nearest")
    ridge = ndimage.maximum_filter1d(ridge.view(np.uint8), size=3, axis=0)
    held = ndimage.minimum_filter1d(ridge, size=STEADY_FRAMES, axis=1, mode="nearest")
    steady = ndimage.maximum_filter1d(held, size=STEADY_FRAMES, axis=1, mode="nearest")
    keep = local_max & (prominence > 3.0) & (steady == 0)
    keep[:, :lo] = False
    keep[:, hi:] = False
    fi, ti = np.nonzero(keep)
    f = fi.astype(np.float32)
    inner = (fi > 0) & (fi < n_bins - 1)
    fin, tin = fi[inner], ti[inner]
    a, b, c = spec[fin - 1, tin], spec[fin, tin], spec[fin + 1, tin]
    denom = a - 2 * b + c
    shift = np.where(np.abs(denom) > 1e-9, 0.5 * (a - c) / np.where(denom == 0, 1, denom), 0.0)
    f[inner] += np.clip(shift, -0.5, 0.5)  # parabolic refinement to a fraction of a bin
    return _Candidates(t=(ti + first).astype(np.int32), f=f, value=spec[fi, ti],
                       prominence=prominence[fi, ti])


def _strongest(c: _Candidates, floor: float, per_second: int) -> Peaks:
    """The candidates above ``floor`` that are among the ``per_second`` most prominent of
    the second centred on them.

    A sliding second, not fixed one-second blocks: blocks fall at other places in a cut
    than in the recording it was cut from, and so keep other peaks (an exact 5-s cut of
    fast speech shared 84 % of its peaks with the recording; 88 % with a sliding second).
    """
    sel = c.value > floor
    ti, f, score = c.t[sel], c.f[sel], c.prominence[sel]
    order = np.lexsort((f, ti))
    ti, f, score = ti[order], f[order], score[order]
    rank = np.empty(len(ti), np.int64)  # 0: the most prominent (ties by time, frequency)
    rank[np.lexsort((f, ti, -score))] = np.arange(len(ti))
    half = int(round(0.5 / FRAME))
    lo = np.searchsorted(ti, ti - half, side="left")
    hi = np.searchsorted(ti, ti + half, side="right")
    keep = np.zeros(len(ti), dtype=bool)
    for s0 in range(0, len(ti), _RANK_BLOCK):  # a block at a time: memory stays flat
        s1 = min(s0 + _RANK_BLOCK, len(ti))
        near = lo[s0:s1, None] + np.arange(int((hi[s0:s1] - lo[s0:s1]).max()))[None, :]
        inside = near < hi[s0:s1, None]
        better = inside & (rank[np.minimum(near, len(ti) - 1)] < rank[s0:s1, None])
        keep[s0:s1] = better.sum(axis=1) < per_second
    return Peaks(ti[keep].astype(np.int32), f[keep].astype(np.float32))


_RANK_BLOCK = 8192


def find_peaks(spec: np.ndarray, *, per_second: int = PEAKS_PER_SECOND) -> Peaks:
    """The most prominent local maxima of a log spectrogram, ``per_second`` at most."""
    return _strongest(_candidates(spec, 0, 0, spec.shape[1]), spec.max() - 70.0, per_second)


def _frame_power(spec: np.ndarray) -> np.ndarray:
    return 10.0 * np.log10(np.mean(10.0 ** (spec / 10.0), axis=0) + 1e-12)


def frame_level(spec: np.ndarray) -> np.ndarray:
    """Per-frame loudness in whole dB below the loudest frame, clipped to 0..100 (uint8)."""
    return _level(_frame_power(spec))


def _level(power: np.ndarray) -> np.ndarray:
    return np.clip(np.round(power.max() - power), 0, 100).astype(np.uint8)


def peaks_and_level(x: np.ndarray, *, per_second: int = PEAKS_PER_SECOND) -> tuple[Peaks,
                                                                                   np.ndarray]:
    """Peaks and per-frame level of a recording at ``SR``, a chunk of frames at a time.

    The same as ``find_peaks(log_spectrogram(x))`` and ``frame_level`` of it, but the
    spectrogram is never held whole: each chunk is computed with enough context for the
    peak filters, and the loudness floor (70 dB below the loudest point) is applied once
    all chunks are seen.
    """
    if len(x) < N_FFT:
        x = np.pad(x, (0, N_FFT - len(x)))
    n_frames = 1 + (len(x) - N_FFT) // HOP
    parts, powers, top = [], [], -np.inf
    for c0 in range(0, n_frames, CHUNK_FRAMES):
        c1 = min(c0 + CHUNK_FRAMES, n_frames)
        p0, p1 = max(c0 - _CONTEXT, 0), min(c1 + _CONTEXT, n_frames)
        spec = log_spectrogram(x[p0 * HOP:(p1 - 1) * HOP + N_FFT])
        parts.append(_candidates(spec, p0, c0 - p0, c1 - p0))
        powers.append(_frame_power(spec[:, c0 - p0:c1 - p0]))
        top = max(top, float(spec[:, c0 - p0:c1 - p0].max()))
    every = _Candidates(*(np.concatenate([getattr(p, k) for p in parts])
                          for k in _Candidates.__dataclass_fields__))
    return _strongest(every, top - 70.0, per_second), _level(np.concatenate(powers))


def triplets(peaks: Peaks, *, fan: int = FAN) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index triples (i, j, k) of peaks: each anchor with pairs of its next ``fan`` partners."""
    t, f = peaks.t, peaks.f
    n = len(t)
    if n < 3:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    look = 4 * fan + 8
    cand = np.arange(n)[:, None] + np.arange(1, look + 1)[None, :]
    inside = cand < n
    cand = np.minimum(cand, n - 1)
    dt = t[cand] - t[:, None]
    ok = inside & (dt >= 1) & (dt <= MAX_DT) & (np.abs(f[cand] - f[:, None]) <= MAX_DF)
    slot = np.cumsum(ok, axis=1) - 1
    ok &= slot < fan
    # partners[i, s] = index of the s-th partner of anchor i, or -1
    partners = np.full((n, fan), -1, dtype=np.int64)
    rows, cols = np.nonzero(ok)
    partners[rows, slot[rows, cols]] = cand[rows, cols]
    ii, jj, kk = [], [], []
    for a in range(fan):
        for b in range(a + 1, fan):
            valid = (partners[:, a] >= 0) & (partners[:, b] >= 0)
            anchors = np.flatnonzero(valid)
            ii.append(anchors)
            jj.append(partners[anchors, a])
            kk.append(partners[anchors, b])
    i, j, k = np.concatenate(ii), np.concatenate(jj), np.concatenate(kk)
    keep = (t[k] - t[i]) >= MIN_SPAN
    return i[keep], j[keep], k[keep]


def _features(peaks: Peaks, i: np.ndarray, j: np.ndarray, k: np.ndarray):
    """Continuous hash features in units of their quantisation cells."""
    t, f = peaks.t.astype(np.float64), peaks.f.astype(np.float64)
    span = t[k] - t[i]
    r = (t[j] - t[i]) / span * R_LEVELS
    d1 = (f[j] - f[i] + MAX_DF) / DF_STEP
    d2 = (f[k] - f[i] + MAX_DF) / DF_STEP
    s = (np.log2(span) - 3.0) * 2.0
    fb = f[i] / F_BAND
    r_tol = R_JITTER_FRAMES / span * R_LEVELS
    return (r, d1, d2, s, fb), (r_tol, DF_TOLERANCE / DF_STEP, DF_TOLERANCE / DF_STEP,
                                SCALE_TOLERANCE * 2.0, SCALE_TOLERANCE * BINS_PER_OCTAVE / F_BAND)


_LEVELS = (R_LEVELS, DF_LEVELS, DF_LEVELS, SPAN_LEVELS, F_LEVELS)


def _pack(cells: list[np.ndarray]) -> np.ndarray:
    h = np.zeros(len(cells[0]), dtype=np.int64)
    for cell, levels in zip(cells, _LEVELS, strict=True):
        h = h * levels + np.clip(cell, 0, levels - 1)
    return h.astype(np.uint32)


def hashes(peaks: Peaks, i: np.ndarray, j: np.ndarray, k: np.ndarray) -> np.ndarray:
    """One uint32 hash per triplet (the cell each feature falls in)."""
    values, _ = _features(peaks, i, j, k)
    return _pack([np.floor(v).astype(np.int64) for v in values])


def probe_hashes(peaks: Peaks, i: np.ndarray, j: np.ndarray,
                 k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All hashes a query triplet may have been indexed under: (row into the triplets, hash).

    A feature within its tolerance of a cell edge also probes the neighbouring cell (every
    combination of such moves); a move past the outermost cell adds nothing.
    """
    values, tols = _features(peaks, i, j, k)
    raw = [np.floor(v).astype(np.int64) for v in values]
    rows, h = np.arange(len(i)), _pack(raw).astype(np.int64)
    weight = 1
    for axis in reversed(range(len(values))):  # _pack's last feature is its lowest digit
        frac = values[axis] - np.floor(values[axis])
        step = np.where(frac < tols[axis], -1, np.where(frac > 1 - tols[axis], 1, 0))
        top = _LEVELS[axis] - 1
        delta = np.clip(raw[axis] + step, 0, top) - np.clip(raw[axis], 0, top)
        near = np.flatnonzero(delta[rows])
        rows = np.concatenate([rows, rows[near]])
        h = np.concatenate([h, h[near] + delta[rows[near]] * weight])
        weight *= _LEVELS[axis]
    return rows, h.astype(np.uint32)


def to_analysis_rate(y: np.ndarray, sr: int) -> np.ndarray:
    """Mono float32 at ``SR`` (the landmarks' fixed analysis rate)."""
    y = np.asarray(y, dtype=np.float32)
    if sr == SR:
        return y
    g = math.gcd(int(sr), SR)
    return signal.resample_poly(y, SR // g, int(sr) // g).astype(np.float32)


def fingerprint(y: np.ndarray, *, sr: int) -> Fingerprint:
    """Landmarks of a recording: peaks and hashed triplets, at any input rate.

    >>> fp = fingerprint(y, sr=16000)   # doctest: +SKIP
    >>> len(fp), fp.duration            # doctest: +SKIP
    (5400, 30.0)
    """
    x = to_analysis_rate(y, sr)
    duration = len(x) / SR
    peaks, level = peaks_and_level(x)
    i, j, k = triplets(peaks)
    h = hashes(peaks, i, j, k)
    return Fingerprint(
        hash=h,
        t1=peaks.t[i].astype(np.int32),
        span=(peaks.t[k] - peaks.t[i]).astype(np.int16),
        f1=peaks.f[i].astype(np.float32),
        peaks=peaks,
        duration=duration,
        level=level,
        triplet_peaks=np.stack([i, j, k], axis=1).astype(np.int32),
    )


def query_view(fp: Fingerprint) -> Fingerprint:
    """The query's own triplets: its peaks paired ``QUERY_FAN`` deep, not ``FAN``, so that an
    indexed triplet is still among them when extra peaks (noise, babble) crowd in."""
    i, j, k = triplets(fp.peaks, fan=QUERY_FAN)
    return replace(fp, hash=hashes(fp.peaks, i, j, k), t1=fp.peaks.t[i].astype(np.int32),
                   span=(fp.peaks.t[k] - fp.peaks.t[i]).astype(np.int16),
                   f1=fp.peaks.f[i].astype(np.float32),
                   triplet_peaks=np.stack([i, j, k], axis=1).astype(np.int32))


def query_probes(fp: Fingerprint, rows: np.ndarray | None = None) -> tuple[np.ndarray,
                                                                         np.ndarray]:
    """(triplet row, hash) pairs to look up for a query fingerprint, neighbours included;
    ``rows`` limits them to some triplets (a stretch of a long query)."""
    if fp.triplet_peaks is None:
        raise ValueError("this fingerprint was loaded from storage: fingerprint the audio again")
    if rows is None:
        rows = np.arange(len(fp.triplet_peaks))
    tp = fp.triplet_peaks[rows].astype(np.int64)
    local, probes = probe_hashes(fp.peaks, tp[:, 0], tp[:, 1], tp[:, 2])
    return rows[local], probes
