"""Find which seconds of a query come from which indexed recording, at what speed and pitch.

1. Look every query triplet up (with its neighbour probes); each hit proposes a time
   factor (span ratio), a pitch shift (anchor frequency difference) and the reference
   time at which the query would start.
2. Vote hits into (recording, start-offset) cells: re-used audio piles its hits into one
   cell, unrelated audio scatters them.
3. Fit each strong cell's hits to a line ref_time = a + b * query_time (b = 1 /
   time_factor) with the pitch shift alone, keep the inliers (the score), and split on
   long gaps.
4. Refine the span's boundaries by checking single query peaks against the reference's
   peaks under the fitted mapping.
5. Rate the score against the vote counts of all the other cells of this very search
   (non-matching material) to give the probability that noise alone scores as high.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

from purport.reuse.index import Index
from purport.reuse.landmarks import (
    BINS_PER_OCTAVE,
    FRAME,
    N_HASHES,
    Fingerprint,
    Peaks,
    query_probes,
)

#: Largest speed/tempo change searched (either way) and largest pitch shift (either way).
MAX_TIME_FACTOR = 1.16
MAX_PITCH_FACTOR = 1.16
CELL = 32                 # frames (0.51 s) per offset cell
MIN_SCORE = 5             # inlier triplets for a match at all
MIN_SPAN = 1.5            # seconds: shorter spans are not reported (a word is not re-use)
COMMON_HASH_FACTOR = 16   # see common_hash_limit
MAX_FALSE_MATCH = 1e-2    # default significance (the estimate is conservative: bench/reuse)
SPLIT_GAP = 5.0           # seconds without inliers that split one line into two segments
LEVEL_TOL = 3.0           # dB: loudness of query and reference frames agree within this,
LEVEL_SLACK = 0.25        # plus this share of how far below the loudest frame they are
LEVEL_FLOOR = 50.0        # dB below the loudest frame: quieter counts as equally silent
LEVEL_RUN = 3             # frames of disagreement that end a span
EDGE_SNAP = 0.5           # seconds: a span ending this close to the query's edge reaches it
MIN_SELF_OFFSET = 1.0     # seconds: a repeat inside one recording must be this far away

METHOD_TEXT = (
    "Spectral-peak triplets on a 36-bin/octave log-frequency axis (8 kHz analysis), hashed "
    "on time ratios and log-frequency steps (invariant to speed, tempo and pitch change), "
    "probed on both sides of quantisation edges; hits voted by recording and start offset, "
    "fitted to a line (time factor) with a common pitch shift, boundaries refined by single "
    "peaks. False-match probability: negative-binomial tail of the vote counts of all other "
    "offset cells searched for this query, corrected for the number of cells.")
LIMITS_TEXT = (
    "Finds re-used audio, not re-spoken words: the same text read again by a person is not "
    "a match, but a synthetic (TTS) voice reading the same phrase again makes the same "
    "audio and does match it (2-5 s spans in bench/reuse). "
    "Speed, tempo or pitch changes beyond about 13 % "
    "are not searched. Heavy music or noise over the speech, very short re-used spans "
    "(under about 2 s) and non-linear time edits (cuts inside a span) shorten or split "
    "matches. Boundaries are accurate to about a quarter second.")


@dataclass(frozen=True)
class Match:
    """A span of the query that re-uses a span of an indexed recording."""

    recording_id: int | None
    query_start: float
    query_end: float
    ref_start: float
    ref_end: float
    time_factor: float       # query duration / reference duration (1.0 = same speed)
    pitch_factor: float      # query pitch / reference pitch
    score: int               # triplets consistent with the mapping
    votes: int               # hits in the best offset cell (the statistic rated below)
    false_match_probability: float
    confirmed_peaks: float   # share of the query's peaks in the span found in the reference

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Hits:
    trip: np.ndarray     # query triplet row
    rec: np.ndarray
    q_t1: np.ndarray
    r_t1: np.ndarray
    scale: np.ndarray    # query span / reference span
    shift: np.ndarray    # query f1 - reference f1 (log bins)
    offset: np.ndarray   # reference frame at query frame 0


def common_hash_limit(index: Index) -> int:
    """Hashes more frequent than this carry little evidence and are not looked up.

    Like stop words: a hash held ``COMMON_HASH_FACTOR`` times more often than a uniform
    spread over all hash values would give is skipped. The limit grows with the index, so
    the share of probes skipped (about 7 % on the 20-hour benchmark) does not.
    """
    return max(64, int(COMMON_HASH_FACTOR * len(index) / N_HASHES))


def hits(index: Index, query: Fingerprint, *, lookup=None) -> _Hits:
    """All plausible (query triplet, indexed triplet) pairs with their implied mapping."""
    rows, probe = query_probes(query)
    qpos, epos = (lookup or index.lookup)(probe, max_count=common_hash_limit(index))
    trip = rows[qpos]
    scale = query.span[trip].astype(np.float32) / index.span[epos].astype(np.float32)
    shift = query.f1[trip].astype(np.float32) - index.f1[epos].astype(np.float32)
    max_shift = BINS_PER_OCTAVE * np.log2(MAX_PITCH_FACTOR)
    ok = ((scale >= 1 / MAX_TIME_FACTOR) & (scale <= MAX_TIME_FACTOR)
          & (np.abs(shift) <= max_shift))
    trip, epos = trip[ok], epos[ok]
    scale, shift = scale[ok].astype(np.float64), shift[ok].astype(np.float64)
    q_t1 = query.t1[trip].astype(np.float64)
    r_t1 = index.t1[epos].astype(np.float64)
    return _Hits(trip=trip, rec=index.rec[epos].astype(np.int64), q_t1=q_t1, r_t1=r_t1,
                 scale=scale, shift=shift, offset=r_t1 - q_t1 / scale)


def _canonical(h: _Hits, idx: np.ndarray) -> np.ndarray:
    """Hit indices in one fixed order, whatever order the lookup returned them in."""
    return idx[np.lexsort((h.r_t1[idx], h.trip[idx]))]


@dataclass(frozen=True)
class _Grid:
    """Dense (recording, offset cell) grid of every indexed recording, padded between them."""

    ids: np.ndarray      # sorted recording ids
    base: np.ndarray     # first cell of each recording
    margin: float        # frames added to offsets so that the first cell is 0

    def cell(self, rec: np.ndarray, offset: np.ndarray) -> np.ndarray:
        pos = np.searchsorted(self.ids, rec)
        return self.base[pos] + 1 + np.floor((offset + self.margin) / CELL).astype(np.int64)

    def recording(self, cell: int) -> int:
        return int(self.ids[np.searchsorted(self.base, cell, side="right") - 1])


def _grid(index: Index, q_frames: float) -> tuple[_Grid, int]:
    ids = np.array(index.recording_ids, dtype=np.int64)
    margin = q_frames * MAX_TIME_FACTOR + CELL
    frames = np.array([index.durations[int(i)] for i in ids]) / FRAME
    per = np.ceil((frames + margin) / CELL).astype(np.int64) + 3  # padding on both sides
    base = np.r_[0, np.cumsum(per)[:-1]].astype(np.int64)
    return _Grid(ids=ids, base=base, margin=margin), int(per.sum())


def _null_moments(counts: np.ndarray, exclude: np.ndarray) -> tuple[float, float, float]:
    """(cells, mean, variance) of the statistic over every cell but the candidates' own."""
    background = counts[~exclude].astype(np.float64)
    n = max(float(len(background)), 1.0)
    mean = max(background.sum() / n, 1.0 / n)
    var = (background**2).sum() / n - mean**2
    return n, mean, var


def _false_match_probability(votes: int, null: tuple[float, float, float]) -> float:
    """P(some cell of pure chance collects >= votes), from this search's other cells.

    ``null`` holds the number of cells searched and the mean and variance of the
    statistic (a cell's votes plus its better neighbour's) over all of them but the
    candidates' own, zeros included; a negative binomial with those moments (Poisson when
    not over-dispersed) gives the tail for one cell, and the Sidak correction for the
    number of cells gives the search-wide probability.
    """
    n, mean, var = null
    if var > mean * 1.05:
        p = mean / var
        r = mean * p / (1 - p)
        tail = stats.nbinom.sf(votes - 1, r, p)
    else:
        tail = stats.poisson.sf(votes - 1, mean)
    return float(-np.expm1(n * np.log1p(-min(tail, 1 - 1e-16))))


def _fit(q: np.ndarray, r: np.ndarray, shift: np.ndarray, scale: np.ndarray):
    """Robust fit of r = a + b q with one pitch shift; returns (a, b, shift, inlier mask)."""
    b = float(np.median(1.0 / scale))
    a = float(np.median(r - b * q))
    s = float(np.median(shift))
    inl = np.ones(len(q), dtype=bool)
    for tol in (6.0, 4.0, 2.5):
        inl = (np.abs(r - (a + b * q)) <= tol) & (np.abs(shift - s) <= 2.0)
        if inl.sum() < 2:
            break
        qi, ri = q[inl], r[inl]
        if qi.max() - qi.min() > 60:  # enough spread to fit the slope
            b, a = np.polyfit(qi, ri, 1)
            b = float(np.clip(b, 1 / MAX_TIME_FACTOR, MAX_TIME_FACTOR))
            a = float(np.median(ri - b * qi))
        else:
            a = float(np.median(ri - b * qi))
        s = float(np.median(shift[inl]))
    return a, b, s, inl


def _confirmed_times(qp: Peaks, rp: Peaks, a: float, b: float, shift: float, lo: float,
                     hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Query peak frames in [lo, hi] that have a reference peak where the mapping puts them."""
    sel = (qp.t >= lo) & (qp.t <= hi)
    tq, fq = qp.t[sel].astype(np.float64), qp.f[sel].astype(np.float64)
    if len(tq) == 0 or len(rp) == 0:
        return np.zeros(0), tq
    pt, pf = a + b * tq, fq - shift
    rt = rp.t.astype(np.float64)
    start = np.searchsorted(rt, pt - 2.0, side="left")
    stop = np.searchsorted(rt, pt + 2.0, side="right")
    counts = stop - start
    owner = np.repeat(np.arange(len(tq)), counts)
    idx = np.repeat(start - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
    good = np.abs(rp.f[idx].astype(np.float64) - pf[owner]) <= 1.5
    confirmed = np.zeros(len(tq), dtype=bool)
    confirmed[owner[good]] = True
    return tq[confirmed], tq


def _extend(confirmed: np.ndarray, peaks: np.ndarray, start: float, end: float,
            n_frames: float, q_level: np.ndarray | None = None,
            r_level: np.ndarray | None = None, a: float = 0.0,
            b: float = 1.0) -> tuple[float, float]:
    """Boundaries of a matched span, in frames, from single-peak confirmations and silences.

    Grow [start, end] outwards over confirmed query peaks that lie in a run where at least
    40 % of the query's peaks within 0.25 s are confirmed too (chance confirmations are
    isolated). Then walk on while the loudness contours of query and reference agree
    (re-used audio carries its pauses and syllables along; a splice breaks the contour).
    Without loudness data the boundary goes halfway to the
    next unconfirmed peak. Under ``EDGE_SNAP`` from the query's edge, it reaches the edge.
    """
    half, gap = 0.25 / FRAME, 0.5 / FRAME
    confirmed = np.unique(confirmed)
    peaks = np.sort(peaks)

    def dense(t: float) -> bool:
        n_conf = np.count_nonzero(np.abs(confirmed - t) <= half)
        n_all = np.count_nonzero(np.abs(peaks - t) <= half)
        return n_conf >= 2 and n_conf >= 0.4 * n_all

    inside = confirmed[(confirmed >= start) & (confirmed <= end)]
    if len(inside):
        start, end = float(inside.min()), float(inside.max())
    for t in confirmed[confirmed < start][::-1]:
        if start - t > gap or not dense(t):
            break
        start = float(t)
    for t in confirmed[confirmed > end]:
        if t - end > gap or not dense(t):
            break
        end = float(t)
    if q_level is not None and r_level is not None:
        offset = _level_offset(q_level, r_level, a, b, start, end)
        # the query's noise floor: its quietest tenth of frames, a little above
        floor = min(LEVEL_FLOOR, float(np.percentile(q_level, 90)) - 3.0)
        start = _walk_same_loudness(start, -1, q_level, r_level, a, b, offset, floor)
        end = _walk_same_loudness(end, 1, q_level, r_level, a, b, offset, floor) + 1
    else:
        before, after = peaks[peaks < start], peaks[peaks > end]
        start = (start + before[-1]) / 2 if len(before) else 0.0
        end = (end + after[0]) / 2 if len(after) else n_frames
    if start < EDGE_SNAP / FRAME:
        start = 0.0
    if n_frames - end < EDGE_SNAP / FRAME:
        end = n_frames
    return float(start), float(end)


def _walk_same_loudness(frame: float, step: int, q_level: np.ndarray, r_level: np.ndarray,
                        a: float, b: float, offset: float, floor: float) -> float:
    """From a confirmed frame, walk outwards while the loudness of query and reference agree.

    Re-used audio carries its loudness contour (pauses included) along; a splice breaks it.
    Levels are compared on the query's scale (the reference shifted by ``offset``) and
    clipped at ``floor``, the query's own noise floor, so that noise added to the query
    does not make its pauses disagree with the reference's. The walk stops after
    ``LEVEL_RUN`` frames in a row that differ by more than the tolerance and returns the
    last agreeing frame.
    """
    f, last, bad = int(frame), int(frame), 0
    while 0 <= f < len(q_level):
        g = int(round(a + b * f))
        if not 0 <= g < len(r_level):
            break
        q, r = min(float(q_level[f]), floor), min(float(r_level[g]) + offset, floor)
        if abs(q - r) <= LEVEL_TOL + LEVEL_SLACK * min(q, r):
            last, bad = f, 0
        else:
            bad += 1
            if bad >= LEVEL_RUN:
                break
        f += step
    return float(last)


def _level_offset(q_level: np.ndarray, r_level: np.ndarray, a: float, b: float, start: float,
                  end: float) -> float:
    """Median loudness difference (query - reference, dB) over the loud frames of a span."""
    f = np.arange(int(start), int(end) + 1)
    g = np.round(a + b * f).astype(np.int64)
    ok = (f < len(q_level)) & (g >= 0) & (g < len(r_level))
    f, g = f[ok], g[ok]
    q, r = q_level[f].astype(np.float64), r_level[g].astype(np.float64)
    loud = (q < 30) & (r < 30)
    return float(np.median(q[loud] - r[loud])) if loud.sum() >= 5 else 0.0


def _segments(q_sorted: np.ndarray) -> list[tuple[int, int]]:
    """Index ranges of sorted inlier query times, split at gaps over ``SPLIT_GAP``."""
    gaps = np.flatnonzero(np.diff(q_sorted) > SPLIT_GAP / FRAME)
    bounds = np.r_[0, gaps + 1, len(q_sorted)]
    return [(int(bounds[i]), int(bounds[i + 1])) for i in range(len(bounds) - 1)]


def match(index: Index, query: Fingerprint, *, max_false_match: float = MAX_FALSE_MATCH,
          max_candidates: int = 24, lookup=None, self_match: bool = False) -> list[Match]:
    """Spans of ``query`` re-used from recordings in ``index``, best first.

    ``lookup`` replaces the index's hash lookup (the tests pass a brute-force one that must
    agree); ``self_match`` looks for repeats inside the query itself (``index`` then holds
    only the query, and spans closer than ``MIN_SELF_OFFSET`` to themselves are ignored).
    """
    if len(index) == 0 or len(query) == 0:
        return []
    h = hits(index, query, lookup=lookup)
    if self_match:
        far = np.abs(h.offset) >= MIN_SELF_OFFSET / FRAME
        h = _Hits(*(getattr(h, f)[far] for f in _Hits.__dataclass_fields__))
    if len(h.trip) == 0:
        return []
    q_frames = query.duration / FRAME
    grid, n_cells = _grid(index, q_frames)
    hit_cells = grid.cell(h.rec, h.offset)
    counts = np.bincount(hit_cells, minlength=n_cells)
    # a true offset near a cell edge splits its votes: score a cell with its better neighbour
    pooled = counts + np.maximum(np.r_[counts[1:], 0], np.r_[0, counts[:-1]])
    top = np.argpartition(-pooled, min(max_candidates, n_cells - 1))[:max_candidates]
    top = top[np.lexsort((top, -pooled[top]))]
    candidates = top[pooled[top] >= MIN_SCORE]
    exclude = np.zeros(n_cells, dtype=bool)
    for c in candidates:
        exclude[max(c - 1, 0):c + 2] = True
    null = _null_moments(pooled, exclude)
    found: list[Match] = []
    used = np.zeros(len(h.trip), dtype=bool)
    for c in candidates:
        rec = grid.recording(int(c))
        if _false_match_probability(int(pooled[c]), null) > max_false_match:
            break  # candidates come strongest first
        member = (np.abs(hit_cells - c) <= 1) & ~used
        if len(np.unique(h.trip[member])) < MIN_SCORE:
            continue
        idx = _canonical(h, np.flatnonzero(member))
        a, b, s, _ = _fit(h.q_t1[idx], h.r_t1[idx], h.shift[idx], h.scale[idx])
        # every unused hit of this recording on the fitted line, not just this cell's
        on_line = ((h.rec == rec) & ~used
                   & (np.abs(h.r_t1 - (a + b * h.q_t1)) <= 2.5) & (np.abs(h.shift - s) <= 2.0))
        idx = _canonical(h, np.flatnonzero(on_line))
        if len(np.unique(h.trip[idx])) < MIN_SCORE:
            continue
        used[idx] = True
        order_q = np.argsort(h.q_t1[idx], kind="stable")  # stable: canonical ties
        idx = idx[order_q]
        q_sorted = h.q_t1[idx]
        for lo, hi in _segments(q_sorted):
            score = len(np.unique(h.trip[idx[lo:hi]]))
            if score < MIN_SCORE:
                continue
            fmp = _false_match_probability(min(score, int(pooled[c])), null)
            if fmp > max_false_match:
                continue
            start, end = q_sorted[lo], q_sorted[hi - 1]  # anchors: a chance third peak may stray
            times, window_peaks = _confirmed_times(query.peaks, index.peaks[rec], a, b, s,
                                                   start - 4 / FRAME, end + 4 / FRAME)
            start, end = _extend(times, window_peaks, start, end, q_frames, query.level,
                                 index.levels.get(rec), a, b)
            if (end - start) * FRAME < MIN_SPAN:
                continue
            n_inside = np.count_nonzero((window_peaks >= start) & (window_peaks <= end))
            confirmed = np.count_nonzero((times >= start) & (times <= end)) / max(n_inside, 1)
            ref_dur = index.durations[rec]
            found.append(Match(
                recording_id=None if self_match else rec,
                query_start=round(max(start * FRAME, 0.0), 3),
                query_end=round(min(end * FRAME, query.duration), 3),
                ref_start=round(float(np.clip((a + b * start) * FRAME, 0, ref_dur)), 3),
                ref_end=round(float(np.clip((a + b * end) * FRAME, 0, ref_dur)), 3),
                time_factor=round(1.0 / b, 4),
                pitch_factor=round(float(2.0 ** (s / BINS_PER_OCTAVE)), 4),
                score=score, votes=int(pooled[c]), false_match_probability=fmp,
                confirmed_peaks=round(float(confirmed), 3),
            ))
    found.sort(key=lambda m: (-m.score, m.query_start))
    if self_match:
        found = _unmirror(found)
    return found


def _unmirror(found: list[Match]) -> list[Match]:
    """A repeat inside one recording is seen from both copies: keep the later-copy view."""
    kept: list[Match] = []
    for m in found:
        if m.ref_start > m.query_start:
            continue
        kept.append(m)
    return kept


def match_self(query: Fingerprint, **kwargs: Any) -> list[Match]:
    """Spans of a recording that repeat other spans of the same recording (copy-paste edits)."""
    index = Index()
    index.add(0, query)
    return match(index, query, self_match=True, **kwargs)
