"""Edits against the archive: ``purport edits`` and the ``edits`` part of ``verify``.

The detectors are the pure :mod:`purport.edits` package; this module decodes the file
once, fetches what they need (a grid log from the archive or a CSV, for the ENF pieces)
and hands them the other questions' answers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from purport import media
from purport.archive import Archive
from purport.edits import EditsReport, detect
from purport.reuse.report import ReuseReport
from purport.voice.compare import VoiceReport

Edits = EditsReport  # the Assessment's ``edits`` part


def edits_signal(signal: media.Signal, *, enf_report: dict[str, Any] | None = None,
                 reuse: ReuseReport | None = None, self_reuse: ReuseReport | None = None,
                 voice: VoiceReport | None = None) -> EditsReport:
    """Every edit detector on decoded audio and on the other questions' answers."""
    return detect(signal.y, sr=signal.sr, source_sr=signal.info.sample_rate,
                  enf_report=enf_report, reuse=reuse, self_reuse=self_reuse, voice=voice,
                  duration=signal.info.duration)


def edits_file(path: str | Path, *, archive: Archive | None = None, region: str | None = None,
               grid_csv: str | Path | None = None,
               max_bytes: int = media.DEFAULT_MAX_BYTES,
               max_duration: float = media.DEFAULT_MAX_DURATION) -> dict[str, Any]:
    """``purport edits``: ``{"recording", "candidates", "detectors", "explained", "method",
    "limits"}``.

    The file is decoded once (at :data:`purport.media.SR`, as ``verify`` decodes it); the
    hum is extracted, and placed piece by piece when a grid log is given (``region`` from
    the archive, or ``grid_csv``); spans repeated inside the recording are searched; no
    archive recording is matched (``verify`` does that).
    """
    from purport.assess import reuse, timing
    from purport.reuse.report import self_report

    log = timing.grid_log(archive, region=region, grid_csv=grid_csv)
    signal = media.load(path, sr=media.SR, max_bytes=max_bytes, max_duration=max_duration)
    when = timing.when_signal(signal, log=log)
    repeated = self_report(reuse.fingerprint_signal(signal), reuse.query_of(signal.info))
    report = edits_signal(signal, enf_report=when["enf"], self_reuse=repeated)
    info = signal.info
    recording = {"name": info.name, "sha256": info.sha256, "duration": round(info.duration, 3),
                 "codec": info.codec, "sample_rate": info.sample_rate,
                 "hum": "present" if when["enf"].get("present") else "absent",
                 "grid_log": None if log is None else {"start": timing._iso(log.start),
                                                       "seconds": log.seconds}}
    return {"recording": recording, **report.to_dict()}
