"""Place an ENF trace in a grid log: weighted misfit at every lag, by FFT.

The hum *is* the grid frequency, so a trace at its true place matches the log in level and
in the size of its wander, not only in shape. For each lag, the SNR-weighted mean squared
difference between the trace and the log under it is taken after an offset between them
shrunk towards zero (``KAPPA``: a recorder clock's error); all lags from six FFT
correlations of the trace's and the log's sums, ``LAG_BLOCK`` lags at a time (O(N log N)
for a month of 1 Hz values, and memory that does not grow with the log beyond the
scores). The shapes' correlation, which earlier versions ranked by, is reported beside it:
a smooth minute of trace correlates 0.99 with many stretches of a day, while its misfit
at the true place is several times smaller than anywhere else.

How unusual the best fit is comes from the fits at all other lags: the log is cut into
cells of ``CELL`` s, each keeps its best fit, an exponential tail is fitted to the best
cells, and the false-match probability is the chance that any cell reaches the best fit
(see :func:`_tail_fmp`). The best lag is refined to a fraction of a second by a parabola.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import fft, stats

from purport.errors import ParameterError
from purport.timing.enf import Trace
from purport.timing.grid import GridLog

MIN_OVERLAP = 0.8     # share of the trace's weight that must fall on logged seconds
EXCLUSION = 30        # seconds around the best lag left out of the null distribution
CELL = 60             # lags (s) per cell of the null: about one independent placement
MIN_CELLS = 40        # fewer cells: normal fit to all lags, independent lags counted
TAIL_SHARE = 0.01     # share of the best cells whose fits give the null's tail
MIN_TAIL = 20         # ... and at least this many
KAPPA = 0.1           # offset shrinkage: (trace noise / clock offset spread)², ~1 / 3²
OUTLIER_SPAN = 31     # seconds: running median a trace value is compared with
OUTLIER_HZ = 0.01     # farther than this from it: not hum (weight 0)
MIN_MISFIT = 1e-12    # Hz² (a microhertz): floor before the logarithm
LAG_BLOCK = 1 << 18   # lags correlated per FFT (3 days of log): memory independent of the log


@dataclass(frozen=True)
class Placement:
    start: str                   # ISO time of the recording's first second
    offset_seconds: float        # from the start of the log
    score: float                 # weighted correlation of the shapes
    z: float                     # standardised fit (-log misfit) against all other lags
    rms_mhz: float               # root mean square difference from the log, offset shrunk


@dataclass(frozen=True)
class Location:
    """Where in the log the trace fits best, how well, and what else came close."""

    best: Placement | None
    confidence: float            # best z minus the next-best z (in standard deviations)
    false_match_probability: float
    alternatives: list[Placement] = field(default_factory=list)
    searched: dict[str, Any] = field(default_factory=dict)


def correlate(trace: np.ndarray, weights: np.ndarray, log: np.ndarray) -> np.ndarray:
    """Weighted, mean-removed correlation of ``trace`` with every segment of ``log``.

    NaN in the trace (or zero weight) and NaN in the log are skipped; lags whose overlap
    carries less than ``MIN_OVERLAP`` of the trace's weight get NaN. Lags are worked
    ``LAG_BLOCK`` at a time (each block's stretch of log by FFT), so memory beyond the
    result stays the same for a day's log or a year's.
    """
    parts = [s.correlation()[0] for _, s in sums_blocks(trace[None, :], weights[None, :], log)]
    return np.concatenate(parts)


@dataclass(frozen=True)
class Sums:
    """Weighted sums of a trace against the log at a block of lags (rows: traces).

    ``x`` is the trace less its weighted mean, ``r`` the log less its mean, ``m`` the log's
    mask of logged seconds: a = sum w m, x = sum w m x, xx = sum w m x^2, r = sum w r,
    rr = sum w r^2, xr = sum w x r; ``level`` is the trace's mean less the log's (Hz) and
    ``total`` the trace's weight. Both statistics purport uses come from these six sums.
    """

    a: np.ndarray
    x: np.ndarray
    xx: np.ndarray
    r: np.ndarray
    rr: np.ndarray
    xr: np.ndarray
    level: np.ndarray
    total: np.ndarray

    def correlation(self) -> np.ndarray:
        """Weighted correlation of the shapes (each side's mean removed): blind to level and
        scale, so a smooth minute correlates 0.99 with many stretches of a day."""
        with np.errstate(invalid="ignore", divide="ignore"):
            cov = self.xr - self.x * self.r / self.a
            vx = self.xx - self.x * self.x / self.a
            vr = self.rr - self.r * self.r / self.a
            c = np.clip(cov / np.sqrt(vx * vr), -1, 1)
        return self._masked(c)

    def misfit(self) -> np.ndarray:
        """Weighted mean squared difference (Hz²) between trace and log, after an offset
        between them shrunk towards zero (``KAPPA``): the spread of the difference plus
        ``KAPPA / (1 + KAPPA)`` of its squared mean. The hum *is* the grid frequency, so
        its level and the size of its wander must match too, not only its shape; the
        offset allowed is a recorder clock's error (50 ppm is 2.5 mHz at 50 Hz)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            d = (self.x - self.r) / self.a          # mean of trace less log, centred sums
            spread = (self.xx - 2 * self.xr + self.rr) / self.a - d * d
            mean = d + self.level
            m = np.maximum(spread, 0.0) + KAPPA / (1 + KAPPA) * mean * mean
        return self._masked(m)

    def fit(self) -> np.ndarray:
        """-log of :meth:`misfit` (floored at ``MIN_MISFIT``): higher is a closer fit."""
        with np.errstate(invalid="ignore"):
            return -np.log(np.maximum(self.misfit(), MIN_MISFIT))

    def _masked(self, v: np.ndarray) -> np.ndarray:
        v = np.asarray(v, dtype=np.float64)
        v[~(self.a >= MIN_OVERLAP * self.total)] = np.nan
        return v


def sums_blocks(traces: np.ndarray, weights: np.ndarray, log: np.ndarray,
                lag_block: int = LAG_BLOCK) -> Iterator[tuple[int, Sums]]:
    """:class:`Sums` of several equal-length traces (rows) against every lag of ``log``, a
    block of lags at a time: yields (first lag, sums of shape (rows, lags in the block)).

    The log's transforms are computed once per block for all the traces (rows), so several
    traces of one length cost little more than one.
    """
    n, m = traces.shape[1], len(log)
    if m < n:
        raise ParameterError(f"the grid log ({m} s) is shorter than the recording's trace "
                             f"({n} s)")
    w = np.where(np.isfinite(traces), weights, 0.0)
    x = np.where(w > 0, traces, 0.0)
    total = w.sum(axis=1, keepdims=True)
    x_mean = (w * x).sum(axis=1, keepdims=True) / np.maximum(total, 1e-12)
    x = np.where(w > 0, x - x_mean, 0.0)  # well scaled sums
    log_mean = np.nanmean(log)
    lags = m - n + 1
    block = min(lag_block, lags)
    size = fft.next_fast_len(block + n - 1)  # no circular wrap within a block's lags
    w_spec, wx_spec, wxx_spec = (np.conj(fft.rfft(v, size, axis=1))
                                 for v in (w, w * x, w * x * x))
    for k0 in range(0, lags, block):
        k1 = min(lags, k0 + block)
        seg = log[k0:k1 + n - 1]
        mask = np.isfinite(seg)
        r = np.where(mask, seg - log_mean, 0.0)
        mask_spec, r_spec, rr_spec = (fft.rfft(v, size)
                                      for v in (mask.astype(np.float64), r, r * r))

        def xc(short_spec: np.ndarray, long_spec: np.ndarray, k: int = k1 - k0) -> np.ndarray:
            return fft.irfft(short_spec * long_spec, size, axis=1)[:, :k]

        yield k0, Sums(a=xc(w_spec, mask_spec), x=xc(wx_spec, mask_spec),
                       xx=xc(wxx_spec, mask_spec), r=xc(w_spec, r_spec),
                       rr=xc(w_spec, rr_spec), xr=xc(wx_spec, r_spec),
                       level=x_mean - log_mean, total=total)


def sums_at(trace: np.ndarray, weights: np.ndarray, log: np.ndarray,
            lags: np.ndarray) -> Sums:
    """:class:`Sums` of one trace at the given lags only, by direct sums (one value per
    lag; a lag outside the log has no overlap): for a few hundred lags, cheaper than a
    pass over the whole log."""
    n = len(trace)
    w = np.where(np.isfinite(trace), weights, 0.0)
    total = w.sum()
    x_mean = (w * np.where(w > 0, trace, 0.0)).sum() / max(total, 1e-12)
    x = np.where(w > 0, trace - x_mean, 0.0)
    inside = (lags >= 0) & (lags + n <= len(log))
    idx = np.clip(lags, 0, max(len(log) - n, 0))[:, None] + np.arange(n)[None, :]
    seg = np.where(inside[:, None], log[idx], np.nan)
    mask = np.isfinite(seg)
    # any constant serves as the log's reference level (it cancels): the mean of what is
    # used, not of the whole log, which would cost a pass over a month per call
    log_mean = float(np.mean(seg[mask])) if mask.any() else 0.0
    r = np.where(mask, seg - log_mean, 0.0)
    return Sums(a=(w * mask).sum(axis=1), x=(w * x * mask).sum(axis=1),
                xx=(w * x * x * mask).sum(axis=1), r=(w * r).sum(axis=1),
                rr=(w * r * r).sum(axis=1), xr=(w * x * r).sum(axis=1),
                level=np.asarray(x_mean - log_mean), total=np.asarray(total))


def weights_of(trace: Trace) -> np.ndarray:
    """Per-second weight of a trace in placing it: its SNR (linear, less one; at most 1),
    and none where it leaves its own running median (``OUTLIER_SPAN`` s) by more than
    ``OUTLIER_HZ``. The grid moves a few millihertz a second; a value that far from its
    neighbours is a peak of speech or noise, and a squared misfit would let a few such
    values outweigh minutes of hum."""
    w = np.clip(10 ** (trace.snr_db / 10) - 1, 0, None)
    w = w / max(float(np.nanmax(w, initial=0)), 1e-12)
    f = np.asarray(trace.freq, dtype=np.float64)
    if len(f) >= OUTLIER_SPAN:
        half = OUTLIER_SPAN // 2
        padded = np.pad(f, half, mode="edge")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            med = np.nanmedian(np.lib.stride_tricks.sliding_window_view(padded, OUTLIER_SPAN),
                               axis=1)
        w = np.where(np.abs(f - med) > OUTLIER_HZ, 0.0, w)
    return np.where(np.isfinite(f) & np.isfinite(w), w, 0.0)


def locate(trace: Trace, log: GridLog, *, n_alternatives: int = 3,
           within: tuple[int, int] | None = None) -> Location:
    """Best placement of the trace in the log, its false-match probability, alternatives.

    ``within``: search only lags [a, b) of the log (a second of the log per lag, the
    trace's first value at lag + 0.5). The chance fits still come from the whole log, so
    the null is as well estimated as for a full search; only the number of cells a chance
    fit could come from is that of the stretch searched.
    """
    weights = weights_of(trace)
    corr, mis, fits = [], [], []
    for _, s in sums_blocks(trace.freq[None, :], weights[None, :], log.freq):
        corr.append(s.correlation()[0])
        mis.append(s.misfit()[0])
        fits.append(s.fit()[0])
    c, m, fit = np.concatenate(corr), np.concatenate(mis), np.concatenate(fits)
    searched = {"log_start": log.start.isoformat(), "log_end": log.end.isoformat(),
                "lags": int(len(c))}
    if not np.isfinite(m).any():
        return Location(best=None, confidence=0.0, false_match_probability=1.0,
                        searched=searched)
    searched_cells = None
    if within is not None:
        a, b = max(0, int(within[0])), min(len(fit), int(within[1]))
        if b <= a or not np.isfinite(fit[a:b]).any():
            return Location(best=None, confidence=0.0, false_match_probability=1.0,
                            searched=searched)
        k = a + int(np.nanargmax(fit[a:b]))
        searched_cells = (b - a) / CELL
        searched["within_lags"] = [a, b]
    else:
        k = int(np.nanargmax(fit))
    away = np.ones(len(fit), bool)
    away[max(0, k - EXCLUSION):k + EXCLUSION + 1] = False
    null = fit[away & np.isfinite(fit)]
    mu, sd = (float(np.mean(null)), float(np.std(null))) if len(null) > 10 else (0.0, 1.0)
    sd = max(sd, 1e-6)
    z = (fit - mu) / sd
    fmp = _tail_fmp(z, k, searched_cells)
    if fmp is None:
        # short log: normal tail, independent lags from the trace's correlation length
        lags_searched = len(null) if searched_cells is None else searched_cells * CELL
        n_eff = max(1.0, lags_searched / _correlation_length(trace.freq))
        tail = stats.norm.sf(z[k])
        fmp = float(-np.expm1(n_eff * np.log1p(-min(tail, 1 - 1e-16))))
    frac = 0.0
    if 0 < k < len(fit) - 1 and np.isfinite(fit[k - 1]) and np.isfinite(fit[k + 1]):
        denom = fit[k - 1] - 2 * fit[k] + fit[k + 1]
        frac = float(np.clip(0.5 * (fit[k - 1] - fit[k + 1]) / denom, -0.5, 0.5)) \
            if denom else 0.0
    t0 = float(trace.t[0]) if len(trace.t) else 0.0
    offset = k + frac + 0.5 - t0  # log second k holds the window centred t0 s in
    alternatives = []
    # the best lags in turn, each more than EXCLUSION s from those taken (no full sort)
    left = np.where(np.isfinite(fit), fit, -np.inf)
    left[max(0, k - EXCLUSION):k + EXCLUSION + 1] = -np.inf
    while len(alternatives) < n_alternatives:
        j = int(np.argmax(left))
        if not np.isfinite(left[j]):
            break
        left[max(0, j - EXCLUSION):j + EXCLUSION + 1] = -np.inf
        alternatives.append(_placement(log, j + 0.5 - t0, c[j], z[j], m[j]))
    confidence = z[k] - (alternatives[0].z if alternatives else 0.0)
    return Location(best=_placement(log, offset, c[k], z[k], m[k]),
                    confidence=round(float(confidence), 2), false_match_probability=fmp,
                    alternatives=alternatives, searched=searched)


def _placement(log: GridLog, offset: float, score: float, z: float,
               misfit: float) -> Placement:
    """Where the recording's first second falls, for a trace starting at ``offset`` in the log.

    The trace's first value describes the window centred ``trace.t[0]`` seconds into the
    recording, and a log value describes the second that starts at its index.
    """
    start = log.start + dt.timedelta(seconds=float(offset))
    return Placement(start=start.isoformat().replace("+00:00", "Z"),
                     offset_seconds=round(float(offset), 3), score=round(float(score), 4),
                     z=round(float(z), 2), rms_mhz=round(1000 * float(np.sqrt(misfit)), 3))


def _tail_fmp(z: np.ndarray, k: int, n_searched: float | None = None) -> float | None:
    """P(chance gives a fit as good as ``z[k]`` anywhere in the log), None when the log is
    too short to tell.

    The lags are cut into cells of ``CELL`` s (about one independent placement each; the
    cells near ``k`` are left out) and each cell keeps its best fit. Above the
    ``TAIL_SHARE`` best cells (at least ``MIN_TAIL``: on a log under about 33 h, more than
    1 %) the cell maxima are taken to fall off no slower than
    exponentially (scale: their mean excess, the maximum-likelihood fit), and the
    false-match probability is the chance that any cell of the log reaches ``z[k]``:
    ``1 - exp(-K exp(-(z[k] - u) / scale))`` with ``u`` the K-th best cell (times
    ``n_searched`` over the cells fitted, when only ``n_searched`` cells were searched).
    An exponential tail is the conservative choice for fits that are bounded above (a
    misfit cannot go below the trace's own noise); the block-maximum Gumbel it replaces
    was fitted to all blocks' maxima, whose spread comes from the log's calm and busy hours
    rather than from its best chance fits, and rated a 2-minute trace at its exact place
    as chance (0.1-1).
    """
    n_cells = len(z) // CELL
    if n_cells < MIN_CELLS:
        return None
    cells = z[: n_cells * CELL].reshape(n_cells, CELL)
    keep = np.isfinite(cells).sum(axis=1) >= CELL / 2
    near = np.arange(n_cells)
    keep &= (near < (k - EXCLUSION) // CELL - 1) | (near > (k + EXCLUSION) // CELL + 1)
    if keep.sum() < MIN_CELLS:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        maxima = np.sort(np.nanmax(cells[keep], axis=1))[::-1]
    top = max(MIN_TAIL, int(TAIL_SHARE * len(maxima)))
    u = maxima[top - 1]
    scale = max(float(np.mean(maxima[:top - 1] - u)), 1e-6)
    n_searched = n_cells if n_searched is None else max(1.0, n_searched)
    expected = top * np.exp(-(z[k] - u) / scale) * (n_searched / len(maxima))
    return float(-np.expm1(-expected))


def _correlation_length(x: np.ndarray) -> float:
    """Lag at which the (mean-removed) series' autocorrelation first falls below 1/e (at
    least 1): the trace's correlation length in seconds."""
    x = x[np.isfinite(x)]
    if len(x) < 8:
        return 1.0
    x = x - x.mean()
    size = fft.next_fast_len(2 * len(x))
    spec = fft.rfft(x, size)
    ac = fft.irfft(spec * np.conj(spec), size)[: len(x)]
    if ac[0] <= 0:
        return 1.0
    below = np.flatnonzero(ac / ac[0] < 1 / np.e)
    return float(max(1, below[0])) if len(below) else float(len(x))
