"""Grid-frequency reference logs: read operators' CSV files or mains recordings, at 1 value/s.

A log is a start time (UTC) and one frequency per second, NaN where the log has a gap.
CSV logs come at any rate (operators publish 1 s, 100 ms or 1 min values) and are
averaged into whole seconds; gaps up to ``MAX_FILL`` seconds are interpolated, longer
ones stay NaN so that nothing is matched against values that were never measured.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from purport.errors import ParameterError

MAX_FILL = 5  # seconds of gap filled by interpolation


@dataclass(frozen=True)
class GridLog:
    """Grid frequency at 1 Hz from ``start`` (UTC), NaN in gaps."""

    start: dt.datetime
    freq: np.ndarray

    @property
    def seconds(self) -> int:
        return len(self.freq)

    @property
    def end(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=len(self.freq))

    @property
    def nominal(self) -> int:
        return 60 if np.nanmedian(self.freq) > 55 else 50

    def at(self, t: dt.datetime) -> int:
        """Index of the second ``t`` (may lie outside the log)."""
        return int(math.floor((t - self.start).total_seconds()))

    def window(self, start: dt.datetime | None, end: dt.datetime | None) -> GridLog:
        """The part of the log between two times (clipped to the log)."""
        i = max(0, self.at(start)) if start else 0
        j = min(len(self.freq), self.at(end)) if end else len(self.freq)
        if j <= i:
            raise ParameterError("the time window does not overlap the grid log "
                                 f"({self.start.isoformat()} to {self.end.isoformat()})")
        return GridLog(self.start + dt.timedelta(seconds=i), self.freq[i:j])


def parse_time(text: str, *, where: str = "") -> dt.datetime:
    """An ISO 8601 time (a trailing Z or no zone means UTC) or a Unix time in seconds."""
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(value) or not 0 <= value < 4e9:
            raise ParameterError(f"{where}bad timestamp {text!r}")
        return dt.datetime.fromtimestamp(value, tz=dt.UTC)
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ParameterError(f"{where}bad timestamp {text!r} (want ISO 8601 like "
                             "2024-03-01T12:00:00Z, or Unix seconds)") from None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def read_csv(path: str | Path) -> GridLog:
    """A ``timestamp,frequency_hz`` CSV (a header row is optional) as a 1 Hz log.

    Refuses, with the line number: unparseable times, times that go backwards,
    frequencies that are not numbers or not near 50 or 60 Hz (mHz deviations or
    kHz by mistake), and files with fewer than 60 values.
    """
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"{path}: no such file")
    text = path.read_text(errors="replace")
    rows = list(csv.reader(io.StringIO(text)))
    times, values = [], []
    for n, row in enumerate(rows, 1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        if len(row) < 2:
            raise ParameterError(f"{path}:{n}: want two columns, timestamp,frequency_hz")
        if n == 1 and not _looks_numeric(row[1]) and not _looks_time(row[0]):
            continue  # header
        where = f"{path}:{n}: "
        t = parse_time(row[0], where=where)
        try:
            f = float(row[1])
        except ValueError:
            raise ParameterError(f"{where}frequency {row[1]!r} is not a number") from None
        if not (40.0 <= f <= 70.0):
            raise ParameterError(
                f"{where}frequency {f:g} is not near 50 or 60 Hz: the column must be the "
                "frequency in Hz (not a deviation in mHz, not kHz)")
        if times and t < times[-1]:
            raise ParameterError(f"{where}time {row[0].strip()} goes backwards")
        times.append(t)
        values.append(f)
    if len(values) < 60:
        raise ParameterError(f"{path}: {len(values)} values; a grid log needs at least a "
                             "minute of them")
    return from_samples(times, np.array(values))


def _looks_time(text: str) -> bool:
    try:
        parse_time(text)
    except ParameterError:
        return False
    return True


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def from_samples(times: list[dt.datetime], values: np.ndarray) -> GridLog:
    """Average samples at any rate into whole seconds; interpolate short gaps only."""
    start = times[0].replace(microsecond=0)
    secs = np.array([(t - start).total_seconds() for t in times])
    idx = np.floor(secs).astype(np.int64)
    n = int(idx[-1]) + 1
    total = np.bincount(idx, weights=values, minlength=n)
    count = np.bincount(idx, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        freq = np.where(count > 0, total / count, np.nan)
    # coarse logs (one value per minute, say): interpolate between samples if they are
    # regularly spaced by more than a second, otherwise fill gaps up to MAX_FILL only
    step = np.median(np.diff(np.unique(idx))) if len(np.unique(idx)) > 1 else 1
    fill = max(MAX_FILL, int(step) + 1)
    return GridLog(start, _fill_gaps(freq, fill))


def _fill_gaps(freq: np.ndarray, longest: int) -> np.ndarray:
    good = np.flatnonzero(np.isfinite(freq))
    out = freq.copy()
    if len(good) < 2:
        return out
    gaps = np.flatnonzero(np.diff(good) > 1)
    for g in gaps:
        a, b = good[g], good[g + 1]
        if b - a - 1 <= longest:
            out[a + 1:b] = np.interp(np.arange(a + 1, b), [a, b], [freq[a], freq[b]])
    return out


def from_trace(start: dt.datetime, t: np.ndarray, freq: np.ndarray) -> GridLog:
    """A log from an ENF trace of a mains reference recording that began at ``start``."""
    whole = np.arange(int(np.ceil(t[-1])) + 1)
    values = np.interp(whole, t, freq, left=np.nan, right=np.nan)
    return GridLog(start, values)
