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
from purport.textfile import long_line, read_text

MAX_FILL = 5  # seconds of gap filled by interpolation
#: A value this far (Hz) from the log's nominal 50 or 60 Hz is refused: real grids stay within
#: 0.5 Hz (a 60.01 Hz row in a 50 Hz log is another log's, or a typo).
MAX_OFF_NOMINAL = 1.0
#: Longest log one file may cover (days): a quarter, 7.9 M seconds (63 MB as float64); a
#: year at one value a second is more than one process should parse at once.
MAX_LOG_DAYS = 92
#: Largest CSV read (bytes): a quarter of 1-s rows is about 250 MB.
MAX_CSV_BYTES = 256 * 1024**2
MAX_LINE_CHARS = 1000   # a grid log's lines are about 30 characters


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
            raise ParameterError(f"{where}bad timestamp {text[:60]!r}")
        return dt.datetime.fromtimestamp(value, tz=dt.UTC)
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ParameterError(f"{where}bad timestamp {text[:60]!r} (want ISO 8601 like "
                             "2024-03-01T12:00:00Z, or Unix seconds)") from None
    t = t if t.tzinfo else t.replace(tzinfo=dt.UTC)
    if not _EARLIEST <= t < _LATEST:
        raise ParameterError(f"{where}timestamp {text[:60]!r} is not between 1970 and 2100")
    return t


_EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


def read_csv(path: str | Path) -> GridLog:
    """A ``timestamp,frequency_hz`` CSV (a header row is optional) as a 1 Hz log.

    Refuses in one line, with the line number: unparseable times; times that repeat or go
    backwards; frequencies that are not finite numbers, not near 50 or 60 Hz (mHz
    deviations or kHz by mistake), or more than ``MAX_OFF_NOMINAL`` Hz from the log's
    nominal frequency (50 or 60 Hz, from the median of its values: real grids stay within
    0.5 Hz); and files that cover less than a minute, hold fewer than 60 values, span more
    than ``MAX_LOG_DAYS`` days, are larger than ``MAX_CSV_BYTES`` or are not text.
    """

    path = Path(path)
    text = read_text(path, what="a grid log (CSV of timestamp,frequency_hz)",
                     max_bytes=MAX_CSV_BYTES)
    n = long_line(text, MAX_LINE_CHARS)
    if n is not None:
        raise ParameterError(f"{path}:{n}: a line longer than {MAX_LINE_CHARS} characters: "
                             "want timestamp,frequency_hz")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    times: list[dt.datetime] = []
    values: list[float] = []
    lines: list[int] = []
    first = True
    try:
        for row in reader:
            n = reader.line_num
            if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
                continue
            header, first = first, False
            if len(row) < 2:
                raise ParameterError(f"{path}:{n}: want two columns, timestamp,frequency_hz")
            if header and not _looks_numeric(row[1]) and not _looks_time(row[0]):
                continue
            where = f"{path}:{n}: "
            t = parse_time(row[0], where=where)
            try:
                f = float(row[1])
            except ValueError:
                raise ParameterError(f"{where}frequency {row[1][:40]!r} is not a number") \
                    from None
            if not math.isfinite(f):
                raise ParameterError(f"{where}frequency {row[1].strip()[:40]!r} is not a "
                                     "finite number (leave the row out: a gap is allowed)")
            if not (40.0 <= f <= 70.0):
                raise ParameterError(
                    f"{where}frequency {f:g} is not near 50 or 60 Hz: the column must be the "
                    "frequency in Hz (not a deviation in mHz, not kHz)")
            if times and t == times[-1]:
                raise ParameterError(f"{where}time {row[0].strip()} repeats the previous row's")
            if times and t < times[-1]:
                raise ParameterError(f"{where}time {row[0].strip()} goes backwards")
            if times and (t - times[0]).total_seconds() > MAX_LOG_DAYS * 86400:
                raise ParameterError(f"{where}the log runs past {MAX_LOG_DAYS} days from its "
                                     "first time: import it in parts")
            times.append(t)
            values.append(f)
            lines.append(n)
    except csv.Error as exc:
        raise ParameterError(f"{path}:{reader.line_num}: not CSV ({exc})") from None
    if len(values) < 60:
        raise ParameterError(f"{path}: {len(values)} values; a grid log needs at least a "
                             "minute of them")
    covered = (times[-1] - times[0]).total_seconds()
    if covered < 59:
        raise ParameterError(f"{path}: its times cover {covered:g} s; a grid log needs at "
                             "least a minute")
    freq = np.array(values)
    median = float(np.median(freq))
    nominal = 60 if median > 55 else 50
    off = np.flatnonzero(np.abs(freq - nominal) > MAX_OFF_NOMINAL)
    if len(off):
        i = int(off[0])
        raise ParameterError(
            f"{path}:{lines[i]}: frequency {freq[i]:g} Hz is {abs(freq[i] - nominal):.2f} Hz "
            f"from the log's nominal {nominal} Hz (its median is {median:.3f} Hz); values "
            f"more than {MAX_OFF_NOMINAL:g} Hz off are refused: real grids stay within 0.5 Hz")
    return from_samples(times, freq)


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
