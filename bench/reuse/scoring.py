"""Scoring of matcher output against the known truth of each query, and aggregation."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

BOUNDARY_FIELDS = ("ref_start_err", "ref_end_err")


@dataclass(frozen=True)
class Part:
    """One true source of a query: ``ref`` seconds of recording `rec` at query seconds ``q``."""

    rec: int
    q_start: float
    q_end: float
    ref_start: float
    ref_end: float


def overlaps(a0: float, a1: float, b0: float, b1: float) -> bool:
    """True when intervals [a0, a1] and [b0, b1] share some time."""
    return min(a1, b1) > max(a0, b0)


def match_dict(m: Any) -> dict:
    """A matcher result (purport Match, baseline match) as a plain dict of numbers."""
    if hasattr(m, "to_dict"):
        d = dict(m.to_dict())
    else:
        d = {k: v for k, v in vars(m).items() if not k.startswith("_")}
    return {k: (float(v) if isinstance(v, np.floating | np.integer) else v) for k, v in d.items()}


def hits_part(m: dict, part: Part) -> bool:
    """True when match `m` names the part's recording and overlaps its reference span."""
    return m["recording_id"] == part.rec and overlaps(m["ref_start"], m["ref_end"],
                                                      part.ref_start, part.ref_end)


def part_errors(m: dict, part: Part, time_factor: float, pitch_factor: float) -> dict:
    """Boundary and factor errors of a match against one true part (seconds / ratios)."""
    return {
        "ref_start_err": m["ref_start"] - part.ref_start,
        "ref_end_err": m["ref_end"] - part.ref_end,
        "q_start_err": m["query_start"] - part.q_start,
        "q_end_err": m["query_end"] - part.q_end,
        "time_factor_err": m.get("time_factor", 1.0) - time_factor,
        "pitch_factor_err": m.get("pitch_factor", 1.0) - pitch_factor,
    }


def score_single(matches: list[dict], part: Part, time_factor: float,
                 pitch_factor: float) -> dict:
    """Found when the top match is the right recording and overlaps the true span."""
    out: dict[str, Any] = {"n_matches": len(matches),
                           "n_wrong": sum(m["recording_id"] != part.rec for m in matches),
                           "rank": next((i for i, m in enumerate(matches) if hits_part(m, part)),
                                        None)}
    top = matches[0] if matches else None
    out["found"] = bool(top and hits_part(top, part))
    if out["found"]:
        out.update(part_errors(top, part, time_factor, pitch_factor))
    return out


def score_splice(matches: list[dict], parts: list[Part]) -> dict:
    """Found when every part is among the matches; boundary error at the splice point."""
    out: dict[str, Any] = {"n_matches": len(matches),
                           "n_wrong": sum(all(m["recording_id"] != p.rec for p in parts)
                                          for m in matches)}
    got = [next((m for m in matches if hits_part(m, p)), None) for p in parts]
    out["parts_found"] = sum(g is not None for g in got)
    out["found"] = out["parts_found"] == len(parts)
    if got[0] is not None:
        out.update(part_errors(got[0], parts[0], 1.0, 1.0))
        out["splice_err_a"] = got[0]["query_end"] - parts[0].q_end
    if len(got) > 1 and got[1] is not None:
        out["splice_err_b"] = got[1]["query_start"] - parts[1].q_start
    return out


def quantiles(values: list[float]) -> dict:
    """Median and 95th percentile of |values| (NaN when empty), with the count."""
    v = np.abs(np.asarray([x for x in values if x is not None and not math.isnan(x)]))
    if v.size == 0:
        return {"median": math.nan, "p95": math.nan, "n": 0}
    return {"median": float(np.median(v)), "p95": float(np.percentile(v, 95)), "n": int(v.size)}


def aggregate(records: list[dict], method: str, degradations: list[str],
              lengths: list[int]) -> dict:
    """Per degradation: recall by length, localisation and factor errors, false positives."""
    out = {}
    for deg in degradations:
        pos = [r for r in records if r["method"] == method and r["degradation"] == deg
               and r["kind"] == "positive"]
        neg = [r for r in records if r["method"] == method and r["degradation"] == deg
               and r["kind"] == "negative"]
        if not pos and not neg:
            continue
        cell: dict[str, Any] = {"recall": {}, "n": {}}
        for length in lengths:
            sel = [r for r in pos if r["length"] == length]
            cell["n"][length] = len(sel)
            cell["recall"][length] = float(np.mean([r["found"] for r in sel])) if sel else None
        found = [r for r in pos if r["found"]]
        cell["boundary_err"] = quantiles([r.get(f) for r in found for f in BOUNDARY_FIELDS])
        cell["query_err"] = quantiles([r.get(f) for r in found for f in ("q_start_err",
                                                                          "q_end_err")])
        cell["ref_start_err"] = quantiles([r.get("ref_start_err") for r in found])
        cell["ref_end_err"] = quantiles([r.get("ref_end_err") for r in found])
        cell["time_factor_err"] = quantiles([r.get("time_factor_err") for r in found])
        cell["pitch_factor_err"] = quantiles([r.get("pitch_factor_err") for r in found])
        cell["splice_err"] = quantiles([r.get(k) for r in found
                                        for k in ("splice_err_a", "splice_err_b")])
        cell["parts_found"] = (float(np.mean([r.get("parts_found", 0) for r in pos]))
                               if deg == "splice" and pos else None)
        cell["wrong_per_query"] = float(np.mean([r["n_wrong"] for r in pos])) if pos else None
        cell["negatives"] = len(neg)
        cell["false_positives"] = sum(r["n_matches"] > 0 for r in neg)
        out[deg] = cell
    return out


def overall(records: list[dict], method: str) -> dict:
    """Totals over all cells: recall, false positives per 1000 negatives, latency."""
    pos = [r for r in records if r["method"] == method and r["kind"] == "positive"]
    neg = [r for r in records if r["method"] == method and r["kind"] == "negative"]
    lat = [r["latency_s"] for r in pos + neg]
    match_s = [r["match_s"] for r in pos + neg if "match_s" in r]
    return {
        "match_median_s": float(np.median(match_s)) if match_s else None,
        "match_p95_s": float(np.percentile(match_s, 95)) if match_s else None,
        "positives": len(pos),
        "recall": float(np.mean([r["found"] for r in pos])) if pos else None,
        "negatives": len(neg),
        "false_positives": sum(r["n_matches"] > 0 for r in neg),
        "fp_per_1000": 1000 * sum(r["n_matches"] > 0 for r in neg) / len(neg) if neg else None,
        "latency_median_s": float(np.median(lat)) if lat else None,
        "latency_p95_s": float(np.percentile(lat, 95)) if lat else None,
    }


def latency_by_length(records: list[dict], method: str, lengths: list[int]) -> dict:
    """Median and p95 query latency per query length."""
    out = {}
    for length in lengths:
        lat = [r["latency_s"] for r in records if r["method"] == method
               and r["length"] == length]
        if lat:
            out[length] = {"median": float(np.median(lat)), "p95": float(np.percentile(lat, 95))}
    return out


def fmp_calibration(records: list[dict], levels=(1e-4, 1e-3, 1e-2, 1e-1)) -> dict | None:
    """Share of negative queries whose best candidate (at max_false_match=1) has a
    false-match probability below each level: a calibrated estimate gives about the level."""
    best = []
    for r in records:
        if r["method"] == "purport" and r["kind"] == "negative" and "candidates" in r:
            fmps = [c.get("false_match_probability") for c in r["candidates"]]
            fmps = [f for f in fmps if isinstance(f, float)]
            best.append(min(fmps) if fmps else 1.0)
    if not best:
        return None
    arr = np.asarray(best)
    return {"negatives": len(best), "below": {str(x): float(np.mean(arr < x)) for x in levels},
            "min": float(arr.min())}


SWEEP_LEVELS = (1e-3, 1e-2, 0.05, 0.2, 0.5, 1.0)


def _matches_at(r: dict, level: float) -> list[dict]:
    """What the matcher would have returned at ``max_false_match=level`` (from the stored
    matches and rejected candidates; exact for levels >= the matcher's default)."""
    pool = r.get("candidates") if "candidates" in r else r["matches"]
    return [m for m in pool or [] if m.get("false_match_probability", 0.0) <= level]


def fmp_sweep(records: list[dict], levels=SWEEP_LEVELS) -> list[dict] | None:
    """purport recall and false positives if the significance level were each of `levels`."""
    purport = [r for r in records if r["method"] == "purport"]
    if not any("candidates" in r for r in purport):
        return None
    out = []
    for level in levels:
        found, fps, n_pos, n_neg = 0, 0, 0, 0
        for r in purport:
            got = _matches_at(r, level)
            if r["kind"] == "negative":
                n_neg += 1
                fps += bool(got)
                continue
            n_pos += 1
            parts = [Part(**t) for t in r["truth"]]
            if r["degradation"] == "splice":
                found += score_splice(got, parts)["found"]
            else:
                found += bool(got and hits_part(got[0], parts[0]))
        out.append({"level": level, "recall": found / max(n_pos, 1),
                    "false_positives": fps, "negatives": n_neg})
    return out
