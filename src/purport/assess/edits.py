"""Edits: the candidate cut and splice points the other questions found, on one time axis.

Gathered here until the edit detectors have a package of their own; pure (the other
questions' answers in, an :class:`Edits` out).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from purport.reuse.report import ReuseReport
from purport.voice.compare import VoiceReport

METHOD = ("Cut and splice candidates gathered from the other questions: where re-used spans "
          "begin and end, spans repeated inside the recording, speech windows in another "
          "voice, and steps in the mains hum's phase or frequency.")
LIMITS = ("Candidates, not findings: a re-used span can start at a natural pause, a voice "
          "window can be flagged by noise, a hum step by a loud sound. A clean edit in a "
          "recording without hum, re-use or a voice change leaves no trace here.")
EDGE = 0.5  # seconds: a re-used span starting or ending this close to an end is no edit


@dataclass(frozen=True)
class Edits:
    """The ``edits`` part of the Assessment: candidate points sorted by time."""

    candidates: list[dict[str, Any]] = field(default_factory=list)
    method: str = METHOD
    limits: str = LIMITS

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Edits:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def candidates(reuse: ReuseReport, self_reuse: ReuseReport, voice: VoiceReport | None,
               timing: Mapping[str, Any], duration: float) -> Edits:
    """Candidate edit points from every question (``voice`` None when it was not run)."""
    points = []
    for m in reuse.matches:
        for t, side in ((m["query_start"], "starts"), (m["query_end"], "ends")):
            if EDGE < t < duration - EDGE:
                points.append({"time": t, "source": "reuse boundary",
                               "detail": f"re-used span from {m['name']} {side} here"})
    for m in self_reuse.matches:
        points.append({"time": m["query_start"], "source": "self-reuse",
                       "detail": f"{m['query_start']:.1f}-{m['query_end']:.1f} s repeats "
                                 f"{m['ref_start']:.1f}-{m['ref_end']:.1f} s"})
    for s in voice.segments if voice is not None else []:
        if s.different_voice:
            points.append({"time": s.start, "source": "voice change",
                           "detail": f"window {s.start:.1f}-{s.end:.1f} s sounds like "
                                     "a different voice from the rest"})
    enf = timing.get("enf") or {}
    for d in enf.get("discontinuities", []):
        points.append({"time": d["time"], "source": f"ENF {d['kind']} step",
                       "detail": f"step {d['strength']} ({d['significance']}x the hum's "
                                 "own noise)"})
    points.sort(key=lambda p: p["time"])
    return Edits(candidates=points)
