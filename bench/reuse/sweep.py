"""Whole-recording sweep: clean cuts at every position of every indexed recording.

Random snippets sample a recording here and there; a matcher can still have blind spots
(a recording's first seconds, long pauses, a quiet passage, the seam between two windows of
its search). The sweep cuts clean 5-s and 10-s queries every ``step`` seconds over the whole
of every indexed recording (from a seeded phase, so positions do not fall on whole seconds)
and asks whether the top match is the right recording with its reference start within
``targets.LOCALISATION_S``. Exact cuts of indexed audio: the target is all of them.

Each query is classed as

* ``placed``:   right recording, reference start within the tolerance;
* ``boundary``: right recording and the right alignment (query time 0 maps to the true
  start within the tolerance), but the reported span starts elsewhere: it covers only
  part of the query, or the start was moved into or out of a pause;
* ``wrong``:    the top match is another recording or another alignment;
* ``none``:     no match; its best rejected candidate (``max_false_match=1``) is kept,
  which tells a significance failure (the truth was found, but not believed) from lost
  landmarks (nothing of the truth was found).
"""

from __future__ import annotations

import time
from pathlib import Path

import corpus
import degrade
import numpy as np
import targets

SR = corpus.SR
KEEP_FAILURES = 40
"""Failures kept in full per length (the rest are counted)."""


def positions(duration: float, length: float, step: float,
              rng: np.random.Generator) -> np.ndarray:
    """Cut starts every `step` s from a random phase in [0, step), the last cut ending
    inside the recording."""
    last = duration - length
    if last < 0:
        return np.zeros(0)
    return np.arange(float(rng.uniform(0, min(step, last + 1e-9))), last + 1e-9, step)


def classify(top: dict | None, rec_id: int, start: float) -> tuple[str, dict]:
    """The query's class (see the module docstring) and its errors in seconds."""
    if top is None:
        return "none", {}
    tf = top.get("time_factor") or 1.0
    err = {"ref_start_err": round(top["ref_start"] - start, 3),
           "offset_err": round(top["ref_start"] - top["query_start"] / tf - start, 3)}
    if top["recording_id"] != rec_id or abs(err["offset_err"]) > targets.LOCALISATION_S:
        return "wrong", err
    if abs(err["ref_start_err"]) > targets.LOCALISATION_S:
        return "boundary", err
    return "placed", err


def compact(m: dict) -> dict:
    """The fields of a match that tell where it is and how sure, rounded."""
    keys = ("recording_id", "query_start", "query_end", "ref_start", "ref_end",
            "time_factor", "score", "false_match_probability")
    return {k: (round(m[k], 4) if isinstance(m[k], float) and k != "false_match_probability"
                else m[k]) for k in keys if k in m}


def query(index, y: np.ndarray, rec_id: int, start: float, length: int, match) -> dict:
    """Cut, fingerprint and match one clean query; a compact record of what came back."""
    from purport import reuse

    cut = y[int(round(start * SR)):int(round(start * SR)) + length * SR]
    fp = reuse.fingerprint(cut, sr=SR)
    found = [compact(m.to_dict()) for m in match(index, fp)]
    kind, err = classify(found[0] if found else None, rec_id, start)
    rec = {"rec": rec_id, "start": round(start, 3), "length": length, "class": kind, **err}
    if kind != "placed":
        lead, trail = degrade.silent_ends(cut, SR)
        rec.update(lead_silence=round(lead, 2), trail_silence=round(trail, 2),
                   matches=found[:3])
        if kind == "none":
            cands = reuse.match(index, fp, max_false_match=1.0)
            rec["candidates"] = [compact(c.to_dict()) for c in cands[:3]]
            rec["truth_candidate"] = any(
                classify(c, rec_id, start)[0] in ("placed", "boundary")
                for c in rec["candidates"])
    return rec


def run(index, rows: list[dict], folder: Path, *, lengths: list[int], step: float,
        seed: int, match, log) -> dict:
    """Sweep every indexed recording at every length; returns the summary and the failures."""
    t0 = time.perf_counter()
    records: dict[int, list[dict]] = {length: [] for length in lengths}
    for k, row in enumerate(rows):
        y = corpus.read_wav(folder / row["path"])
        for length in lengths:
            rng = np.random.default_rng([seed, row["id"], length, 77])
            for start in positions(len(y) / SR, length, step, rng):
                records[length].append(query(index, y, row["id"], float(start), length, match))
        if k % 5 == 4 or k == len(rows) - 1:
            log(f"sweep {k + 1}/{len(rows)} recordings: " + ", ".join(
                f"{n} s {_share(r):.4f} of {len(r)}" for n, r in records.items()))
    out = {"step": step, "lengths": lengths, "wall_s": time.perf_counter() - t0,
           "by_length": {}, "failures": []}
    for length, recs in records.items():
        out["by_length"][length] = summarise(recs)
        bad = [r for r in recs if r["class"] != "placed"]
        out["failures"] += bad[:KEEP_FAILURES]
    return out


def _share(recs: list[dict]) -> float:
    """Share of records placed (1.0 when there are none)."""
    return sum(r["class"] == "placed" for r in recs) / max(len(recs), 1)


def summarise(recs: list[dict]) -> dict:
    """Counts per class, the placed share with its 95 % lower bound, and the recordings the
    failures come from."""
    counts = {c: sum(r["class"] == c for r in recs) for c in ("placed", "boundary", "wrong",
                                                               "none")}
    n, k = len(recs), counts["placed"]
    bad_recs: dict[int, int] = {}
    for r in recs:
        if r["class"] != "placed":
            bad_recs[r["rec"]] = bad_recs.get(r["rec"], 0) + 1
    none = [r for r in recs if r["class"] == "none"]
    return {"n": n, **counts, "share": k / max(n, 1), "lower": targets.lower_bound(k, n),
            "none_truth_candidate": sum(bool(r.get("truth_candidate")) for r in none),
            "failing_recordings": dict(sorted(bad_recs.items(), key=lambda kv: -kv[1])[:10])}


def table(swept: dict | None) -> str:
    """Markdown table of the sweep: one row per length."""
    if not swept:
        return "no sweep in this run (`run.py --sweep-step S`)"
    lines = ["| length | queries | placed | 95 % bound | boundary | wrong | none (truth among "
             "rejected) | verdict |", "|---|---|---|---|---|---|---|---|"]
    for length, s in swept["by_length"].items():
        lines.append(f"| {length} s | {s['n']} | {s['placed']} = {100 * s['share']:.2f} % | "
                     f">= {100 * s['lower']:.2f} % | {s['boundary']} | {s['wrong']} | "
                     f"{s['none']} ({s['none_truth_candidate']}) | "
                     f"{'met' if s['placed'] == s['n'] else 'missed'} |")
    return "\n".join(lines)


def describe(r: dict) -> str:
    """One failure in a line."""
    got = "; ".join(f"rec {m['recording_id']} ref {m['ref_start']:.2f}-{m['ref_end']:.2f} "
                    f"q {m['query_start']:.2f}-{m['query_end']:.2f} fmp "
                    f"{m['false_match_probability']:.1e}" for m in r.get("matches", [])[:1])
    if r["class"] == "none" and r.get("candidates"):
        c = r["candidates"][0]
        got = (f"best rejected: rec {c['recording_id']} ref {c['ref_start']:.2f} score "
               f"{c['score']} fmp {c['false_match_probability']:.1e}")
    return (f"- {r['length']} s at rec {r['rec']} {r['start']:.2f} s: {r['class']}"
            f" (silence {r.get('lead_silence', 0):.2f} s before, "
            f"{r.get('trail_silence', 0):.2f} s after the speech"
            + (f"; start err {r['ref_start_err']:+.2f} s" if "ref_start_err" in r else "")
            + f"): {got or 'no match'}")


def failures(swept: dict | None, limit: int = 12) -> str:
    """The first few sweep failures, one line each."""
    if not swept or not swept["failures"]:
        return "none"
    bad = swept["failures"]
    lines = [describe(r) for r in bad[:limit]]
    if len(bad) > limit:
        lines.append(f"- ... {len(bad) - limit} more in results.json (`sweep.failures`)")
    return "\n".join(lines)
