"""Timing against the archive: grid logs filed and stitched by region, and ``purport when``.

The pure core (:mod:`purport.timing`: enf, grid, locate, content, report) knows nothing of
storage; this module reads and writes grid logs only through
:class:`purport.archive.Archive`.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np

from purport import media
from purport.archive import Archive
from purport.errors import ParameterError
from purport.speech import asr
from purport.timing import content, enf, grid
from purport.timing.report import when


def _log_bytes(log: grid.GridLog) -> bytes:
    return np.asarray(log.freq, dtype="<f4").tobytes()


def import_grid(archive: Archive, path: str | Path, *, region: str,
                start: str | None = None, name: str | None = None) -> dict[str, Any]:
    """File a grid log: a ``timestamp,frequency_hz`` CSV, or a mains recording with ``start``."""
    path = Path(path)
    if path.suffix.lower() in (".csv", ".txt", ".tsv"):
        if start is not None:
            raise ParameterError("--start is for mains recordings; a CSV has its own times")
        log, source = grid.read_csv(path), "csv"
    else:
        if start is None:
            raise ParameterError(f"{path.name} is a recording: give --start (when it began, "
                                 "ISO 8601 UTC) to turn it into a grid log")
        t0 = grid.parse_time(start)
        signal = media.load(path, sr=enf.SR)
        trace = enf.extract(signal.y, sr=enf.SR, source_sr=signal.info.sample_rate)
        if not trace.present:
            rough = (f"roughness {trace.roughness * 1000:.1f} mHz/s"
                     if np.isfinite(trace.roughness) else "no hum at all")
            raise ParameterError(f"{path.name}: no steady mains frequency found in it "
                                 f"({rough})")
        log, source = grid.from_trace(t0, trace.t, trace.freq), "mains recording"
    if np.isnan(log.freq).all():
        raise ParameterError(f"{path.name}: the log holds no values")
    log_id = archive.add_grid_log(name=name or path.name, region=region, start=log.start,
                                  seconds=log.seconds, nominal_hz=log.nominal,
                                  source=f"{source}: {path.name}", data=_log_bytes(log))
    return {"id": log_id, "name": name or path.name, "region": region,
            "start": _iso(log.start), "end": _iso(log.end), "seconds": log.seconds,
            "nominal_hz": log.nominal, "gap_seconds": int(np.isnan(log.freq).sum())}


def region_log(archive: Archive, region: str) -> grid.GridLog:
    """All logs of a region stitched on one 1 Hz time line (NaN between and in gaps)."""
    rows = archive.grid_logs(region=region, with_data=True)
    if not rows:
        known = sorted({r["region"] for r in archive.grid_logs()})
        raise ParameterError(f"no grid logs for region {region!r} (known: "
                             f"{', '.join(known) or 'none'}; add with `purport grid import`)")
    start = min(r["start"] for r in rows)
    end = max(r["start"] + dt.timedelta(seconds=r["seconds"]) for r in rows)
    freq = np.full(int(math.ceil((end - start).total_seconds())), np.nan)
    for r in rows:
        i = int(round((r["start"] - start).total_seconds()))
        values = np.frombuffer(r["data"], dtype="<f4").astype(np.float64)
        seg = freq[i:i + len(values)]
        seg[np.isnan(seg)] = values[: len(seg)][np.isnan(seg)]
    return grid.GridLog(start, freq)


def grid_log(archive: Archive | None, *, region: str | None = None,
             grid_csv: str | Path | None = None,
             between: tuple[str, str] | None = None) -> grid.GridLog | None:
    """The grid log to place the hum in: a CSV, or a region's logs in the archive (or none),
    cut to ``between`` (a date as the end means the whole of that day)."""
    log = None
    if grid_csv is not None:
        log = grid.read_csv(grid_csv)
    elif region is not None:
        if archive is None:
            raise ParameterError("--region reads the archive's grid logs: pass --db")
        log = region_log(archive, region)
    if log is not None and between is not None:
        a, b = (grid.parse_time(t) for t in between)
        log = log.window(a, b + dt.timedelta(days=1) if len(between[1]) == 10 else b)
    return log


def content_inputs(transcript: str | Path | None, events: str | Path | None,
                   archive: Archive | None = None, *, automatic: bool = False
                   ) -> tuple[str | None, list[content.Event] | None]:
    """The transcript's text and the events catalog for content dating: the user's events
    CSV, and the dated events the archive's press reports state (``purport news add``).

    ``automatic``: the transcript will come from speech recognition, not a file; then a
    missing catalog skips content dating (None) instead of refusing."""
    if transcript is None and not automatic:
        if events is not None:
            raise ParameterError("--events dates a transcript: give --transcript too, or "
                                 "install the speech extra to transcribe the recording")
        return None, None
    text = content.read_transcript(transcript) if transcript is not None else None
    catalog = content.read_events(events) if events is not None else []
    if archive is not None:
        from purport.assess.record import press_catalog

        catalog += press_catalog(archive)
    if not catalog:
        if automatic:
            return None, None
        raise ParameterError("content dating needs an events catalog: --events CSV, or press "
                             "reports in the archive that state dated events "
                             "(`purport news add`)")
    return text, catalog


def when_signal(signal: media.Signal, *, log: grid.GridLog | None = None,
                transcript: str | None = None,
                events: list[content.Event] | None = None,
                timed: list[tuple[str, float, float]] | None = None) -> dict[str, Any]:
    """``purport when`` for decoded audio: ``{"recording", "enf", "content"}``.

    The audio is brought to the ENF analysis rate by FFmpeg's resampler: the same samples,
    to float precision, as a file decoded straight to that rate (1 kHz keeps every
    harmonic searched, up to 300 Hz).
    """
    info = signal.info
    y = signal.y
    if signal.sr != enf.SR:
        y = media.resample(y, orig_sr=signal.sr, target_sr=enf.SR)
    return {"recording": {"name": info.name, "sha256": info.sha256,
                          "duration": round(info.duration, 3)},
            **when(y, sr=enf.SR, log=log, source_sr=info.sample_rate,
                   transcript=transcript, events=events, timed=timed)}


def when_file(path: str | Path, *, archive: Archive | None = None, region: str | None = None,
              grid_csv: str | Path | None = None, between: tuple[str, str] | None = None,
              transcript: str | Path | None = None, events: str | Path | None = None,
              transcribe: bool | None = False, model: str | Path | None = None,
              language: str | None = None) -> dict[str, Any]:
    """``purport when``: ``{"recording", "enf", "content", "transcript"}`` for one recording.

    Decoded at :data:`purport.media.SR`, as ``purport verify`` decodes, so both give the
    same answer. Without a ``transcript`` file the recording's own words are dated when
    ``transcribe`` asks for speech recognition (None: when it is installed).
    """
    from purport.assess import speech

    automatic = speech.wanted(transcript, transcribe)
    text, catalog = content_inputs(transcript, events, archive, automatic=automatic)
    log = grid_log(archive, region=region, grid_csv=grid_csv, between=between)
    signal = media.load(path, sr=media.SR)
    said, why = (speech.heard(signal, transcript=transcript, transcribe=transcribe,
                              model=model, language=language)
                 if catalog else (None, "no events catalog to date the words against"))
    timed = None
    if said is not None and said.source == "automatic":
        text, timed = said.text, asr.timed_sentences(said)
    out = when_signal(signal, log=log, transcript=text if catalog else None, events=catalog,
                      timed=timed)
    out["transcript"] = said.to_dict() if said is not None else {"skipped": why}
    return out


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")

