"""What every edit detector returns, and the measured false-alarm rates it is read with.

A detector is a pure function over the signal (``y``, ``sr`` in, :class:`Candidate` out)
with a name, a family and a threshold on its strength. How often each fires on unedited
speech at its threshold is *measured* by ``bench/edits/calibrate.py`` and shipped in
``false_alarms.json`` beside this module; :func:`calibration` reads it, and every
candidate carries the figure of its detector with the corpus it was measured on.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from importlib import resources
from typing import Any

FAMILIES = ("enf", "background", "channel", "join", "reuse", "voice")
CALIBRATION_FILE = "false_alarms.json"


@dataclass(frozen=True)
class Candidate:
    """One candidate edit point (or stretch) and what it rests on.

    ``time``: seconds into the recording; ``end``: the end of a stretch (a drop-out, a
    repeated span) or None for a point; ``strength``: the detector's statistic, in its own
    unit (see the detector's ``unit``); ``detail``: what it means, in words;
    ``false_alarms_per_hour``: how often this detector fires at this threshold on unedited
    speech (measured; None where it was not measured) and ``measured_on`` where.
    """

    time: float
    detector: str
    family: str
    strength: float
    detail: str
    end: float | None = None
    false_alarms_per_hour: float | None = None
    measured_on: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: d[k] for k in ("time", "end", "detector", "family", "strength",
                                  "false_alarms_per_hour", "detail", "measured_on")}


@dataclass(frozen=True)
class Detector:
    """A detector's name, family, the unit of its strength, its threshold and what a
    candidate of it means."""

    name: str
    family: str
    unit: str
    threshold: float | None
    meaning: str


@lru_cache(maxsize=1)
def calibration() -> dict[str, Any]:
    """The shipped calibration: ``{"corpus": {...}, "commit", "date", "detectors":
    {name: {"threshold", "false_alarms", "hours", "false_alarms_per_hour", ...}}}``
    (empty ``detectors`` if the file is missing)."""
    try:
        text = resources.files("purport.edits").joinpath(CALIBRATION_FILE).read_text()
    except FileNotFoundError:
        return {"detectors": {}, "corpus": {}}
    return json.loads(text)


def measured_on(name: str | None = None) -> str:
    """One line naming the calibration corpus, its hours, the commit and date (and, for a
    detector measured on part of it, such as the ENF ones on the recordings with hum,
    that part's hours)."""
    cal = calibration()
    corpus = cal.get("corpus") or {}
    if not corpus:
        return "not measured (no calibration file)"
    entry = cal.get("detectors", {}).get(name or "", {})
    part = (f"the {entry['hours']:g} h of {entry['hours_of']} of " if entry.get("hours_of")
            else "")
    return (f"{part}{corpus.get('hours', 0):g} h of unedited speech "
            f"({corpus.get('summary', '')}), bench/edits/calibrate.py at "
            f"{cal.get('commit', '?')} on {cal.get('date', '?')}")


def rate(detector: Detector) -> float | None:
    """The measured false alarms per hour of ``detector`` at its threshold, or None when the
    calibration does not cover it or was measured at another threshold."""
    entry = calibration().get("detectors", {}).get(detector.name)
    if not entry or entry.get("false_alarms_per_hour") is None:
        return None
    if detector.threshold is not None and entry.get("threshold") is not None \
            and abs(float(entry["threshold"]) - float(detector.threshold)) > 1e-9:
        return None
    return float(entry["false_alarms_per_hour"])


def rated(candidates: list[Candidate], detector: Detector) -> list[Candidate]:
    """``candidates`` with their detector's measured false-alarm rate and its provenance."""
    fa = rate(detector)
    where = measured_on(detector.name) if fa is not None else "not measured at this threshold"
    return [replace(c, false_alarms_per_hour=fa, measured_on=where) for c in candidates]
