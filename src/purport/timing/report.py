"""The timing question's answer as ``purport when`` prints it, from decoded audio.

Pure: samples, a grid log and the events catalog in, plain data out. Loading grid logs
from the archive is the service layer's work (:mod:`purport.assess.timing`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from purport.timing import content, enf, grid, locate, pieces

ENF_METHOD = (
    "ENF: 8-second Hann windows every second at 1 kHz, peak of each harmonic of 50 or 60 Hz "
    "interpolated, harmonics combined weighted by SNR; present when the trace is smooth "
    f"(median |change| < {enf.MAX_ROUGHNESS * 1000:g} mHz/s), its SNR >= "
    f"{enf.MIN_SNR_DB:g} dB and it is stable: estimates {enf.WINDOW:g} s apart (windows "
    f"sharing no samples) agree within {enf.AGREE_HZ * 1000:g} mHz far more often than "
    f"two noise peaks would ({enf.P_CHANCE:.1%}; binomial p < {enf.PRESENCE_ALPHA:g}). "
    "Placement: at every 1-second lag of the grid log (FFT), the SNR-weighted mean squared "
    "difference between trace and log after an offset shrunk towards zero (a recorder "
    "clock's error; the hum's level and the size of its wander must match, not only its "
    "shape), values that leave their 31-s running median by more than "
    f"{locate.OUTLIER_HZ * 1000:g} mHz left out; refined by a parabola. The false-match "
    "probability is the chance that any 60-s cell of the log fits as well, from an "
    f"exponential tail fitted to the best {locate.TAIL_SHARE:.0%} of the other cells' fits "
    "(conservative: their tail is lighter). `score` is the shapes' correlation, "
    "`rms_mhz` the fit. Pieces: the trace placed in 60-s windows every "
    "15 s; the sequence of pieces that best explains them (one placement each, a change "
    "costing a penalty; a window explains a placement when it fits it far better than "
    "chance and no better 4-120 s away) found by dynamic programming over placements the "
    "search proposes (the whole trace, then any stretch no placement explains, whole or in "
    "60-600 s chunks), boundaries refined to where the trace stops following one placement "
    "(snapped to a phase step or an SNR dip within 8 s); each piece then placed on its own, "
    "4 s in from a join, with its own false-match probability; a piece the whole log does "
    "not place is sought within 1 h of the other pieces' best placements, its probability "
    "counting those stretches only (`searched` says which); `departures` are stretches of "
    "a placed piece where the trace leaves the log (a short insert the pieces do not "
    "resolve). Discontinuities: phase steps seen at once in "
    "the two strongest harmonics against the phase the frequency track predicts, and "
    "frequency jumps.")
ENF_LIMITS = (
    "Needs hum: battery recorders far from mains, heavy filtering or noise removal leave "
    "none. A match dates the recording only within the logs searched and only if the "
    "recorder sat on that grid; a short recording (under about 3 minutes) or a flat stretch "
    "of the grid can match several times (see alternatives); a piece under about 90 s "
    "is often not placed, and a cut of under about 5 s moves the later piece by less than "
    "the placement's tolerance, so it shows as a discontinuity, if at all, not as a new "
    "piece. Hum can be added afterwards "
    "(a forger can copy it from another recording). Discontinuities flag candidates, not "
    "proof: a gain change or a loud sound at the harmonic can cause one.")


def when(y: np.ndarray, *, sr: int, log: grid.GridLog | None = None,
         source_sr: int | None = None, transcript: str | None = None,
         events: list[content.Event] | None = None,
         timed: list[tuple[str, float, float]] | None = None) -> dict[str, Any]:
    """``{"enf": {...}, "content": {...} or None}`` for mono ``y`` at ``sr``.

    ``y`` is brought to the ENF analysis rate (:data:`purport.timing.enf.SR`) once, here;
    ``source_sr`` is the file's own rate (harmonics above its band are not searched).
    Content dating runs when both the ``transcript`` text and the ``events`` are given;
    ``timed`` (its sentences with their times in the recording) places the evidence.
    """
    x = enf.to_analysis_rate(y, sr)
    dated = None
    if transcript is not None and events is not None:
        dated = content.date_content(transcript, events, timed=timed).to_dict()
    return {"enf": enf_report(x, enf.SR, log, source_sr=source_sr), "content": dated}


def enf_report(y: np.ndarray, sr: int, log: grid.GridLog | None, *,
               source_sr: int | None = None) -> dict[str, Any]:
    """The ``enf`` part of ``purport when``: trace, presence, placement, discontinuities."""
    trace = enf.extract(y, sr=sr, source_sr=source_sr)
    out: dict[str, Any] = {
        "present": trace.present,
        "detection": {"roughness_mhz_per_s": _round(trace.roughness * 1000, 3),
                      "roughness_note": _unmeasured(trace, y, sr),
                      "max_roughness_mhz_per_s": enf.MAX_ROUGHNESS * 1000,
                      "median_snr_db": _round(float(np.nanmedian(trace.snr_db))
                                              if len(trace) else None, 2),
                      "min_snr_db": enf.MIN_SNR_DB,
                      "stability": trace.stability,
                      "stability_chance_probability": _round(trace.chance_probability, 6),
                      "max_chance_probability": enf.PRESENCE_ALPHA,
                      "false_alarm_rate": "see bench/timing/results.md (no-hum speech)"},
        "nominal_hz": trace.nominal, "harmonics_used": list(trace.harmonics),
        "harmonic_snr_db": {str(k): v for k, v in trace.harmonic_snr_db.items()},
        "trace": [_round(v, 5) for v in trace.freq.tolist()],
        "trace_start_seconds": float(trace.t[0]) if len(trace) else None,
        "start": None, "confidence": None, "false_match_probability": None,
        "alternatives": [], "discontinuities": [], "pieces": [], "searched": None,
        "method": ENF_METHOD, "limits": ENF_LIMITS,
    }
    if not trace.present:
        out["message"] = "no mains hum found: the recording cannot be dated by ENF"
        return out
    out["discontinuities"] = [d.__dict__ for d in enf.discontinuities(y, sr=sr, trace=trace)]
    if log is None:
        out["message"] = "hum found; no grid log given to place it in"
        return out
    if log.nominal != trace.nominal:
        out["message"] = (f"the recording's hum is {trace.nominal} Hz but the grid log is "
                          f"{log.nominal} Hz: not placed")
        return out
    where = locate.locate(trace, log)
    out["searched"] = where.searched
    if where.best is None:
        out["message"] = "the grid log has no stretch long enough to compare"
        return out
    parts = pieces.place_pieces(trace, log, steps=[d["time"] for d in out["discontinuities"]],
                                located=where)
    out["pieces"] = [p.to_dict() for p in parts]
    out.update(start=where.best.start, score=where.best.score, confidence=where.confidence,
               false_match_probability=where.false_match_probability,
               alternatives=[a.__dict__ for a in where.alternatives],
               matched_reference=_matched_reference(log, where.best.offset_seconds,
                                                    out["trace_start_seconds"] or 0.0,
                                                    len(trace.freq)))
    out["message"] = (f"best fit: recording began {where.best.start} ({where.best.rms_mhz:.2f} "
                      f"mHz RMS from the log, correlation {where.best.score:.3f}, false-match "
                      f"probability {where.false_match_probability:.1e})")
    if len(parts) > 1:
        placed = [p for p in parts if p.placed]
        first = parts[0]
        if first.placed:  # the recording began where its first piece places it
            out["start"] = first.recorded_at
        out["message"] = (f"{len(parts)} pieces, {len(placed)} placed at false-match "
                          f"probability <= {pieces.MAX_FALSE_MATCH:g}: " + "; ".join(
                              f"{p.query_start:.0f}-{p.query_end:.0f} s "
                              + (f"recorded at {p.recorded_at}" if p.placed else "not placed")
                              for p in parts)
                          + ". One placement does not fit the whole recording: it was cut "
                          "or spliced, or its hum was")
    return out


def _unmeasured(trace: enf.Trace, y: np.ndarray, sr: int) -> str | None:
    """Why the trace has no roughness (None where it has one): ``roughness_mhz_per_s`` is
    then None, which means "not measured", not "zero" or "unknown value"."""
    if math.isfinite(trace.roughness):
        return None
    if len(trace) == 0:
        return (f"not measured: the recording ({len(y) / sr:.1f} s) is shorter than the "
                f"{enf.WINDOW:g}-s analysis window")
    return (f"not measured: no two successive estimates ({enf.HOP:g} s apart) found hum at "
            f"{trace.nominal} Hz or its harmonics")


def _matched_reference(log: grid.GridLog, offset: float, t0: float, n: int) -> list:
    """The grid log's frequency under each trace value at the best placement (interpolated;
    None in the log's gaps), so the two can be drawn over each other."""
    pos = offset + t0 - 0.5 + np.arange(n)
    i = np.floor(pos).astype(int)
    frac = pos - i
    ok = (i >= 0) & (i + 1 < len(log.freq))
    values = np.full(n, np.nan)
    values[ok] = (1 - frac[ok]) * log.freq[i[ok]] + frac[ok] * log.freq[i[ok] + 1]
    return [_round(v, 5) for v in values.tolist()]



def _round(v: float | None, n: int) -> float | None:
    return None if v is None or not math.isfinite(v) else round(float(v), n)
