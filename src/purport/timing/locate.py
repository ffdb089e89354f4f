"""Place an ENF trace in a grid log: weighted normalised correlation at every lag, by FFT.

For each lag the trace and the log segment under it are mean-removed and correlated,
weighted by the trace's per-second SNR and skipping the log's gaps; all lags by six FFT
correlations, ``LAG_BLOCK`` lags at a time (O(N log N) for a month of 1 Hz values, and
memory that does not grow with the log beyond the scores). The best lag is refined to a
fraction of a second by a parabola through its neighbours. How unusual the
best score is comes from the scores at all the other lags (Fisher-z, standardised), by
block maxima: the log's lags are cut into blocks of ``BLOCK`` s, a Gumbel distribution is
fitted to the blocks' best scores, and the false-match probability is the chance that the
best of all blocks reaches the best score. Block maxima carry the scores' own tail and
their correlation from lag to lag; a normal fit to all lags with a count of "independent"
lags does not (a trace of noise peaks correlates with the log's slow shapes: its scores
have a heavy tail that a normal fit puts orders of magnitude too low, which once gave a
no-hum trace a false-match probability of 1e-8).
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
BLOCK = 600           # lags (s) per block for the block-maximum (Gumbel) null
MIN_BLOCKS = 10       # fewer blocks: normal fit to all lags, independent lags counted
LAG_BLOCK = 1 << 18   # lags correlated per FFT (3 days of log): memory independent of the log


@dataclass(frozen=True)
class Placement:
    start: str                   # ISO time of the recording's first second
    offset_seconds: float        # from the start of the log
    score: float                 # weighted correlation
    z: float


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
    parts = [c[0] for _, c in correlate_blocks(trace[None, :], weights[None, :], log)]
    return np.concatenate(parts)


def correlate_blocks(traces: np.ndarray, weights: np.ndarray, log: np.ndarray,
                     lag_block: int = LAG_BLOCK) -> Iterator[tuple[int, np.ndarray]]:
    """:func:`correlate` of several equal-length traces (rows) at once, a block of lags at
    a time: yields (first lag, array of shape (rows, lags in the block)).

    The log's transforms are computed once per block for all the traces, which is what
    makes placing a recording's many windows affordable (see :mod:`purport.timing.pieces`).
    """
    n, m = traces.shape[1], len(log)
    if m < n:
        raise ParameterError(f"the grid log ({m} s) is shorter than the recording's trace "
                             f"({n} s)")
    w = np.where(np.isfinite(traces), weights, 0.0)
    x = np.where(w > 0, traces, 0.0)
    total = w.sum(axis=1, keepdims=True)
    x = x - (w * x).sum(axis=1, keepdims=True) / np.maximum(total, 1e-12)  # well scaled sums
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

        a, bx, bxx = xc(w_spec, mask_spec), xc(wx_spec, mask_spec), xc(wxx_spec, mask_spec)
        br, brr, bxr = xc(w_spec, r_spec), xc(w_spec, rr_spec), xc(wx_spec, r_spec)
        with np.errstate(invalid="ignore", divide="ignore"):
            cov = bxr - bx * br / a
            vx = bxx - bx * bx / a
            vr = brr - br * br / a
            part = cov / np.sqrt(vx * vr)
        part[a < MIN_OVERLAP * total] = np.nan
        yield k0, np.clip(part, -1, 1)


def locate(trace: Trace, log: GridLog, *, n_alternatives: int = 3) -> Location:
    """Best placement of the trace in the log, its false-match probability, alternatives."""
    weights = np.clip(10 ** (trace.snr_db / 10) - 1, 0, None)
    weights = weights / max(weights.max(initial=0), 1e-12)
    c = correlate(trace.freq, weights, log.freq)
    searched = {"log_start": log.start.isoformat(), "log_end": log.end.isoformat(),
                "lags": int(len(c))}
    if not np.isfinite(c).any():
        return Location(best=None, confidence=0.0, false_match_probability=1.0,
                        searched=searched)
    # Fisher z of every lag; the null is the bulk of lags away from the best
    z = np.arctanh(np.clip(c, -0.999999, 0.999999))
    k = int(np.nanargmax(c))
    away = np.ones(len(c), bool)
    away[max(0, k - EXCLUSION):k + EXCLUSION + 1] = False
    null = z[away & np.isfinite(z)]
    mu, sd = (float(np.mean(null)), float(np.std(null))) if len(null) > 10 else (0.0, 1.0)
    sd = max(sd, 1e-6)
    z_best = (z[k] - mu) / sd
    fmp = _block_max_fmp(np.where(away, (z - mu) / sd, np.nan), z_best)
    if fmp is None:
        # short log: normal tail, independent lags from the trace's correlation length
        n_eff = max(1.0, len(null) / _correlation_length(trace.freq))
        tail = stats.norm.sf(z_best)
        fmp = float(-np.expm1(n_eff * np.log1p(-min(tail, 1 - 1e-16))))
    frac = 0.0
    if 0 < k < len(c) - 1 and np.isfinite(c[k - 1]) and np.isfinite(c[k + 1]):
        denom = c[k - 1] - 2 * c[k] + c[k + 1]
        frac = float(np.clip(0.5 * (c[k - 1] - c[k + 1]) / denom, -0.5, 0.5)) if denom else 0.0
    t0 = float(trace.t[0]) if len(trace.t) else 0.0
    offset = k + frac + 0.5 - t0  # log second k holds the window centred t0 s in
    alternatives = []
    # the best lags in turn, each more than EXCLUSION s from those taken (no full sort)
    left = np.where(np.isfinite(c), c, -np.inf)
    left[max(0, k - EXCLUSION):k + EXCLUSION + 1] = -np.inf
    while len(alternatives) < n_alternatives:
        j = int(np.argmax(left))
        if not np.isfinite(left[j]):
            break
        left[max(0, j - EXCLUSION):j + EXCLUSION + 1] = -np.inf
        alternatives.append(_placement(log, j + 0.5 - t0, c[j], (z[j] - mu) / sd))
    confidence = z_best - (alternatives[0].z if alternatives else 0.0)
    return Location(best=_placement(log, offset, c[k], z_best), confidence=round(confidence, 2),
                    false_match_probability=fmp, alternatives=alternatives, searched=searched)


def _placement(log: GridLog, offset: float, score: float, z: float) -> Placement:
    """Where the recording's first second falls, for a trace starting at ``offset`` in the log.

    The trace's first value describes the window centred ``trace.t[0]`` seconds into the
    recording, and a log value describes the second that starts at its index.
    """
    start = log.start + dt.timedelta(seconds=float(offset))
    return Placement(start=start.isoformat().replace("+00:00", "Z"),
                     offset_seconds=round(float(offset), 3), score=round(float(score), 4),
                     z=round(float(z), 2))


def _block_max_fmp(z: np.ndarray, z_best: float) -> float | None:
    """P(the best of all blocks of null scores ``z`` (NaN: not searched) >= ``z_best``),
    from a Gumbel fit (moments) to the blocks' maxima; None when too few blocks."""
    n_blocks = len(z) // BLOCK
    if n_blocks < MIN_BLOCKS:
        return None
    blocks = z[: n_blocks * BLOCK].reshape(n_blocks, BLOCK)
    full = np.isfinite(blocks).sum(axis=1) >= BLOCK / 2
    if full.sum() < MIN_BLOCKS:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        maxima = np.nanmax(blocks[full], axis=1)
    beta = max(float(np.std(maxima)) * np.sqrt(6) / np.pi, 1e-6)
    mode = float(np.mean(maxima)) - np.euler_gamma * beta
    # all the log's lags, in blocks: P(max >= z_best) = 1 - exp(-B exp(-(z_best - mode)/beta))
    searched = np.isfinite(z).sum() / BLOCK
    return float(-np.expm1(-searched * np.exp(-(z_best - mode) / beta)))


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
