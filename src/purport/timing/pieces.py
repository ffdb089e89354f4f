"""Place an ENF trace piece by piece: the pieces of an edited recording come from different
times.

One placement of the whole trace cannot fit a recording that was cut (everything after
the cut was recorded later by the length removed) or spliced (a piece of another day in
between). So the trace is placed in overlapping windows (``WINDOW`` s every ``HOP``), every
window against the whole log; the sequence of pieces that best explains the windows (each
piece one placement, each change of placement costing ``SWITCH``, a window that fits
nothing well left unplaced) is found by dynamic programming over the windows' candidate
placements, in the spirit of Hua, Goh and Thing's dynamic matching for ENF timestamps
(2014). The boundary between two placed pieces is refined to the second by where the
trace stops following one placement and starts following the other. Each piece is then
placed again on its own over the whole log by :func:`purport.timing.locate.locate`, which
gives its false-match probability, and neighbouring pieces that land at one placement
are joined.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from purport.timing import enf, locate
from purport.timing.enf import Trace
from purport.timing.grid import GridLog

WINDOW = 60            # seconds of trace per window
HOP = 15               # seconds between window starts
NULL_LAGS = 2000       # random lags of the log that give a window's chance scores
NONE_Z = 2.0           # standardised window score a placement must beat to explain a window
MARGIN = 2.0           # weight of a better fit near the placement against it
SWITCH = 4.0           # cost of a change of placement between windows (standardised units)
SAME = 3.0             # seconds: placements this close are one placement
LOCAL = 120            # seconds around a placement a window must fit it better than
MIN_SEARCH = 75        # seconds: an unexplained stretch this long is searched for on its own
SEARCH_FMP = 0.05      # ... and its placement is tried when at most this likely by chance
MAX_PIECES = 8         # rounds of searching
CHUNKS = (600, 300, 150, 90, 60)  # seconds: a stretch no placement explains is searched in
                              # chunks this long, longest first
NEAR = 3600            # seconds: a piece not placed in the whole log is sought this near
                       # its recording's other placed pieces
MAX_FALSE_MATCH = 0.01  # a piece is "placed" at this false-match probability or below
EDGE = int(np.ceil(enf.WINDOW / 2))  # trace values whose estimate window reaches a join
DEPART_MIN = 4         # seconds in a row: a departure of a placed piece from the log
DEPART_SIGMAS = 4.0    # robust spreads of the piece's residual
DEPART_FLOOR = 0.0005  # Hz: the least spread assumed (a clean trace is this noisy)
SNAP = 8               # seconds: how far a step or SNR dip may move a boundary
SNR_DIP = 10.0         # dB below the median: an estimate window straddling a join


@dataclass(frozen=True)
class Piece:
    """A stretch of the recording and where in the grid log it fits."""

    query_start: float                 # seconds into the recording
    query_end: float
    recorded_at: str | None            # grid time of query_start under the placement
    offset_seconds: float | None       # log second of the recording's time 0, this placement
    score: float | None                # weighted correlation of the piece's trace
    rms_mhz: float | None              # its root mean square difference from the log
    false_match_probability: float
    placed: bool
    searched: str = "the whole log"    # the stretch of log the probability counts
    departures: list[list[float]] = field(default_factory=list)  # [start, end] s where a
    # placed piece's trace leaves the log (see _departures)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def place_pieces(trace: Trace, log: GridLog, *, steps: Sequence[float] = (),
                 located: locate.Location | None = None) -> list[Piece]:
    """The pieces of ``trace`` and their placements in ``log``, in recording order.

    A trace shorter than two windows, or one whose windows all follow one placement, is
    one piece placed as a whole (the same placement as :func:`locate.locate`). ``steps``:
    times (s) of the hum's phase or frequency steps
    (:func:`purport.timing.enf.discontinuities`), to which a boundary between pieces is
    moved when one falls near it. ``located``: :func:`locate.locate` of the whole trace,
    when the caller has it already.
    """
    n = len(trace.freq)
    whole = _piece(trace, log, 0, n, located)
    if n < 2 * WINDOW or len(log.freq) < n:
        return [whole]
    weights = locate.weights_of(trace)
    starts = np.arange(0, n - WINDOW + 1, HOP)
    if starts[-1] != n - WINDOW:
        starts = np.r_[starts, n - WINDOW]
    moments = _window_moments(trace, weights, log, starts)
    states: list[float] = [] if whole.offset_seconds is None else [whole.offset_seconds]
    tried: set[tuple[float, float]] = set()
    pieces = [whole]
    for _ in range(MAX_PIECES):
        runs = _assign(trace, weights, log, starts, states, moments)
        if len(runs) > 1:
            table = np.array(states)
            cuts = [_boundary(trace, weights, log, a, b, table, list(steps))
                    for a, b in zip(runs, runs[1:], strict=False)]
            bounds = [0, *cuts, n]
            pieces = _near_pass(trace, log, _join_same(trace, log, _near_pass(trace, log, [
                _piece(trace, log, i0, i1)
                for i0, i1 in zip(bounds, bounds[1:], strict=False) if i1 > i0])))
        # what no placement found so far explains, or explains only by chance: search the
        # whole log for it, as a whole and in chunks
        gaps = [p for p in pieces if not p.placed and p.query_end - p.query_start >= MIN_SEARCH
                and (p.query_start, p.query_end) not in tried]
        added = False
        for p in pieces:  # a stretch no window placement explained that places on its own
            if p.placed and all(abs(p.offset_seconds - o) > SAME for o in states):
                states.append(p.offset_seconds)
                added = True
        for p in gaps:
            tried.add((p.query_start, p.query_end))
            i0, i1 = _indices(trace, p)
            for q in _search(trace, log, i0, i1):
                if all(abs(q.offset_seconds - o) > SAME for o in states):
                    states.append(q.offset_seconds)
                    added = True
        if not added:
            break
    return [replace(p, departures=_departures(trace, log, p)) if p.placed else p
            for p in pieces]


def _indices(trace: Trace, p: Piece) -> tuple[int, int]:
    """Trace indices [i0, i1) of a piece."""
    return (int(np.searchsorted(trace.t, p.query_start + 0.5 - 1e-9)),
            int(np.searchsorted(trace.t, p.query_end + 0.5 - 1e-9)))


def _search(trace: Trace, log: GridLog, i0: int, i1: int) -> list[Piece]:
    """Placements for trace indices [i0, i1) that chance would rarely give: the stretch
    as a whole, or, when it is itself made of pieces, its chunks, longest first (a long
    log needs a long chunk to place: ``CHUNKS``), stopping at the first length that
    places any."""
    whole = _piece(trace, log, i0, i1)
    if whole.offset_seconds is not None and whole.false_match_probability <= SEARCH_FMP:
        return [whole]
    for size in CHUNKS:
        if i1 - i0 <= size:
            continue
        firsts = list(range(i0, i1 - size + 1, size // 3))
        if firsts[-1] != i1 - size:
            firsts.append(i1 - size)
        found = [p for p in (_piece(trace, log, c0, c0 + size) for c0 in firsts)
                 if p.offset_seconds is not None and p.false_match_probability <= SEARCH_FMP]
        if found:
            return found
    return []


def _window_moments(trace: Trace, weights: np.ndarray, log: GridLog,
                    starts: np.ndarray) -> np.ndarray:
    """Mean and spread of each window's fit (:meth:`locate.Sums.fit`) over ``NULL_LAGS`` lags of the
    log drawn at random (seeded): what a window scores at a placement that is chance."""
    lags = np.random.default_rng(0).integers(0, len(log.freq) - WINDOW + 1, NULL_LAGS)
    out = np.zeros((len(starts), 2))
    for i, s in enumerate(starts):
        z = locate.sums_at(trace.freq[s:s + WINDOW], weights[s:s + WINDOW], log.freq,
                           lags).fit()
        z = z[np.isfinite(z)]
        out[i] = (z.mean(), max(z.std(), 1e-6)) if len(z) > 10 else (0.0, 1.0)
    return out


def _assign(trace: Trace, weights: np.ndarray, log: GridLog, starts: np.ndarray,
            states: list[float], moments: np.ndarray) -> list[_Run]:
    """Runs of windows, each following one of ``states`` or none (dynamic programming)."""
    n = len(trace.freq)
    if not states:
        return [_Run(-1, 0, n, n, 0)]
    score = _window_scores(trace, weights, log, starts, np.array(states), moments)
    runs = _runs(_viterbi(score), starts, n)
    # windows that straddle a join fit neither side: between two placed runs, a short run
    # of them is the join itself, not a piece
    kept = [r for i, r in enumerate(runs)
            if not (r.state < 0 and 0 < i < len(runs) - 1
                    and r.core_end - r.core_start < 2 * HOP)]
    merged = [kept[0]]
    for r in kept[1:]:
        if r.state == merged[-1].state:
            m = merged[-1]
            merged[-1] = _Run(m.state, m.first, r.last, r.core_end, m.core_start)
        else:
            merged.append(r)
    return merged


def _window_scores(trace: Trace, weights: np.ndarray, log: GridLog, starts: np.ndarray,
                   states: np.ndarray, moments: np.ndarray) -> np.ndarray:
    """How well every window follows each placement (windows x states), in units of the
    window's chance spread: its best fit within ``SAME`` s of the placement over the
    chance fits (``moments``), less ``MARGIN`` times by how much a fit from ``SAME`` to
    ``LOCAL`` s away beats it. A window after a short cut fits a few seconds later better
    than at the placement itself, and a window of another day fits the placement no better
    than chance: both score low, while a window that follows the placement stands far
    above chance and above its neighbourhood (the grid a few seconds away has the same
    level but not the same detail).
    """
    out = np.full((len(starts), len(states)), -np.inf)
    spread = np.arange(-LOCAL, LOCAL + 1)
    near = np.abs(spread) <= SAME
    for i, s in enumerate(starts):
        x, w = trace.freq[s:s + WINDOW], weights[s:s + WINDOW]
        lags = np.round(states + trace.t[s] - 0.5).astype(np.int64)[:, None] + spread[None, :]
        z = locate.sums_at(x, w, log.freq, lags.ravel()).fit().reshape(lags.shape)
        z = np.where(np.isfinite(z), z, -np.inf)
        here, around = z[:, near].max(axis=1), z[:, ~near].max(axis=1)
        with np.errstate(invalid="ignore"):  # -inf - -inf where the log has no values
            level = (here - moments[i, 0]) / moments[i, 1]
            margin = np.where(np.isfinite(around), (here - around) / moments[i, 1], 0.0)
            out[i] = np.where(np.isfinite(here),
                              level + MARGIN * np.minimum(margin, 0.0), -np.inf)
    return out


def _viterbi(score: np.ndarray) -> np.ndarray:
    """The state per window (index into the placements; -1: not placed) that maximises
    the windows' scores minus ``SWITCH`` per change (a window not placed scores
    ``NONE_Z``)."""
    k, s = score.shape
    emit = np.c_[np.minimum(score, 50.0), np.full(k, NONE_Z)]  # last column: not placed
    total = emit[0].copy()
    back = np.zeros((k, s + 1), dtype=np.int64)
    for i in range(1, k):
        best = int(np.argmax(total))
        stay = total
        move = total[best] - SWITCH
        back[i] = np.where(stay >= move, np.arange(s + 1), best)
        total = np.maximum(stay, move) + emit[i]
    path = np.empty(k, dtype=np.int64)
    path[-1] = int(np.argmax(total))
    for i in range(k - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    return np.where(path == s, -1, path)


@dataclass(frozen=True)
class _Run:
    state: int        # placement index, -1: not placed
    first: int        # first trace index the run's windows cover
    last: int         # one past the last
    core_end: int     # one past the last index covered by this run's windows only
    core_start: int   # first index covered by this run's windows only


def _runs(path: np.ndarray, starts: np.ndarray, n: int) -> list[_Run]:
    """Consecutive windows with one state, with the trace span their windows cover."""
    edges = np.flatnonzero(np.diff(path)) + 1
    bounds = [0, *edges.tolist(), len(path)]
    runs = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        first, last = int(starts[a]), int(min(starts[b - 1] + WINDOW, n))
        core_start = int(starts[a - 1] + WINDOW) if a > 0 else 0
        core_end = int(starts[b]) if b < len(path) else n
        runs.append(_Run(int(path[a]), first, last, min(core_end, last),
                         max(core_start, first)))
    return runs


def _boundary(trace: Trace, weights: np.ndarray, log: GridLog, a: _Run, b: _Run,
              states: np.ndarray, steps: list[float]) -> int:
    """The trace index where run ``b`` takes over from run ``a``.

    Where both are placed: the second that best splits the overlap between "follows a's
    placement" and "follows b's" (least weighted squared difference from the log).
    Otherwise the middle of the windows' overlap.
    """
    lo, hi = min(a.core_end, b.core_start), max(a.core_end, b.core_start)
    lo, hi = max(lo - HOP, a.first), min(hi + HOP, b.last)
    middle = (a.core_end + b.core_start) // 2
    if a.state < 0 or b.state < 0 or hi - lo < 4:
        return int(np.clip(middle, a.first + 1, b.last - 1))
    idx = np.arange(lo, hi)
    x, w = trace.freq[idx], np.where(np.isfinite(trace.freq[idx]), weights[idx], 0.0)
    cost = []
    for state in (a.state, b.state):
        pos = states[state] + trace.t[idx] - 0.5
        i = np.clip(np.round(pos).astype(np.int64), 0, len(log.freq) - 1)
        r = np.where(w > 0, x - log.freq[i], 0.0)
        r = np.where(np.isfinite(r), r, 0.0)
        cost.append(w * r ** 2)  # no level removed: the level is what tells the sides apart
    before = np.r_[0.0, np.cumsum(cost[0])]
    after = np.r_[np.cumsum(cost[1][::-1])[::-1], 0.0]
    split = lo + int(np.argmin(before + after))
    return int(np.clip(_snap(trace, split, lo, hi, steps), a.first + 1, b.last - 1))


def _snap(trace: Trace, split: int, lo: int, hi: int, steps: list[float]) -> int:
    """A join is sharper in the hum itself than in the residuals (two stretches of grid
    can run alike for seconds): move ``split`` to the nearest phase or frequency step
    within ``SNAP`` s of it, else to a dip of the trace's SNR there (an estimate window
    that straddles a join sees two hums and a weak peak). Farther away a step or a dip is
    something else (a pause in the speech dips the SNR too)."""
    split = int(np.clip(split, lo, hi - 1))
    lo, hi = max(lo, split - SNAP), min(hi, split + SNAP + 1)
    inside = [s for s in steps if trace.t[lo] - 0.5 <= s < trace.t[hi - 1] + 0.5]
    if inside:
        step = min(inside, key=lambda s: abs(s - trace.t[split]))
        return int(np.searchsorted(trace.t, step))
    snr = trace.snr_db[lo:hi]
    if np.isfinite(snr).sum() >= 4:
        dip = int(np.nanargmin(snr))
        if snr[dip] < np.nanmedian(trace.snr_db) - SNR_DIP:
            return lo + dip
    return split


def _piece(trace: Trace, log: GridLog, i0: int, i1: int,
           where: locate.Location | None = None, near: Sequence[float] = ()) -> Piece:
    """Trace indices [i0, i1) placed on their own over the whole log (``where``: that
    placement when the caller already has it).

    ``near``: the best placements (log offsets of recording time 0) of the recording's
    other pieces, placed or not. When the whole log does not place the piece, it is
    searched again within ``NEAR`` s of each of them, the false-match probability
    counting only that stretch of log, times the number of stretches searched: the
    pieces of one edited recording were most often recorded minutes or hours, not days,
    apart, and a shorter search needs a less unusual fit. This stays a false-match
    probability when the other piece's placement is itself wrong: it comes from other
    seconds of the recording, independent of this piece's noise, so the chance that this
    piece fits that well somewhere in a stretch chosen that way is the same. The piece
    says which search placed it.
    """
    n = len(trace.freq)
    q0 = 0.0 if i0 == 0 else float(trace.t[i0] - 0.5)
    q1 = float(trace.t[-1] + 0.5) if i1 >= n else float(trace.t[i1] - 0.5)
    # an estimate window that reaches across a join measures two hums: at a join inside
    # the recording the piece's first and last EDGE values are left out of its placement
    j0 = i0 + EDGE if i0 > 0 and i1 - i0 > 4 * EDGE else i0
    j1 = i1 - EDGE if i1 < n and i1 - i0 > 4 * EDGE else i1
    part = replace(trace, t=trace.t[j0:j1], freq=trace.freq[j0:j1],
                   snr_db=trace.snr_db[j0:j1])
    if where is None:
        if len(log.freq) < len(part.freq) or not np.isfinite(part.freq).any():
            return Piece(q0, q1, None, None, None, None, 1.0, False)
        where = locate.locate(part, log, n_alternatives=0)
    if where.best is None:
        return Piece(q0, q1, None, None, None, None, 1.0, False)
    searched, fmp = "the whole log", where.false_match_probability
    if fmp > MAX_FALSE_MATCH and near:
        for other in near:
            lag = other + part.t[0] - 0.5  # where the part's first value falls under it
            local = locate.locate(part, log, n_alternatives=0,
                                  within=(int(lag - NEAR), int(lag + NEAR) + 1))
            p = min(1.0, local.false_match_probability * len(near))
            if local.best is not None and p < fmp:
                where, fmp = local, p
                searched = f"within {NEAR // 3600} h of another piece's best placement"
    offset = where.best.offset_seconds
    at = log.start + dt.timedelta(seconds=offset + q0)
    return Piece(query_start=round(q0, 3), query_end=round(q1, 3),
                 recorded_at=at.isoformat().replace("+00:00", "Z"),
                 offset_seconds=round(offset, 3), score=where.best.score,
                 rms_mhz=where.best.rms_mhz, false_match_probability=fmp,
                 placed=fmp <= MAX_FALSE_MATCH, searched=searched)


def _near_pass(trace: Trace, log: GridLog, pieces: list[Piece]) -> list[Piece]:
    """Pieces the whole log did not place, sought again near the other pieces' best
    placements (see :func:`_piece`)."""
    out = []
    for p in pieces:
        if not p.placed:
            near = [q.offset_seconds for q in pieces
                    if q is not p and q.offset_seconds is not None
                    and (p.offset_seconds is None
                         or abs(q.offset_seconds - p.offset_seconds) > SAME)]
            if near:
                p = _piece(trace, log, *_indices(trace, p), near=near)
        out.append(p)
    return out


def _departures(trace: Trace, log: GridLog, p: Piece) -> list[list[float]]:
    """Stretches of a placed piece where its trace leaves the log: at least ``DEPART_MIN``
    s in a row more than ``DEPART_SIGMAS`` robust spreads (at least ``DEPART_FLOOR``) from
    the piece's median residual. A few seconds from another time inside a piece change
    its placement too little to split it, but not its residual; speech that covers the
    hum can do the same, so a departure marks where the hum does *not* vouch for the
    recording running on, not an edit."""
    i0, i1 = _indices(trace, p)
    if p.offset_seconds is None or i1 - i0 < 4 * DEPART_MIN:
        return []
    idx = np.arange(i0, i1)
    pos = np.round(p.offset_seconds + trace.t[idx] - 0.5).astype(np.int64)
    ok = (pos >= 0) & (pos < len(log.freq)) & np.isfinite(trace.freq[idx])
    r = np.full(len(idx), np.nan)
    r[ok] = trace.freq[idx[ok]] - log.freq[pos[ok]]
    if np.isfinite(r).sum() < 4 * DEPART_MIN:
        return []
    med = float(np.nanmedian(r))
    spread = max(1.4826 * float(np.nanmedian(np.abs(r - med))), DEPART_FLOOR)
    with np.errstate(invalid="ignore"):
        off = np.abs(r - med) > DEPART_SIGMAS * spread
    out = []
    edges = np.flatnonzero(np.diff(np.r_[0, off.astype(np.int8), 0]))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if b - a >= DEPART_MIN:
            out.append([round(float(trace.t[idx[a]] - 0.5), 1),
                        round(float(trace.t[idx[b - 1]] + 0.5), 1)])
    return out


def _join_same(trace: Trace, log: GridLog, pieces: list[Piece]) -> list[Piece]:
    """Neighbouring placed pieces at one placement (within ``SAME`` s) become one piece."""
    out = [pieces[0]]
    for p in pieces[1:]:
        q = out[-1]
        if (p.placed and q.placed and p.offset_seconds is not None
                and q.offset_seconds is not None
                and abs(p.offset_seconds - q.offset_seconds) <= SAME):
            i0, i1 = _indices(trace, q)[0], _indices(trace, p)[1]
            out[-1] = _piece(trace, log, i0, i1)
        else:
            out.append(p)
    return out
