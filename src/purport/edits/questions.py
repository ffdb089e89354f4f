"""Edit candidates from the other questions' answers: where re-used spans begin and end,
spans repeated inside the recording, and speech windows in another voice.

Pure: the reuse and voice reports in, :class:`Candidate` out.
"""

from __future__ import annotations

from purport.edits.base import Candidate, Detector
from purport.reuse.report import ReuseReport
from purport.voice.compare import VoiceReport

EDGE = 0.5  # seconds: a re-used span starting or ending this close to an end is no edit

REUSE_BOUNDARY = Detector(
    name="reuse_boundary", family="reuse", unit="-log10 false-match probability of the span",
    threshold=None,
    meaning="a stretch re-used from an archive recording begins or ends here: the "
            "recording was assembled from earlier material")
SELF_REPEAT = Detector(
    name="self_repeat", family="reuse", unit="-log10 false-match probability of the repeat",
    threshold=None,
    meaning="a stretch of the recording repeats an earlier stretch of itself: copy and "
            "paste")
VOICE_CHANGE = Detector(
    name="voice_change", family="voice", unit="|log10 LR| of the window", threshold=None,
    meaning="a speech window that clusters apart from the rest and that the calibration "
            "rates as another voice: a second speaker spliced in")
DETECTORS = (REUSE_BOUNDARY, SELF_REPEAT, VOICE_CHANGE)


def _p(m: dict) -> float:
    import math

    p = m.get("false_match_probability")
    return round(-math.log10(max(float(p), 1e-300)), 1) if p is not None else 0.0


def reuse_candidates(reuse: ReuseReport | None, self_reuse: ReuseReport | None,
                     duration: float) -> list[Candidate]:
    """Boundaries of re-used spans (away from the ends) and starts of self-repeats."""
    out = []
    for m in reuse.matches if reuse is not None else []:
        for t, side in ((m["query_start"], "starts"), (m["query_end"], "ends")):
            if EDGE < t < duration - EDGE:
                out.append(Candidate(
                    time=float(t), detector=REUSE_BOUNDARY.name, family="reuse",
                    strength=_p(m),
                    detail=f"re-used span from {m['name']} {side} here "
                           f"(false-match p {m['false_match_probability']:.1e}): "
                           f"{REUSE_BOUNDARY.meaning}"))
    for m in self_reuse.matches if self_reuse is not None else []:
        out.append(Candidate(
            time=float(m["query_start"]), end=float(m["query_end"]),
            detector=SELF_REPEAT.name, family="reuse", strength=_p(m),
            detail=f"{m['query_start']:.1f}-{m['query_end']:.1f} s repeats "
                   f"{m['ref_start']:.1f}-{m['ref_end']:.1f} s: {SELF_REPEAT.meaning}"))
    return out


def voice_candidates(voice: VoiceReport | None) -> list[Candidate]:
    """Speech windows flagged ``different_voice`` by the voice question."""
    out = []
    for s in voice.segments if voice is not None else []:
        if s.different_voice:
            out.append(Candidate(
                time=float(s.start), end=float(s.end), detector=VOICE_CHANGE.name,
                family="voice", strength=round(abs(float(s.log10_lr)), 2),
                detail=f"window {s.start:.1f}-{s.end:.1f} s sounds like a different voice "
                       f"from the rest (log10 LR {s.log10_lr:+.2f}): {VOICE_CHANGE.meaning}"))
    return out
