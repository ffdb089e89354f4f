"""When was it recorded: ENF placed in grid logs (from the archive or a CSV) and content dating.

The pure core (enf, grid, locate, content) knows nothing of storage; this module reads
and writes grid logs only through :class:`purport.archive.Archive`.
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
from purport.timing import content, enf, grid, locate

ENF_METHOD = (
    "ENF: 8-second Hann windows every second at 1 kHz, peak of each harmonic of 50 or 60 Hz "
    "interpolated, harmonics combined weighted by SNR; present when the trace is smooth "
    f"(median |change| < {enf.MAX_ROUGHNESS * 1000:g} mHz/s), its SNR >= "
    f"{enf.MIN_SNR_DB:g} dB and it is stable: estimates {enf.WINDOW:g} s apart (windows "
    f"sharing no samples) agree within {enf.AGREE_HZ * 1000:g} mHz far more often than "
    f"two noise peaks would ({enf.P_CHANCE:.1%}; binomial p < {enf.PRESENCE_ALPHA:g}). "
    "Placement: SNR-weighted normalised correlation at every "
    "1-second lag of the grid log (FFT), refined by a parabola; the false-match probability "
    "comes from the scores at all other lags. Discontinuities: phase steps seen at once in "
    "the two strongest harmonics against the phase the frequency track predicts, and "
    "frequency jumps.")
ENF_LIMITS = (
    "Needs hum: battery recorders far from mains, heavy filtering or noise removal leave "
    "none. A match dates the recording only within the logs searched and only if the "
    "recorder sat on that grid; a short recording (under about 3 minutes) or a flat stretch "
    "of the grid can match several times (see alternatives). Hum can be added afterwards "
    "(a forger can copy it from another recording). Discontinuities flag candidates, not "
    "proof: a gain change or a loud sound at the harmonic can cause one.")


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
            raise ParameterError(f"{path.name}: no steady mains frequency found in it "
                                 f"(roughness {trace.roughness * 1000:.1f} mHz/s)")
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


def enf_report(y: np.ndarray, sr: int, log: grid.GridLog | None, *,
               source_sr: int | None = None) -> dict[str, Any]:
    """The ``enf`` part of ``purport when``: trace, presence, placement, discontinuities."""
    trace = enf.extract(y, sr=sr, source_sr=source_sr)
    out: dict[str, Any] = {
        "present": trace.present,
        "detection": {"roughness_mhz_per_s": _round(trace.roughness * 1000, 3),
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
        "alternatives": [], "discontinuities": [], "searched": None,
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
    out.update(start=where.best.start, score=where.best.score, confidence=where.confidence,
               false_match_probability=where.false_match_probability,
               alternatives=[a.__dict__ for a in where.alternatives],
               matched_reference=_matched_reference(log, where.best.offset_seconds,
                                                    out["trace_start_seconds"] or 0.0,
                                                    len(trace.freq)))
    out["message"] = (f"best fit: recording began {where.best.start} (correlation "
                      f"{where.best.score:.3f}, false-match probability "
                      f"{where.false_match_probability:.1e})")
    return out


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


def when_file(path: str | Path, *, archive: Archive | None = None, region: str | None = None,
              grid_csv: str | Path | None = None, between: tuple[str, str] | None = None,
              transcript: str | Path | None = None,
              events: str | Path | None = None) -> dict[str, Any]:
    """``purport when``: ``{"enf": {...}, "content": {...}}`` for one recording."""
    if (transcript is None) != (events is None):
        raise ParameterError("content dating needs both --transcript and --events")
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
    signal = media.load(path, sr=enf.SR)
    result: dict[str, Any] = {
        "recording": {"name": signal.info.name, "sha256": signal.info.sha256,
                      "duration": round(signal.info.duration, 3)},
        "enf": enf_report(signal.y, enf.SR, log, source_sr=signal.info.sample_rate),
        "content": None,
    }
    if transcript is not None:
        text = Path(transcript).read_text(errors="replace") if Path(transcript).is_file() \
            else None
        if text is None:
            raise ParameterError(f"{transcript}: no such file")
        result["content"] = content.date_content(text, content.read_events(events)).to_dict()
    return result


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _round(v: float | None, n: int) -> float | None:
    return None if v is None or not math.isfinite(v) else round(float(v), n)
