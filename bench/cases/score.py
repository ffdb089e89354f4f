"""Scoring of whole-message cases: matcher spans against the truth of ``manifest.json``.

Pure: match dicts (as ``purport match --json`` prints them) and truth in, dataclasses out.

* An excerpt is **found** when a span names its archive recording and overlaps both its
  query span and its ref span. All such spans together give the reported boundaries (an
  excerpt split in two still counts once; ``spans`` says how many pieces it came back in).
* **Boundary error**, per end: the cut lies in a pause, and no audio tells where in that
  pause it was, so a reported start anywhere between the last speech before the piece and
  the piece's first speech is exact (likewise for the end); the error is the distance to
  that speech-free stretch. The raw error (reported minus cut point, signed) is kept too.
* A **false span** is a reported span that overlaps no re-used piece at all: a claim of
  re-use over fresh speech. A span over a piece that names another recording is a
  **wrong-source** span.
* A **repeat** (``--self``) is found when a span joins its two copies (one side overlapping
  each); every other ``--self`` span is a false repeat.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from truth import TruthPiece, TruthRepeat

BOUNDARY_TARGET = 1.0
"""The issue's boundary target, s."""
BOUNDARY_AIM = 0.25
"""The issue's aim for boundaries, s."""
FRESH_HOURS_TARGET = 10.0
"""No false span in this many hours of fresh speech."""
VERIFY_X_TARGET = 60.0
"""``purport verify`` at least this many times real time for a 60-min message."""
VERIFY_PEAK_MB_TARGET = 1536.0
"""... and at most this peak memory (1.5 GB)."""
LONG_CASE_MINUTES = 45.0
"""Cases at least this long stand for "a 60-minute message" in the verify targets."""


def overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    """Length of the overlap of [a0, a1] and [b0, b1] (0 when apart)."""
    return max(0.0, min(a1, b1) - max(a0, b0))


def outside(t: float, lo: float, hi: float) -> float:
    """Distance from `t` to the stretch between `lo` and `hi` (either order); 0 inside."""
    lo, hi = min(lo, hi), max(lo, hi)
    return max(0.0, lo - t, t - hi)


@dataclass
class ExcerptResult:
    """One re-used piece of one case, and what the matcher made of it."""

    case: str
    case_kind: str
    kind: str
    cut: str
    transform: str
    codec: str
    recording: str
    seconds: float
    query_start: float
    query_end: float
    time_factor: float
    pitch_factor: float
    found: bool
    spans: int = 0
    coverage: float = 0.0  # share of the true query span covered by its spans
    start_error: float | None = None  # reported - cut, s (signed)
    end_error: float | None = None
    start_error_speech: float | None = None  # distance to [cut, first speech], s
    end_error_speech: float | None = None
    time_factor_error: float | None = None  # |reported - true|, longest span
    pitch_factor_error: float | None = None

    @property
    def worst_boundary(self) -> float | None:
        """The larger of the two pause-aware boundary errors (None when not found)."""
        if self.start_error_speech is None or self.end_error_speech is None:
            return None
        return max(self.start_error_speech, self.end_error_speech)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON, with the worst boundary."""
        return dict(asdict(self), worst_boundary=self.worst_boundary)


@dataclass
class FalseSpan:
    """A reported span that is not re-use of the recording it names."""

    case: str
    what: str  # "fresh" (over no piece) | "wrong-source" | "self" (a --self span, no repeat)
    recording: str
    query_start: float
    query_end: float
    ref_start: float
    ref_end: float
    score: float | None
    false_match_probability: float | None
    query_text: str = ""  # what the case says there (its .txt), for triage
    ref_text: str = ""  # what the named archive recording says there

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return asdict(self)


@dataclass
class RepeatResult:
    """One planted copy-paste repeat and whether ``--self`` joined its two copies."""

    case: str
    first_start: float
    first_end: float
    second_start: float
    second_end: float
    found: bool
    start_error: float | None = None  # of the later copy's start, s (signed)
    end_error: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return asdict(self)


@dataclass
class Measure:
    """Cost of one run: wall and CPU seconds, x real time, peak RSS of the process."""

    wall_s: float
    cpu_s: float
    x_real_time: float
    peak_rss_mb: float
    returncode: int = 0
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return asdict(self)


@dataclass
class CaseResult:
    """One case: its truth counts, the findings, and what the runs cost."""

    name: str
    kind: str
    minutes: float
    codec: str
    fresh_seconds: float
    pieces: int
    found: int
    spans: int
    false_spans: int
    wrong_source: int
    repeats: int = 0
    repeats_found: int = 0
    self_false_spans: int = 0
    match: Measure | None = None
    self_match: Measure | None = None
    verify: Measure | None = None
    summary: str = ""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return asdict(self)


# --- scoring ------------------------------------------------------------------------------


def score_piece(piece: TruthPiece, matches: list[dict], case: dict) -> ExcerptResult:
    """How the matcher's spans of one case answer one true piece."""
    result = ExcerptResult(
        case=case["name"], case_kind=case["kind"], kind=piece.kind, cut=piece.cut,
        transform=piece.transform,
        codec=case["encoding_label"], recording=piece.recording,
        seconds=round(piece.seconds, 2), query_start=piece.query_start,
        query_end=piece.query_end, time_factor=piece.time_factor,
        pitch_factor=piece.pitch_factor, found=False)
    hits = [m for m in matches if m["name"] == piece.recording
            and overlap(m["query_start"], m["query_end"], piece.query_start, piece.query_end) > 0
            and overlap(m["ref_start"], m["ref_end"], piece.ref_start, piece.ref_end) > 0]
    if not hits:
        return result
    start = min(m["query_start"] for m in hits)
    end = max(m["query_end"] for m in hits)
    covered = sum(overlap(m["query_start"], m["query_end"], piece.query_start, piece.query_end)
                  for m in hits)
    best = max(hits, key=lambda m: m["query_end"] - m["query_start"])
    result.found = True
    result.spans = len(hits)
    result.coverage = round(min(1.0, covered / (piece.query_end - piece.query_start)), 4)
    result.start_error = round(start - piece.query_start, 3)
    result.end_error = round(end - piece.query_end, 3)
    result.start_error_speech = round(outside(start, piece.query_quiet_start,
                                              piece.query_speech_start), 3)
    result.end_error_speech = round(outside(end, piece.query_speech_end,
                                            piece.query_quiet_end), 3)
    result.time_factor_error = round(abs(best["time_factor"] - piece.time_factor), 5)
    result.pitch_factor_error = round(abs(best["pitch_factor"] - piece.pitch_factor), 5)
    return result


def false_spans(matches: list[dict], pieces: list[TruthPiece], case: str) -> list[FalseSpan]:
    """Spans over no piece at all ("fresh") or over pieces of other recordings only."""
    out = []
    for m in matches:
        over = [p for p in pieces
                if overlap(m["query_start"], m["query_end"], p.query_start, p.query_end) > 0]
        if over and any(p.recording == m["name"] for p in over):
            continue
        out.append(_false(m, case, "wrong-source" if over else "fresh"))
    return out


def _false(m: dict, case: str, what: str) -> FalseSpan:
    """A FalseSpan from a match dict."""
    return FalseSpan(case=case, what=what, recording=m.get("name", ""),
                     query_start=round(m["query_start"], 3), query_end=round(m["query_end"], 3),
                     ref_start=round(m["ref_start"], 3), ref_end=round(m["ref_end"], 3),
                     score=m.get("score"), false_match_probability=m.get("false_match_probability"))


def score_repeats(matches: list[dict], repeats: list[TruthRepeat], case: str
                  ) -> tuple[list[RepeatResult], list[FalseSpan]]:
    """Planted repeats against ``--self`` spans; the spans that join no repeat are false."""
    results, used = [], set()
    for rep in repeats:
        hits = []
        for i, m in enumerate(matches):
            spans = ((m["query_start"], m["query_end"]), (m["ref_start"], m["ref_end"]))
            for a, b in (spans, spans[::-1]):
                if (overlap(*a, rep.second_start, rep.second_end) > 0
                        and overlap(*b, rep.first_start, rep.first_end) > 0):
                    hits.append((i, a))
                    break
        used |= {i for i, _ in hits}
        result = RepeatResult(case, rep.first_start, rep.first_end, rep.second_start,
                              rep.second_end, found=bool(hits))
        if hits:
            result.start_error = round(min(a[0] for _, a in hits) - rep.second_start, 3)
            result.end_error = round(max(a[1] for _, a in hits) - rep.second_end, 3)
        results.append(result)
    false = [_false(m, case, "self") for i, m in enumerate(matches) if i not in used]
    return results, false


# --- targets ------------------------------------------------------------------------------


@dataclass
class Target:
    """One of the issue's targets: what it asks, what was measured, and the verdict."""

    target: str
    measured: str
    verdict: str  # "met" | "missed" | "not shown" | "not measured"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return asdict(self)


def targets(excerpts: list[dict], cases: list[dict], false: list[dict]) -> list[Target]:
    """The issue's whole-message targets against results.json's records (plain dicts)."""
    out = []
    n = len(excerpts)
    found = [e for e in excerpts if e["found"]]
    out.append(Target("every excerpt >= 20 s found", f"{len(found)}/{n} found",
                      _verdict(n > 0 and len(found) == n, n > 0)))
    worst = [e["worst_boundary"] for e in found]
    within = sum(w <= BOUNDARY_TARGET for w in worst)
    aim = sum(w <= BOUNDARY_AIM for w in worst)
    worst_text = f"worst {max(worst):.2f} s" if worst else "no excerpt found"
    out.append(Target(f"boundaries within {BOUNDARY_TARGET:g} s (pause-aware)",
                      f"{within}/{len(worst)} found excerpts, both ends; {worst_text}",
                      _verdict(bool(worst) and within == len(worst), bool(worst))))
    out.append(Target(f"aim: boundaries within {BOUNDARY_AIM:g} s",
                      f"{aim}/{len(worst)} found excerpts, both ends",
                      _verdict(bool(worst) and aim == len(worst), bool(worst))))
    hours = sum(c["fresh_seconds"] for c in cases) / 3600
    n_false = sum(f["what"] == "fresh" for f in false)
    n_wrong = sum(f["what"] == "wrong-source" for f in false)
    verdict = ("missed" if n_false else "met" if hours >= FRESH_HOURS_TARGET
               else f"not shown (only {hours:.1f} h)")
    out.append(Target(f"0 false spans in {FRESH_HOURS_TARGET:g} h of fresh speech",
                      f"{n_false} false span(s) in {hours:.2f} h ({n_false / hours:.2f}/h); "
                      f"{n_wrong} wrong-source", verdict))
    out += _verify_targets(cases)
    return out


def _verdict(ok: bool, measurable: bool) -> str:
    """met / missed, or not measured when there was nothing to measure."""
    return "not measured" if not measurable else "met" if ok else "missed"


def _verify_targets(cases: list[dict]) -> list[Target]:
    """verify speed and peak memory on the cases that stand for a 60-minute message."""
    runs = [(c["minutes"], c["verify"]) for c in cases
            if c.get("verify") and c["verify"]["returncode"] == 0]
    if not runs:
        return [Target("verify >= 60x real time, 60-min message", "no verify run (--verify)",
                       "not measured"),
                Target("verify <= 1.5 GB peak, 60-min message", "no verify run (--verify)",
                       "not measured")]
    long = [(m, v) for m, v in runs if m >= LONG_CASE_MINUTES]
    pool = long or runs
    slow = min(pool, key=lambda r: r[1]["x_real_time"])
    big = max(pool, key=lambda r: r[1]["peak_rss_mb"])
    longest = max(m for m, _ in runs)
    suffix = "" if long else f" (longest verified case {longest:.0f} min)"

    def verdict(ok: bool, shorter_decides: bool) -> str:
        """On short cases only a miss that a longer message can only make worse counts."""
        if long:
            return "met" if ok else "missed"
        return "missed" if shorter_decides and not ok else "not shown"

    return [
        Target("verify >= 60x real time, 60-min message",
               f"slowest {slow[1]['x_real_time']:.0f}x on {slow[0]:.0f} min{suffix}",
               verdict(slow[1]["x_real_time"] >= VERIFY_X_TARGET, False)),
        Target("verify <= 1.5 GB peak, 60-min message",
               f"largest {big[1]['peak_rss_mb']:.0f} MB on {big[0]:.0f} min{suffix}",
               verdict(big[1]["peak_rss_mb"] <= VERIFY_PEAK_MB_TARGET, True)),
    ]
