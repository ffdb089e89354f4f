"""The Assessment: every question that applies, run on one questioned recording, in one document.

Each question's part is exactly what its own command prints with ``--json`` (``purport
match``, ``purport voice check``, ``purport when``, ``purport record``); ``edits`` gathers
the candidate cut and splice points that the other questions found, on one time axis.
No verdict word anywhere: the evidence and its strength.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from purport import __version__, media
from purport.archive import Archive
from purport.errors import PurportError

SCHEMA_VERSION = "1.0"


def _skipped(why: str) -> dict[str, Any]:
    return {"skipped": why}


def _recording(archive: Archive, path: Path) -> dict[str, Any]:
    info = media.probe(path)
    out = {k: v for k, v in info.to_dict().items() if k != "path"}
    known = [r for r in archive.recordings() if r.sha256 == info.sha256]
    out["archive_recording"] = known[0].to_dict() if known else None
    return out


def _edits(reuse: dict, self_reuse: dict, voice: dict, timing: dict,
           duration: float) -> dict[str, Any]:
    """Candidate edit points from every question, sorted by time."""
    points = []
    for m in reuse.get("matches", []):
        for t, side in ((m["query_start"], "starts"), (m["query_end"], "ends")):
            if 0.5 < t < duration - 0.5:
                points.append({"time": t, "source": "reuse boundary",
                               "detail": f"re-used span from {m['name']} {side} here"})
    for m in self_reuse.get("matches", []):
        points.append({"time": m["query_start"], "source": "self-reuse",
                       "detail": f"{m['query_start']:.1f}-{m['query_end']:.1f} s repeats "
                                 f"{m['ref_start']:.1f}-{m['ref_end']:.1f} s"})
    for s in voice.get("segments", []) if isinstance(voice, dict) else []:
        if s.get("different_voice"):
            points.append({"time": s["start"], "source": "voice change",
                           "detail": f"window {s['start']:.1f}-{s['end']:.1f} s sounds like "
                                     "a different voice from the rest"})
    enf = timing.get("enf") or {}
    for d in enf.get("discontinuities", []):
        points.append({"time": d["time"], "source": f"ENF {d['kind']} step",
                       "detail": f"step {d['strength']} ({d['significance']}x the hum's "
                                 "own noise)"})
    points.sort(key=lambda p: p["time"])
    return {"candidates": points,
            "method": "Cut and splice candidates gathered from the other questions: where "
                      "re-used spans begin and end, spans repeated inside the recording, "
                      "speech windows in another voice, and steps in the mains hum's phase "
                      "or frequency.",
            "limits": "Candidates, not findings: a re-used span can start at a natural "
                      "pause, a voice window can be flagged by noise, a hum step by a loud "
                      "sound. A clean edit in a recording without hum, re-use or a voice "
                      "change leaves no trace here."}


def verify(path: str | Path, *, archive: Archive, claimed_speaker: str | None = None,
           transcript: str | Path | None = None, events: str | Path | None = None,
           region: str | None = None, grid_csv: str | Path | None = None,
           calibration: str | None = None,
           progress: Callable[[float, str], None] | None = None) -> dict[str, Any]:
    """Run every question that applies to one recording; the Assessment as a dict.

    ``progress(fraction, step)`` is called as each question starts (the web app's jobs
    show it).
    """
    from purport.news import record as news
    from purport.reuse import search
    from purport.timing import when
    from purport.voice import profiles

    def step(fraction: float, what: str) -> None:
        if progress is not None:
            progress(fraction, what)

    path = Path(path)
    step(0.0, "reading the recording")
    recording = _recording(archive, path)  # refuses unusable files before anything runs
    if claimed_speaker is not None:
        archive.speaker(claimed_speaker)  # an unknown speaker fails before the work
    step(0.05, "reuse: matching against the archive")
    reuse = search.match_file(archive, path).to_dict()
    step(0.25, "reuse: spans repeated inside the recording")
    self_reuse = search.match_file(archive, path, self_match=True).to_dict()
    if claimed_speaker is None:
        voice: dict[str, Any] = _skipped("no --claimed-speaker given")
        record: dict[str, Any] = _skipped("no --claimed-speaker given")
    else:
        step(0.4, "voice: likelihood ratio against the claimed speaker's references")
        try:
            cal = profiles.get_calibration(archive, calibration)
            voice = profiles.check_file(archive, path, claimed_speaker, cal).to_dict()
        except PurportError as exc:
            voice = _skipped(str(exc))
        record = news.record(archive, claimed_speaker)
    step(0.65, "timing: mains hum and content dating")
    timing = when.when_file(path, archive=archive if region else None, region=region,
                            grid_csv=grid_csv, transcript=transcript, events=events)
    edits = _edits(reuse, self_reuse, voice, timing, recording["duration"])
    step(1.0, "done")
    return {
        "schema_version": SCHEMA_VERSION,
        "purport_version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
        "recording": recording,
        "claimed_speaker": claimed_speaker,
        "reuse": reuse,
        "self_reuse": self_reuse,
        "voice": voice,
        "timing": timing,
        "edits": edits,
        "record": record,
        "methods": {
            "reuse": {"method": reuse.get("method"), "limits": reuse.get("limits")},
            "voice": {"method": voice.get("method"), "limits": voice.get("limits")},
            "timing": {"method": (timing.get("enf") or {}).get("method"),
                       "limits": (timing.get("enf") or {}).get("limits")},
            "edits": {"method": edits["method"], "limits": edits["limits"]},
            "record": {"method": record.get("method"), "limits": record.get("limits")},
        },
    }


def verify_and_file(path: str | Path, *, archive: Archive, claimed_speaker: str | None = None,
                    provenance: Any = None, name: str | None = None,
                    max_bytes: int = media.DEFAULT_MAX_BYTES,
                    max_duration: float = media.DEFAULT_MAX_DURATION,
                    progress: Callable[[float, str], None] | None = None,
                    **questions: Any) -> tuple[dict[str, Any], Any]:
    """``verify``, then file the recording and keep the Assessment with it, in one
    transaction: (assessment, stored assessment).

    A recording new to the archive is filed as a questioned recording of the claimed
    speaker; bytes already there keep their role and speaker and gain a sighting.
    ``questions`` are ``verify``'s keyword arguments (transcript, events, region, ...).
    """
    from purport import ingest

    def step(fraction: float, what: str) -> None:
        if progress is not None:
            progress(fraction, what)

    result = verify(path, archive=archive, claimed_speaker=claimed_speaker,
                    progress=lambda f, m: step(0.9 * f, m), **questions)
    step(0.95, "filing the recording and its assessment")
    known = result["recording"].get("archive_recording")
    with archive.transaction() as txn:
        (added,) = ingest.add_files(
            archive, [path], role=None if known else "questioned",
            speaker=None if known else claimed_speaker, provenance=provenance,
            max_bytes=max_bytes, max_duration=max_duration, txn=txn)
        stored = archive.add_assessment(added.recording.id, result,
                                        claimed_speaker=claimed_speaker, txn=txn)
    step(1.0, "done")
    return result, stored
