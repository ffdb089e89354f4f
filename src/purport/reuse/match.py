"""Find which seconds of a query come from which indexed recording, at what speed and pitch.

A query may be a 5-second clip or a three-hour message, so it is searched in overlapping
windows (``WINDOW`` seconds every ``HOP``), as Olaf's fragmented queries and Panako's
monitor mode do, and the window matches are chained back into spans:

1. Look every query triplet up (with its neighbour probes), a block of the query at a
   time so that memory does not grow with its length; each hit proposes a time factor
   (span ratio), a pitch shift (anchor frequency difference) and, for each window, the
   reference time of the window's centre. Referring to the centre, not to query time 0,
   keeps the noise of a single span ratio from scattering the votes of a long query.
2. In each window, vote hits into (recording, centre-offset) cells: re-used audio piles
   its hits into one cell, unrelated audio scatters them.
3. Fit each strong cell's hits to a line ref_time = a + b * query_time (b = 1 /
   time_factor) with one pitch shift; the line's inlier triplets are the window's score.
4. Rate that score against the same statistic in the busiest cells of the same window
   search that are no candidate's (fitted the same way), to give the probability that
   chance alone scores as high anywhere in the search.
5. Chain the significant window lines that continue one another (same recording, same
   pitch shift, the same line) into spans, refit each span on all its inliers, split it
   on long gaps, and refine its boundaries by single peaks and the loudness contour.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from purport.reuse.index import Index
from purport.reuse.landmarks import (
    BINS_PER_OCTAVE,
    FRAME,
    N_HASHES,
    Fingerprint,
    Peaks,
    query_probes,
    query_view,
)

#: Largest speed/tempo change searched (either way) and largest pitch shift (either way).
MAX_TIME_FACTOR = 1.16
MAX_PITCH_FACTOR = 1.16
WINDOW = 20.0             # seconds of query voted together
HOP = 10.0                # seconds between window starts (windows overlap by half)
BLOCK = 200.0             # seconds of query looked up at once (bounds the memory of hits)
CELL = 32                 # frames (0.51 s) per offset cell
NULL_CELLS = 96           # busiest chance cells of a window fitted for its null
NULL_PRIOR = (3, 4.0)     # pseudo-cells, and their excess inlier triplets, in that null
MIN_SCORE = 5             # inlier triplets for a match at all
MIN_SPAN = 3.0            # seconds: shorter spans are not reported: a word or a phrase is
                          # not a re-used passage, and a synthetic voice reading a phrase
                          # again makes the same audio (2.3-s spans of score ~100 in the
                          # held-out bench/cases set)
COMMON_HASH_FACTOR = 16   # see common_hash_limit
MAX_FALSE_MATCH = 1e-2    # default significance per query (bench/reuse, bench/cases)
SPLIT_GAP = 5.0           # seconds without inliers that split one line into two segments
LINE_TOL = 2.5            # frames: a hit this close to a line is one of its inliers
CHAIN_TOL = 6.0           # frames: a window line this close to a span's line continues it
SHIFT_TOL = 2.0           # log bins of pitch shift within one line
LEVEL_TOL = 3.0           # dB: loudness of query and reference frames agree within this,
LEVEL_SLACK = 0.25        # plus this share of how far below the loudest frame they are
LEVEL_FLOOR = 50.0        # dB below the loudest frame: quieter counts as equally silent
LEVEL_RUN = 3             # frames of disagreement that end a span
UNCONFIRMED_PEAKS = 4     # query peaks in half a second, none in the reference: not re-used
EDGE_SNAP = 0.5           # seconds: a span ending this close to the query's edge reaches it
MIN_SELF_OFFSET = 1.0     # seconds: a repeat inside one recording must be this far away
MIN_SELF_SCORE = 20       # inlier triplets for a repeat inside one recording: a stationary
                          # background (hum, a drone) lines up with itself by chance a few
                          # triplets at a time, at every offset
SELF_HASH_FLOOR = 8       # see self_hash_limit
SELF_HASH_FACTOR = 400
MAX_SELF_OVERLAP = 0.5    # share of a repeat that may overlap its own source (see _periodic)
FMP_FLOOR = 1e-300        # the smallest false-match probability reported

METHOD_TEXT = (
    "Spectral-peak triplets on a 36-bin/octave log-frequency axis (8 kHz analysis), hashed "
    "on time ratios and log-frequency steps (invariant to speed, tempo and pitch change), "
    "probed on both sides of quantisation edges. The query is searched in 20-s windows "
    "every 10 s: hits voted by recording and offset of the window's centre, the best cells "
    "fitted to a line (time factor) with one pitch shift; window lines that continue one "
    "another are chained into spans, refitted, and their boundaries refined by single "
    "peaks and the loudness contour. False-match probability: the fitted inlier count of "
    "the span's best window rated against the same statistic in chance cells of that "
    "window's search (the 96 busiest offset cells that are no candidate's, fitted the same "
    "way; a geometric tail above their median), corrected for the cells and windows "
    "searched.")
LIMITS_TEXT = (
    "Finds re-used audio, not re-spoken words: the same text read again by a person is not "
    "a match, but a synthetic (TTS) voice reading the same phrase again makes the same "
    "audio and does match it when the phrase runs past 3 s. Spans under 3 s are not "
    "reported, so a single re-used word or phrase (a splice of one sentence's end) is not "
    "found. Speed, tempo or pitch changes beyond about 13 % are not searched. Heavy babble, "
    "music or noise over the speech and non-linear time edits (cuts inside a span) shorten "
    "or split matches. A boundary that falls in a pause both recordings share can land "
    "anywhere in it; elsewhere boundaries are accurate to about a quarter second. Inside "
    "one recording (--self), material that repeats itself by nature (a tone, beeps, a "
    "drone, a loop played back to back) is not reported as a repeat.")


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
    score: int               # triplets consistent with the mapping, over the whole span
    votes: int               # hits in the best offset cell of the span's best window
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

    def take(self, sel: np.ndarray) -> _Hits:
        return _Hits(*(getattr(self, f)[sel] for f in _Hits.__dataclass_fields__))


def common_hash_limit(index: Index) -> int:
    """Hashes more frequent than this carry little evidence and are not looked up.

    Like stop words: a hash held ``COMMON_HASH_FACTOR`` times more often than a uniform
    spread over all hash values would give is skipped. The limit grows with the index, so
    the share of probes skipped (about 7 % on the 20-hour benchmark) does not.
    """
    return max(64, int(COMMON_HASH_FACTOR * len(index) / N_HASHES))


def self_hash_limit(index: Index) -> int:
    """:func:`common_hash_limit` for a search of one recording against itself.

    There a hash the recording holds often is the material's texture, not a passage: the
    onsets of a gated tone all hash alike (32 hashes for 1310 triplets in 2 minutes) and
    lined up with themselves at some lag by chance (a repeat at fmp 4e-3). The limit is
    ``SELF_HASH_FACTOR`` times what an even spread over all hash values would give, and
    at least ``SELF_HASH_FLOOR``: in speech-like audio of 2, 10, 30 and 60 minutes it skips
    1-2 % of the triplets (their 98th percentile of hash count is 260-520 times the even
    spread), while a tone's few hashes stand thousands of times above it. A passage pasted
    k times holds its hashes k times: in a short recording, one pasted up to 8 times in
    all is still searched.
    """
    return max(SELF_HASH_FLOOR, int(SELF_HASH_FACTOR * len(index) / N_HASHES))


def hits(index: Index, query: Fingerprint, *, lookup=None,
         probes: tuple[np.ndarray, np.ndarray] | None = None,
         max_count: int | None = None) -> _Hits:
    """All plausible (query triplet, indexed triplet) pairs with their implied mapping.

    ``probes`` ((triplet row, hash) pairs, a subset of ``query_probes(query)``) limits the
    lookup to part of the query; hashes held more than ``max_count`` times (default
    :func:`common_hash_limit`) are skipped.
    """
    rows, probe = probes if probes is not None else query_probes(query)
    if max_count is None:
        max_count = common_hash_limit(index)
    qpos, epos = (lookup or index.lookup)(probe, max_count=max_count)
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


@dataclass(frozen=True)
class _Grid:
    """The (recording, offset cell) grid of every indexed recording, padded between them."""

    ids: np.ndarray      # sorted recording ids
    base: np.ndarray     # first cell of each recording
    size: np.ndarray     # cells of each recording
    margin: float        # frames added to offsets so that a recording's first cell is 0

    @property
    def n_cells(self) -> int:
        return int(self.size.sum())

    def cell(self, rec: np.ndarray, offset: np.ndarray) -> np.ndarray:
        pos = np.searchsorted(self.ids, rec)
        return self.base[pos] + 1 + np.floor((offset + self.margin) / CELL).astype(np.int64)

    def bounds(self, cell: int) -> tuple[int, int, int]:
        """(recording id, first cell, last cell) of the recording a cell belongs to."""
        pos = int(np.searchsorted(self.base, cell, side="right") - 1)
        return int(self.ids[pos]), int(self.base[pos]), int(self.base[pos] + self.size[pos] - 1)


def _grid(index: Index, window_frames: float) -> _Grid:
    ids = np.array(index.recording_ids, dtype=np.int64)
    margin = window_frames / 2 * MAX_TIME_FACTOR + CELL
    frames = np.array([index.durations[int(i)] for i in ids]) / FRAME
    size = np.ceil((frames + 2 * margin) / CELL).astype(np.int64) + 3  # padding both sides
    base = np.r_[0, np.cumsum(size)[:-1]].astype(np.int64)
    return _Grid(ids=ids, base=base, size=size, margin=margin)


def _median(x: np.ndarray) -> float:
    """``np.median`` of a small 1-D array without its overhead (the fit runs tens of
    thousands of times per hour of query)."""
    n = len(x)
    v = np.sort(x)
    return float(v[n // 2]) if n % 2 else float(0.5 * (v[n // 2 - 1] + v[n // 2]))


def _fit(q: np.ndarray, r: np.ndarray, shift: np.ndarray, scale: np.ndarray):
    """Robust fit of r = a + b q with one pitch shift; returns (a, b, shift, inlier mask)."""
    b = _median(1.0 / scale)
    a = _median(r - b * q)
    s = _median(shift)
    inl = np.ones(len(q), dtype=bool)
    for tol in (6.0, 4.0, LINE_TOL):
        inl = (np.abs(r - (a + b * q)) <= tol) & (np.abs(shift - s) <= SHIFT_TOL)
        if inl.sum() < 2:
            break
        qi, ri = q[inl], r[inl]
        if qi.max() - qi.min() > 60:  # enough spread to fit the slope (least squares)
            dq = qi - qi.mean()
            b = float(np.clip((dq * (ri - ri.mean())).sum() / (dq * dq).sum(),
                              1 / MAX_TIME_FACTOR, MAX_TIME_FACTOR))
        a = _median(ri - b * qi)
        s = _median(shift[inl])
    return a, b, s, inl


def _group_median(v: np.ndarray, group: np.ndarray, keep: np.ndarray,
                  n_groups: int) -> np.ndarray:
    """``np.median`` of ``v[keep]`` within each group (NaN for a group with none)."""
    g, x = group[keep], v[keep]
    order = np.lexsort((x, g))
    x = x[order]
    count = np.bincount(g, minlength=n_groups)
    start = np.r_[0, np.cumsum(count)[:-1]]
    out = np.full(n_groups, np.nan)
    has = count > 0
    lo, hi = start[has] + (count[has] - 1) // 2, start[has] + count[has] // 2
    out[has] = 0.5 * (x[lo] + x[hi])
    return out


def _fit_groups(q: np.ndarray, r: np.ndarray, shift: np.ndarray, scale: np.ndarray,
                group: np.ndarray, n_groups: int) -> np.ndarray:
    """:func:`_fit` of every group of hits at once; returns the inlier mask of the hits.

    The same steps as :func:`_fit`, vectorised over the groups, so that the chance cells
    of a window's null (tens of them) cost one pass, not one fit each.
    """
    every = np.ones(len(q), dtype=bool)
    b = _group_median(1.0 / scale, group, every, n_groups)
    a = _group_median(r - b[group] * q, group, every, n_groups)
    s = _group_median(shift, group, every, n_groups)
    inl = np.ones(len(q), dtype=bool)
    active = np.ones(n_groups, dtype=bool)
    for tol in (6.0, 4.0, LINE_TOL):
        on = active[group]
        new = (np.abs(r - (a[group] + b[group] * q)) <= tol) & (np.abs(shift - s[group])
                                                                <= SHIFT_TOL)
        inl = np.where(on, new, inl)
        count = np.bincount(group[inl & on], minlength=n_groups)
        active &= count >= 2  # a group with fewer than two inliers stops where it is
        use = inl & active[group]
        if not use.any():
            break
        g = group[use]
        qi, ri = q[use], r[use]
        lo = np.full(n_groups, np.inf)
        hi = np.full(n_groups, -np.inf)
        np.minimum.at(lo, g, qi)
        np.maximum.at(hi, g, qi)
        n = np.maximum(np.bincount(g, minlength=n_groups), 1)
        mq = np.bincount(g, qi, n_groups) / n
        mr = np.bincount(g, ri, n_groups) / n
        dq = qi - mq[g]
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = (np.bincount(g, dq * (ri - mr[g]), n_groups)
                     / np.bincount(g, dq * dq, n_groups))
        spread = active & (hi - lo > 60)
        b = np.where(spread, np.clip(slope, 1 / MAX_TIME_FACTOR, MAX_TIME_FACTOR), b)
        a = np.where(active, _group_median(r - b[group] * q, group, use, n_groups), a)
        s = np.where(active, _group_median(shift, group, use, n_groups), s)
    return inl


@dataclass
class _Line:
    """A significant line of one window (or, chained, of several): r = a + b q, pitch s."""

    rec: int
    a: float
    b: float
    s: float
    votes: int
    fmp: float                       # smallest window false-match probability on the line
    q: list = field(default_factory=list)      # inlier query frames, per window
    r: list = field(default_factory=list)      # inlier reference frames
    trip: list = field(default_factory=list)   # inlier query triplet rows
    q_end: float = 0.0               # last inlier query frame so far

    def predict(self, q: np.ndarray) -> np.ndarray:
        return self.a + self.b * q


def _windows(duration: float) -> np.ndarray:
    """Window start times (s): every ``HOP``, the last window ending at the query's end."""
    if duration <= WINDOW:
        return np.array([0.0])
    return np.r_[np.arange(0.0, duration - WINDOW, HOP), duration - WINDOW]


def _pooled_cells(cells: np.ndarray, trip: np.ndarray, n_cells: int) -> np.ndarray:
    """Every cell's distinct query triplets plus its better neighbour's (a true offset near
    a cell edge splits its votes between two cells).

    Distinct, not hits: in repetitive speech one query triplet hits several indexed
    triplets of one cell, which inflates chance cells (and the null) but never the fitted
    score, which counts each query triplet once.
    """
    t0 = int(trip.min()) if len(trip) else 0
    width = int(trip.max()) - t0 + 1 if len(trip) else 1
    pairs = np.unique(cells * width + (trip - t0))
    counts = np.bincount(pairs // width, minlength=n_cells)
    return counts + np.maximum(np.r_[counts[1:], 0], np.r_[0, counts[:-1]])


def _window_lines(index: Index, h: _Hits, grid: _Grid, centre: float, *, threshold: float,
                  max_candidates: int) -> list[_Line]:
    """The significant lines among one window's hits (``centre`` in query frames)."""
    cells = grid.cell(h.rec, h.r_t1 - (h.q_t1 - centre) / h.scale)
    pooled = _pooled_cells(cells, h.trip, grid.n_cells)
    k = min(max_candidates, grid.n_cells - 1)
    top = np.argpartition(-pooled, k)[:max_candidates]
    top = top[np.lexsort((top, -pooled[top]))]
    top = top[pooled[top] >= MIN_SCORE]
    if len(top) == 0:
        return []
    null = _score_null(h, cells, pooled, _around(top, grid, 1))
    lines: list[_Line] = []
    used = np.zeros(len(cells), dtype=bool)
    for c in top.tolist():
        if null.probability(int(pooled[c])) > 0.5:
            break  # strongest first: the rest are cells chance fills in most searches
        rec = grid.bounds(c)[0]
        member = (np.abs(cells - c) <= 1) & ~used
        if len(np.unique(h.trip[member])) < MIN_SCORE:
            continue
        idx = np.flatnonzero(member)  # the hits come in canonical order (see match)
        a, b, s, _ = _fit(h.q_t1[idx], h.r_t1[idx], h.shift[idx], h.scale[idx])
        on_line = ((h.rec == rec) & ~used & (np.abs(h.r_t1 - (a + b * h.q_t1)) <= LINE_TOL)
                   & (np.abs(h.shift - s) <= SHIFT_TOL))
        idx = np.flatnonzero(on_line)
        score = len(np.unique(h.trip[idx]))
        if score < MIN_SCORE:
            continue
        used[idx] = True
        fmp = null.probability(score)
        if fmp > threshold:
            continue
        lines.append(_Line(rec=rec, a=a, b=b, s=s, votes=int(pooled[c]), fmp=fmp,
                           q=[h.q_t1[idx]], r=[h.r_t1[idx]], trip=[h.trip[idx]],
                           q_end=float(h.q_t1[idx].max())))
    return lines


@dataclass(frozen=True)
class _ScoreNull:
    """The upper tail of the fitted score in cells of pure chance, from one window search.

    Of the cells fitted, ``above`` scored over ``floor``; each further inlier triplet is
    ``ratio`` times as likely (a geometric tail, the shape of a negative binomial's). The
    cells not fitted are counted, at the rate seen among the fitted ones, only where their
    votes reach the score rated (``reach[v]``: how many voted v or more): a cell scores
    about as many triplets as it votes, rarely more.
    """

    floor: float
    above: int
    share: float
    ratio: float
    reach: np.ndarray

    def probability(self, score: int) -> float:
        """P(some chance cell of the search scores >= ``score``)."""
        if score <= self.floor:
            return 1.0
        reach = int(self.reach[score]) if score < len(self.reach) else 0
        expected = max(self.above + reach * self.share, 1.0) * self.ratio ** (
            score - self.floor - 1)
        # floored where it underflows: a probability is never printed as exactly zero
        return max(float(-np.expm1(-expected)), FMP_FLOOR)


def _score_null(h: _Hits, cells: np.ndarray, pooled: np.ndarray,
                exclude: np.ndarray) -> _ScoreNull:
    """The null of the statistic the matcher decides on: the fitted inlier score.

    The ``NULL_CELLS`` busiest cells that are no candidate's (``exclude``) are fitted
    exactly as a candidate is, and a geometric tail is fitted to their scores above the
    median (with ``NULL_PRIOR`` pseudo-cells, so that a search with few busy cells is not
    taken for one where chance never scores). Cells vote many hits that do not lie on
    one line (repetitive speech, the same voice), so votes overstate what chance scores:
    rating a score against votes rejected exact copies (bench/reuse sweep).
    """
    background = np.flatnonzero(~exclude & (pooled > 0))
    if len(background) > NULL_CELLS:  # the busiest without sorting every cell
        background = background[np.argpartition(-pooled[background], NULL_CELLS)]
    busiest = background[:NULL_CELLS]
    busiest = busiest[np.lexsort((busiest, -pooled[busiest]))]
    rest = np.bincount(pooled[background[NULL_CELLS:]], minlength=1)
    # each busiest cell's hits: those voting in it or in a neighbour (as for a candidate)
    idx, group = [], []
    for d in (-1, 0, 1):
        table = np.full(len(pooled) + 2, -1, dtype=np.int64)
        table[busiest + d + 1] = np.arange(len(busiest))
        g = table[cells + 1]
        idx.append(np.flatnonzero(g >= 0))
        group.append(g[idx[-1]])
    scores = np.zeros(len(busiest))
    if len(busiest):
        idx, group = np.concatenate(idx), np.concatenate(group)
        inl = _fit_groups(h.q_t1[idx], h.r_t1[idx], h.shift[idx], h.scale[idx], group,
                          len(busiest))
        t0 = int(h.trip.min())
        width = int(h.trip.max()) - t0 + 1
        pairs = np.unique(group[inl] * width + (h.trip[idx[inl]] - t0))
        scores = np.bincount(pairs // width, minlength=len(busiest)).astype(float)
    floor = float(np.median(scores)) if len(scores) else 0.0
    above = scores[scores > floor] - floor
    pseudo, excess = NULL_PRIOR
    mean = (above.sum() + pseudo * excess) / (len(above) + pseudo)
    return _ScoreNull(floor=floor, above=len(above), share=len(above) / max(len(scores), 1),
                      ratio=1.0 - 1.0 / mean, reach=np.cumsum(rest[::-1])[::-1])


def _around(cells: np.ndarray, grid: _Grid, reach: int) -> np.ndarray:
    """Mask of the cells within ``reach`` of any of ``cells``, inside their own recording."""
    mask = np.zeros(grid.n_cells, dtype=bool)
    for c in cells.tolist():
        _, first, last = grid.bounds(c)
        mask[max(c - reach, first):min(c + reach, last) + 1] = True
    return mask


def _chain(lines: list[_Line]) -> list[_Line]:
    """Window lines (in window order) that continue one another, merged into span lines.

    A window line continues a chain of the same recording and pitch shift when the
    chain's line predicts its inliers within ``CHAIN_TOL`` frames (median) and it starts
    no later than a window plus ``SPLIT_GAP`` after the chain's last inlier. A chain's
    line is refitted by least squares on all its inliers as it grows.
    """
    chains: list[_Line] = []
    reach = (WINDOW + SPLIT_GAP) / FRAME
    for line in lines:
        q, r = line.q[0], line.r[0]
        for ch in chains:
            if (ch.rec == line.rec and abs(ch.s - line.s) <= SHIFT_TOL
                    and q.min() - ch.q_end <= reach
                    and np.median(np.abs(r - ch.predict(q))) <= CHAIN_TOL):
                ch.q += line.q
                ch.r += line.r
                ch.trip += line.trip
                ch.q_end = max(ch.q_end, line.q_end)
                ch.fmp = min(ch.fmp, line.fmp)
                ch.votes = max(ch.votes, line.votes)
                qa, ra = np.concatenate(ch.q), np.concatenate(ch.r)
                if qa.max() - qa.min() > 60:
                    b, a = np.polyfit(qa, ra, 1)
                    ch.b = float(np.clip(b, 1 / MAX_TIME_FACTOR, MAX_TIME_FACTOR))
                    ch.a = float(np.median(ra - ch.b * qa))
                break
        else:
            chains.append(line)
    return chains


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
        # loudness can agree by chance for a while; syllables the reference lacks cannot
        lo, hi = _unconfirmed_speech(confirmed, peaks, start, end)
        start, end = max(start, lo), min(end, hi)
    else:
        before, after = peaks[peaks < start], peaks[peaks > end]
        start = (start + before[-1]) / 2 if len(before) else 0.0
        end = (end + after[0]) / 2 if len(after) else n_frames
    if start < EDGE_SNAP / FRAME:
        start = 0.0
    if n_frames - end < EDGE_SNAP / FRAME:
        end = n_frames
    return float(start), float(end)


def _unconfirmed_speech(confirmed: np.ndarray, peaks: np.ndarray, start: float,
                        end: float) -> tuple[float, float]:
    """The nearest frames before ``start`` and after ``end`` where the query speaks and the
    reference does not: ``UNCONFIRMED_PEAKS`` query peaks within half a second, none of them
    confirmed ((-inf, inf) where there is none).
    """
    lo, hi = -np.inf, np.inf
    if len(peaks) < UNCONFIRMED_PEAKS:
        return lo, hi
    conf = np.isin(peaks, confirmed)
    cum = np.r_[0, np.cumsum(conf)]
    reach = 0.5 / FRAME
    i = np.arange(len(peaks))
    j = np.searchsorted(peaks, peaks + reach, side="right")   # forward window [p, p + reach]
    fresh = (j - i >= UNCONFIRMED_PEAKS) & (cum[j] == cum[i]) & (peaks > end)
    if fresh.any():
        hi = float(peaks[np.argmax(fresh)])
    k = np.searchsorted(peaks, peaks - reach, side="left")    # backward window [p - reach, p]
    fresh = (i + 1 - k >= UNCONFIRMED_PEAKS) & (cum[i + 1] == cum[k]) & (peaks < start)
    if fresh.any():
        lo = float(peaks[len(peaks) - 1 - np.argmax(fresh[::-1])]) + 1
    return lo, hi


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


def _dense_ends(q: np.ndarray, *, k: int = 4) -> tuple[float, float]:
    """First and last of sorted inlier frames ``q`` that open (close) a run of ``k`` more
    within half a second: a window's line also gathers a few chance hits just past the re-used
    audio, and those must not stretch the span."""
    if len(q) <= k:
        return float(q[0]), float(q[-1])
    dense = q[k:] - q[:-k] <= 0.5 / FRAME
    if not dense.any():
        return float(q[0]), float(q[-1])
    first = int(np.argmax(dense))
    last = len(dense) - 1 - int(np.argmax(dense[::-1])) + k
    return float(q[first]), float(q[last])


def _spans(index: Index, query: Fingerprint, ch: _Line, *, n_windows: int,
           self_match: bool) -> list[Match]:
    """The matched spans of one chain: its inliers split on long gaps, boundaries refined."""
    q, r, trip = np.concatenate(ch.q), np.concatenate(ch.r), np.concatenate(ch.trip)
    _, keep = np.unique(np.stack([trip, r.astype(np.int64)]), axis=1, return_index=True)
    q, r, trip = q[keep], r[keep], trip[keep]
    a, b, s = ch.a, ch.b, ch.s
    on = np.abs(r - (a + b * q)) <= LINE_TOL
    q, trip = q[on], trip[on]
    order = np.argsort(q, kind="stable")
    q_sorted, trip = q[order], trip[order]
    q_frames = query.duration / FRAME
    fmp = min(1.0, ch.fmp * n_windows)
    rec = ch.rec
    found = []
    for lo, hi in _segments(q_sorted):
        score = len(np.unique(trip[lo:hi]))
        if score < (MIN_SELF_SCORE if self_match else MIN_SCORE):
            continue
        start, end = _dense_ends(q_sorted[lo:hi])
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
            score=score, votes=ch.votes, false_match_probability=fmp,
            confirmed_peaks=round(float(confirmed), 3),
        ))
    return found


def match(index: Index, query: Fingerprint, *, max_false_match: float = MAX_FALSE_MATCH,
          max_candidates: int = 24, lookup=None, self_match: bool = False) -> list[Match]:
    """Spans of ``query`` re-used from recordings in ``index``, best first.

    ``max_false_match`` bounds the probability that chance alone gives the query any
    reported span (split evenly over its windows). ``lookup`` replaces the index's hash
    lookup (the tests pass a brute-force one that must agree); ``self_match`` looks for
    repeats inside the query itself (``index`` then holds only the query, and hits closer
    than ``MIN_SELF_OFFSET`` to themselves are ignored).

    A search inside one recording treats the significance model's assumption (triplets
    hash about evenly, so a lag's inliers are independent evidence) with care, since
    material with few landmark shapes (a tone's onsets, a square wave's fixed partials, a
    drone) lines up with itself trivially: hashes the recording holds often are not looked
    up (:func:`self_hash_limit`), and a repeat that overlaps its own source is periodicity,
    not a paste (:func:`_periodic`); without them a 30-s square wave repeats itself at
    fmp 3e-17.
    """
    if len(index) == 0 or len(query) == 0:
        return []
    max_count = self_hash_limit(index) if self_match else None
    query = query_view(query)
    starts = _windows(query.duration) / FRAME
    width = min(WINDOW, query.duration) / FRAME
    threshold = max_false_match / len(starts)
    grid = _grid(index, width)
    by_time = np.argsort(query.t1, kind="stable")
    t_sorted = query.t1[by_time]
    rank = np.empty(len(by_time), np.int64)
    rank[by_time] = np.arange(len(by_time))
    per_block = max(1, int(BLOCK // HOP))
    lines: list[_Line] = []
    for b0 in range(0, len(starts), per_block):
        block = starts[b0:b0 + per_block]
        lo, hi = np.searchsorted(t_sorted, [block[0], block[-1] + width], "left")
        h = hits(index, query, lookup=lookup, probes=query_probes(query, by_time[lo:hi]),
                 max_count=max_count)
        if self_match:
            h = h.take(np.abs(h.r_t1 - h.q_t1) >= MIN_SELF_OFFSET / FRAME)
        # one canonical order, whatever order the lookup returned: by query time (the
        # triplet's rank in time), then reference time
        h = h.take(np.lexsort((h.scale, h.rec, rank[h.trip] * (1 << 32) + h.r_t1.astype(np.int64))))
        for w0 in block:
            i0, i1 = np.searchsorted(h.q_t1, [w0, w0 + width], "left")
            if i1 - i0 >= MIN_SCORE:
                lines += _window_lines(index, h.take(slice(i0, i1)), grid, w0 + width / 2,
                                       threshold=threshold, max_candidates=max_candidates)
    found: list[Match] = []
    for ch in _chain(lines):
        found += _spans(index, query, ch, n_windows=len(starts), self_match=self_match)
    found.sort(key=lambda m: (-m.score, m.query_start))
    if self_match:
        found = _unmirror([m for m in found if not _periodic(m)])
    return found


def _periodic(m: Match) -> bool:
    """Does a repeat inside one recording overlap its own source by more than
    ``MAX_SELF_OVERLAP`` of its length?

    Then the lag is under half the repeat, and the stretch from the source's start to the
    copy's end (over three lags long) equals itself shifted by the lag: it is periodic (a
    tone, a drone, a loop), not a passage pasted elsewhere. A passage pasted once meets
    its source at most (the copy starts where the source ends); pasted three times in a
    row, its copies are also found at twice the lag, where they do not overlap.
    """
    overlap = min(m.query_end, m.ref_end) - max(m.query_start, m.ref_start)
    return overlap > MAX_SELF_OVERLAP * (m.query_end - m.query_start)


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
