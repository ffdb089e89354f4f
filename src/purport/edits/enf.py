"""ENF: the mains hum's phase and frequency steps, and jumps between placed pieces.

Pure: the timing question's ``enf`` report (what ``purport when --json`` prints under
``enf``) or the signal in, :class:`Candidate` out.

- **phase / frequency steps** (:func:`steps`): :func:`purport.timing.enf.discontinuities`
  (Rodriguez, Apolinario & Biscainho 2010): the hum's phase jumps where two pieces are
  butted together, its frequency may step at a cut. Strength: the step over the trace's
  own noise.
- **piece jumps** (:func:`piece_jumps`): when the timing report places the recording
  piece by piece in a grid log (``enf.pieces``), two consecutive placed pieces whose grid
  times do not continue (the recorded-at times differ by more, or less, than the
  recording's times, beyond ``JUMP_TOLERANCE`` s) meet at a join: the strongest evidence
  of an edit there is. Reports without ``pieces`` give none. The boundary of a piece that
  could not be placed is not a candidate: on bench/edits dev-full 2 of 21 such boundaries
  were joins (the pieces' own boundaries stay in the timing report).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np

from purport.edits.base import Candidate, Detector
from purport.timing import enf as timing_enf

JUMP_TOLERANCE = 3.0  # seconds: placements of a continuous recording agree within this

PHASE_STEP = Detector(
    name="enf_phase_step", family="enf", unit="step over the hum's own phase noise",
    threshold=12.0,  # the timing report lists steps from MIN_SIGNIFICANCE (8) up
    meaning="the mains hum's phase jumps: two pieces butted together, each with its own "
            "hum")
FREQUENCY_STEP = Detector(
    name="enf_frequency_step", family="enf", unit="step over the trace's own wander",
    threshold=30.0,
    meaning="the mains hum's frequency steps from one second to the next: a cut, or a "
            "piece recorded at another time")
PIECE_JUMP = Detector(
    name="enf_piece_jump", family="enf", unit="seconds of grid time gained or lost",
    threshold=JUMP_TOLERANCE,
    meaning="the hum before and after fits the grid log at different times: the pieces "
            "were recorded apart, and joined here")
DETECTORS = (PHASE_STEP, FREQUENCY_STEP, PIECE_JUMP)


def steps(enf_report: Mapping[str, Any], *, threshold: float | None = None
          ) -> list[Candidate]:
    """Phase and frequency steps listed in an ``enf`` report (``discontinuities``)."""
    out = []
    for d in enf_report.get("discontinuities") or []:
        det = PHASE_STEP if d["kind"] == "phase" else FREQUENCY_STEP
        floor = det.threshold if threshold is None else threshold
        if float(d["significance"]) < floor:
            continue
        unit = "rad" if d["kind"] == "phase" else "Hz"
        out.append(Candidate(
            time=float(d["time"]), detector=det.name, family="enf",
            strength=float(d["significance"]),
            detail=f"hum {d['kind']} step of {d['strength']} {unit} "
                   f"({d['significance']}x its own noise): {det.meaning}"))
    return out


def signal_steps(y: np.ndarray, *, sr: int, source_sr: int | None = None,
                 threshold: float | None = None) -> list[Candidate]:
    """Phase and frequency steps of mono ``y`` at ``sr`` (extracts the ENF trace)."""
    x = timing_enf.to_analysis_rate(y, sr)
    trace = timing_enf.extract(x, sr=timing_enf.SR, source_sr=source_sr)
    found = timing_enf.discontinuities(x, sr=timing_enf.SR, trace=trace)
    return steps({"discontinuities": [d.__dict__ for d in found]}, threshold=threshold)


def _t(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _offset(piece: Mapping[str, Any]) -> float | None:
    """The grid time of the recording's time 0 under the piece's placement (seconds
    relative to an arbitrary epoch), from ``offset_seconds`` or ``recorded_at``."""
    at = _t(piece.get("recorded_at"))
    if at is not None:
        return at.timestamp() - float(piece["query_start"])
    if piece.get("offset_seconds") is not None:
        return float(piece["offset_seconds"])
    return None


def piece_jumps(enf_report: Mapping[str, Any], *, threshold: float | None = None
                ) -> list[Candidate]:
    """Joins between consecutive pieces of ``enf_report["pieces"]`` (absent: none)."""
    threshold = PIECE_JUMP.threshold if threshold is None else threshold
    pieces = [p for p in enf_report.get("pieces") or [] if isinstance(p, Mapping)]
    out = []
    for a, b in zip(pieces, pieces[1:], strict=False):
        at = float(b["query_start"])
        if a.get("placed") and b.get("placed"):
            oa, ob = _offset(a), _offset(b)
            if oa is None or ob is None:
                continue
            jump = ob - oa
            if abs(jump) < threshold:
                continue
            what = (f"about {jump:.0f} s of grid time are missing here (a cut)" if jump > 0
                    else f"the later piece was recorded {-jump:.0f} s earlier on the grid "
                    "than continuity allows (a piece moved or repeated)")
            out.append(Candidate(
                time=at, detector=PIECE_JUMP.name, family="enf",
                strength=round(abs(jump), 1),
                detail=f"piece {a['query_start']:.0f}-{a['query_end']:.0f} s recorded at "
                       f"{a.get('recorded_at')}, piece {b['query_start']:.0f}-"
                       f"{b['query_end']:.0f} s at {b.get('recorded_at')}: {what}; "
                       f"{PIECE_JUMP.meaning}"))
    return out


def from_report(enf_report: Mapping[str, Any] | None) -> list[Candidate]:
    """Every ENF candidate of a timing report's ``enf`` part."""
    if not enf_report:
        return []
    return steps(enf_report) + piece_jumps(enf_report)
