"""Scores from the per-file records: localisation, detection, splices.

* localised: purport found hum (``present``), of the log's nominal, and placed the
  recording's first second within ``TOL_PLACE`` s of the truth;
* forced: the same placement of a 50 Hz trace whether or not hum was declared present
  (how much the presence test costs);
* confident wrong: placed more than ``TOL_PLACE`` s off with a false-match probability
  below 0.01 (the dangerous error);
* detection: ``present`` on hum recordings (hit) and on no-hum recordings (false alarm);
* splice hit: a discontinuity within ``TOL_SPLICE`` s of the true join; splice precision:
  the share of the discontinuities reported on spliced recordings that are hits; false
  discontinuities: any reported on an unspliced hum recording.
"""

from __future__ import annotations

import math
from collections import defaultdict

TOL_PLACE = 5.0
TOL_SPLICE = 2.0
CONFIDENT = 0.01


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson interval of a proportion k/n."""
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (max(0.0, c - h), min(1.0, c + h))


def frac(k: int, n: int) -> dict:
    lo, hi = wilson(k, n)
    return {"k": k, "n": n, "rate": k / n if n else None, "ci95": [lo, hi]}


def placed_ok(r: dict) -> bool:
    return r["placed"] is not None and abs(r["placed"] - r["offset"]) <= TOL_PLACE


def forced_ok(r: dict) -> bool:
    return r["forced_placed"] is not None and abs(r["forced_placed"] - r["offset"]) <= TOL_PLACE


def confident_wrong(r: dict) -> bool:
    return r["placed"] is not None and not placed_ok(r) and r["fmp"] is not None \
        and r["fmp"] < CONFIDENT


def splice_hits(r: dict) -> list[bool]:
    """For each reported discontinuity: is it within TOL_SPLICE of a true cut?"""
    return [any(abs(d[0] - c) <= TOL_SPLICE for c in r["cuts"]) for d in r["discontinuities"]]


def _group(records, keys):
    g = defaultdict(list)
    for r in records:
        g[tuple(r[k] for k in keys)].append(r)
    return g


def localisation(records: list[dict]) -> dict:
    """Per (level, minutes, chain): localised, forced, detected, confident wrong."""
    out = {}
    for (level, minutes, chain), rs in sorted(_group(
            [r for r in records if r["kind"] == "hum"], ("level", "minutes", "chain")).items()):
        out[f"{level:g}|{minutes:g}|{chain}"] = {
            "level": level, "minutes": minutes, "chain": chain,
            "localised": frac(sum(map(placed_ok, rs)), len(rs)),
            "forced": frac(sum(map(forced_ok, rs)), len(rs)),
            "detected": frac(sum(r["present"] for r in rs), len(rs)),
            "confident_wrong": sum(map(confident_wrong, rs)),
            "median_abs_error_s": _median([abs(r["placed"] - r["offset"]) for r in rs
                                           if placed_ok(r)]),
        }
    return out


def detection(records: list[dict]) -> dict:
    hum = [r for r in records if r["kind"] == "hum"]
    neg = [r for r in records if r["kind"] == "nohum"]
    by_level = {f"{lv:g}": frac(sum(r["present"] for r in rs), len(rs))
                for (lv,), rs in sorted(_group(hum, ("level",)).items())}
    fa_by = {f"{c}|{m:g}": frac(sum(r["present"] for r in rs), len(rs))
             for (c, m), rs in sorted(_group(neg, ("chain", "minutes")).items())}
    fa_chain = {c: frac(sum(r["present"] for r in rs), len(rs))
                for (c,), rs in sorted(_group(neg, ("chain",)).items())}
    tp = sum(r["present"] for r in hum)
    tn = sum(not r["present"] for r in neg)
    strong = [r for r in hum if r["level"] >= -30]
    return {
        "hit_by_level": by_level,
        "false_alarm": frac(sum(r["present"] for r in neg), len(neg)),
        "false_alarm_by_chain": fa_chain,
        "false_alarm_by_chain_minutes": fa_by,
        "false_alarm_examples": [_brief(r) for r in neg if r["present"]][:10],
        "accuracy_all": frac(tp + tn, len(hum) + len(neg)),
        "accuracy_hum_ge_-30": frac(sum(r["present"] for r in strong) + tn,
                                    len(strong) + len(neg)),
        "nominal_60_on_hum": sum(r["nominal"] != 50 for r in hum if r["present"]),
    }


def splices(records: list[dict]) -> dict:
    sp = [r for r in records if r["kind"] == "splice"]
    clean = [r for r in records if r["kind"] == "hum"]
    cells = {}
    for (level, chain), rs in sorted(_group(sp, ("level", "chain")).items()):
        hits = [splice_hits(r) for r in rs]
        reported = sum(len(h) for h in hits)
        cells[f"{level:g}|{chain}"] = {
            "level": level, "chain": chain,
            "recall": frac(sum(any(h) for h in hits), len(rs)),
            "recall_when_present": frac(
                sum(any(h) for h, r in zip(hits, rs, strict=True) if r["present"]),
                sum(r["present"] for r in rs)),
            "precision": frac(sum(sum(h) for h in hits), reported),
            "reported": reported,
        }
    unspliced = {}
    for (level, chain), rs in sorted(_group(clean, ("level", "chain")).items()):
        present = [r for r in rs if r["present"]]
        unspliced[f"{level:g}|{chain}"] = {
            "level": level, "chain": chain,
            "recordings_with_false": frac(sum(bool(r["discontinuities"]) for r in present),
                                          len(present)),
            "false_per_hour": (sum(len(r["discontinuities"]) for r in present)
                               / max(1e-9, sum(r["minutes"] for r in present) / 60)
                               if present else None),
        }
    all_hits = [splice_hits(r) for r in sp]
    present_clean = [r for r in clean if r["present"]]
    return {
        "cells": cells, "unspliced": unspliced,
        "recall": frac(sum(any(h) for h in all_hits), len(sp)),
        "precision": frac(sum(sum(h) for h in all_hits), sum(len(h) for h in all_hits)),
        "unspliced_with_false": frac(sum(bool(r["discontinuities"]) for r in present_clean),
                                     len(present_clean)),
        "false_examples": [_brief(r) for r in present_clean if r["discontinuities"]][:10],
        "missed_examples": [_brief(r) for r, h in zip(sp, all_hits, strict=True)
                            if r["present"] and not any(h)][:10],
    }


def localisation_failures(records: list[dict], n: int = 12) -> list[dict]:
    """Failures in the target region (>= 3 min, hum >= -30 dB), worst levels first."""
    bad = [r for r in records if r["kind"] == "hum" and r["minutes"] >= 3
           and r["level"] >= -30 and not placed_ok(r)]
    bad.sort(key=lambda r: (-r["level"], -r["minutes"]))
    return [_brief(r) for r in bad[:n]]


def _brief(r: dict) -> dict:
    keys = ("id", "kind", "minutes", "level", "chain", "offset", "cuts", "present", "nominal",
            "roughness_mhz", "median_snr_db", "harmonic_snr_db", "placed", "fmp",
            "forced_placed", "discontinuities")
    return {k: r.get(k) for k in keys}


def _median(xs):
    xs = sorted(xs)
    if not xs:
        return None
    m = len(xs) // 2
    return xs[m] if len(xs) % 2 else 0.5 * (xs[m - 1] + xs[m])


def fmp_calibration(records: list[dict]) -> dict:
    """On correct placements: how often the false-match probability says "confident"."""
    out = {}
    for (minutes,), rs in sorted(_group([r for r in records if r["kind"] == "hum"
                                         and placed_ok(r)], ("minutes",)).items()):
        f = [r["fmp"] for r in rs]
        out[f"{minutes:g}"] = {"n": len(rs), "median_fmp": _median(f),
                               "below_0.01": frac(sum(x < CONFIDENT for x in f), len(f))}
    return out


def discontinuity_kinds(records: list[dict]) -> dict:
    """What the discontinuities on unspliced hum files are: phase steps near +-pi (a sign
    flip of the band signal, not a splice's random phase) and frequency steps, by channel."""
    out = {}
    for (chain,), rs in sorted(_group([r for r in records if r["kind"] == "hum"],
                                      ("chain",)).items()):
        ph = [abs(d[2]) for r in rs for d in r["discontinuities"] if d[1] == "phase"]
        fq = [abs(d[2]) for r in rs for d in r["discontinuities"] if d[1] == "frequency"]
        out[chain] = {"phase": len(ph), "phase_near_pi": sum(abs(p - math.pi) < 0.3 for p in ph),
                      "frequency": len(fq), "frequency_median_hz": _median(fq)}
    sp = [r for r in records if r["kind"] == "splice"]
    hits = [abs(d[2]) for r in sp for d, h in zip(r["discontinuities"], splice_hits(r),
                                                   strict=True) if h and d[1] == "phase"]
    out["_splice_hits_phase"] = {"n": len(hits),
                                 "near_pi": sum(abs(p - math.pi) < 0.3 for p in hits)}
    return out


def summarise(records: list[dict]) -> dict:
    """Every table of the report, from the per-file records."""
    return {"localisation": localisation(records), "detection": detection(records),
            "splices": splices(records), "fmp_calibration": fmp_calibration(records),
            "discontinuity_kinds": discontinuity_kinds(records),
            "localisation_failures": localisation_failures(records)}
