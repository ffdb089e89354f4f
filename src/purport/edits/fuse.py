"""Every edit detector on one recording, every candidate on one time axis.

Pure: decoded samples and the other questions' answers in, an :class:`EditsReport` out.
Each candidate carries its detector's false alarms per hour, measured on unedited speech
by ``bench/edits/calibrate.py`` and read from ``false_alarms.json`` (never a constant in
code), with the corpus it was measured on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from purport.edits import background, base, channel, enf, join, questions
from purport.edits.base import Candidate, Detector, measured_on, rate, rated
from purport.edits.frames import analyse
from purport.reuse.report import ReuseReport
from purport.voice.compare import VoiceReport

DETECTORS: tuple[Detector, ...] = (enf.DETECTORS + background.DETECTORS + channel.DETECTORS
                                   + join.DETECTORS + questions.DETECTORS)
BY_NAME = {d.name: d for d in DETECTORS}

METHOD = (
    "Every detector runs on the decoded signal and reports candidate times with a "
    "strength; each is kept at its threshold, and how often it fires there on unedited "
    "speech is measured (false alarms per hour, with the corpus). ENF: phase steps seen "
    "in the two strongest hum harmonics and frequency jumps (from the timing question), "
    "and jumps in grid time between consecutive pieces placed in a grid log. Background: "
    "the pauses' room tone (8 bands, hum band included) before and after each time, "
    "12 s either side, a change beyond the frames' own spread, and the early decay rate "
    "of speech offsets (reverberation) 30 s either side. Channel: the long-term "
    "spectrum of the speech 10 s either side, a cliff in their difference at any edge "
    "above 1.5 kHz (another low-pass or sample rate). Join: digital silence or held "
    "samples inside the recording (30 dB or more below its floor), isolated spikes of "
    "the LPC residual (a broken waveform), steps in the pauses' DC offset. From the "
    "other questions: where re-used spans begin and end, self-repeats, and windows in "
    "another voice.")
LIMITS = (
    "Candidates, not findings: each detector fires by chance at its measured rate, and "
    "the calibration corpus is generated speech (synthetic voices and FSDD digits with "
    "added rooms, noise, hum and codecs), which lacks much of real life: a door, traffic, "
    "a speaker moving, an automatic gain control or noise suppressor changes the room tone "
    "or the spectrum without an edit. A clean edit (a cut inside one pause of one "
    "session, crossfaded, without hum) leaves no trace any of these detectors can see; "
    "re-encoding the whole edited file hides clicks and digital silence; a recording "
    "whose pauses are all digital silence (noise-gated) is not searched for it. The "
    "signal is analysed at 16 kHz, so a bandwidth change above 8 kHz is not seen, and "
    "compression history (a second encoding of one stretch) is not tested. A room or "
    "channel change inside a stretch whose hum is placed in the grid log, away from where "
    "the trace leaves the log, is set aside as explained: hum added to a whole recording "
    "after editing would hide a splice that way.")


@dataclass(frozen=True)
class EditsReport:
    """The edits question's answer: candidates sorted by time, and every detector with its
    threshold and measured false alarms per hour."""

    candidates: list[dict[str, Any]] = field(default_factory=list)
    detectors: list[dict[str, Any]] = field(default_factory=list)
    explained: list[dict[str, Any]] = field(default_factory=list)
    method: str = METHOD
    limits: str = LIMITS

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EditsReport:
        """The report again from its ``to_dict()`` (a stored Assessment's part; older
        ones without ``detectors`` read as they were)."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    @property
    def summary(self) -> str:
        if not self.candidates:
            return "no candidate edit points"
        fams = sorted({c.get("family", c.get("source", "?")) for c in self.candidates})
        return f"{len(self.candidates)} candidate point(s) ({', '.join(fams)})"


def detector_table() -> list[dict[str, Any]]:
    """Every detector: name, family, unit, threshold, measured false alarms per hour and
    the corpus it was measured on."""
    cal = base.calibration().get("detectors", {})
    out = []
    for d in DETECTORS:
        fa = rate(d)
        entry = cal.get(d.name) or {}
        out.append({"name": d.name, "family": d.family, "threshold": d.threshold,
                    "unit": d.unit, "false_alarms_per_hour": fa,
                    "false_alarms": entry.get("false_alarms") if fa is not None else None,
                    "hours": entry.get("hours") if fa is not None else None,
                    "measured_on": measured_on(d.name) if fa is not None
                    else "not measured at this threshold",
                    "meaning": d.meaning})
    return out


def signal_candidates(y: np.ndarray, *, sr: int, source_sr: int | None = None
                      ) -> list[Candidate]:
    """The detectors over the signal itself (background, channel, join), unrated."""
    frames = analyse(y, sr=sr, source_sr=source_sr)
    return (background.room_tone(frames=frames) + background.reverb(frames=frames)
            + channel.bandwidth(frames=frames)
            + join.digital_silence(y, sr=sr) + join.clicks(y, sr=sr)
            + join.dc_steps(y, sr=sr))


def detect(y: np.ndarray, *, sr: int, source_sr: int | None = None,
           enf_report: Mapping[str, Any] | None = None, reuse: ReuseReport | None = None,
           self_reuse: ReuseReport | None = None, voice: VoiceReport | None = None,
           duration: float | None = None) -> EditsReport:
    """Every detector on mono ``y`` at ``sr`` and on the other questions' answers.

    ``enf_report``: the timing question's ``enf`` part (its discontinuities and, when it
    was placed piece by piece, ``pieces``); without it the hum's steps are found here.
    """
    duration = len(y) / sr if duration is None else duration
    found = signal_candidates(y, sr=sr, source_sr=source_sr)
    found += (enf.from_report(enf_report) if enf_report is not None
              else enf.signal_steps(y, sr=sr, source_sr=source_sr))
    found += questions.reuse_candidates(reuse, self_reuse, duration)
    found += questions.voice_candidates(voice)
    return fuse(found, placed=placed_spans(enf_report))


#: detectors whose change a continuous hum rules out as a join: the room and the channel
#: cannot change at an edit inside a stretch whose hum follows the grid without a break
#: (a cut shorter than the placement's tolerance stays possible: phase and frequency steps,
#: clicks and drop-outs are kept; so is anything near a stretch where the trace leaves
#: the log, ``departures``: a short insert from another time does not split a piece)
EXPLAINED_BY_HUM = ("room_tone", "reverb", "bandwidth")
HUM_MARGIN = 10.0  # seconds from a placed piece's ends within which nothing is explained


def placed_spans(enf_report: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The pieces of a timing report placed in a grid log (query start, end, where)."""
    if not enf_report:
        return []
    return [p for p in enf_report.get("pieces") or []
            if isinstance(p, Mapping) and p.get("placed")]


def fuse(found: list[Candidate], *, placed: list[dict[str, Any]] | None = None
         ) -> EditsReport:
    """Candidates of any detectors on one time axis, each with its measured false-alarm
    rate; the report lists every detector.

    ``placed``: pieces whose hum was placed in a grid log. A room or channel change inside
    one (farther than ``HUM_MARGIN`` s from its ends and from its ``departures``) is listed
    under
    ``explained``, with the piece, rather than as a candidate: the hum runs on with the
    grid there, so the recording was not cut or spliced at that point (unless the hum
    was added after the edit: see the limits).
    """
    out: list[Candidate] = []
    for d in DETECTORS:
        out += rated([c for c in found if c.detector == d.name], d)
    out.sort(key=lambda c: (c.time, c.family, c.detector))
    kept, explained = [], []
    for c in out:
        inside = next((p for p in placed or [] if c.detector in EXPLAINED_BY_HUM
                       and p["query_start"] + HUM_MARGIN <= c.time
                       <= p["query_end"] - HUM_MARGIN
                       and not any(a - HUM_MARGIN <= c.time <= b + HUM_MARGIN
                                   for a, b in p.get("departures") or [])), None)
        if inside is None:
            kept.append(c.to_dict())
        else:
            explained.append({**c.to_dict(), "explained_by": (
                f"the hum of {inside['query_start']:.0f}-{inside['query_end']:.0f} s follows "
                f"the grid log without a break (recorded at {inside['recorded_at']}, "
                f"false-match probability {inside['false_match_probability']:.1e})")})
    return EditsReport(candidates=kept, detectors=detector_table(), explained=explained)
