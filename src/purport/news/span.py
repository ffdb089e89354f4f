"""When a release came out, as precisely as its sources say, and the one rule that decides
whether two sources (a recording's release date, a report's) describe the same release.

Pure: dates in, dates out. A span is a day ("on Wednesday", published on the 23rd), a window
(a holiday, "this week"), or open (a weekday and no publication date to place it, perhaps
with the earliest day the text allows).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

#: Reports of one release from outlets in different time zones differ by a day at most;
#: releases a few days apart stay apart.
TOLERANCE_DAYS = 1
#: A window wider than this is too vague to merge with a release when several fit it.
WIDE_DAYS = 7


@dataclass(frozen=True)
class Span:
    """The days a release falls in: ``first``..``last`` (either may be unknown), with the
    ``precision`` the source allows ("day", "days", "week", "month", "weekday", "open"),
    the ``weekday`` it names, and ``basis``: how the span was obtained."""

    first: dt.date | None
    last: dt.date | None
    precision: str
    basis: str
    weekday: str | None = None

    @classmethod
    def day(cls, day: dt.date, basis: str) -> Span:
        return cls(day, day, "day", basis, calendar.day_name[day.weekday()])

    @property
    def date(self) -> dt.date | None:
        """The day, when the span is one day."""
        return self.first if self.first is not None and self.first == self.last else None

    @property
    def bounded(self) -> bool:
        return self.first is not None and self.last is not None

    @property
    def width(self) -> int | None:
        return (self.last - self.first).days + 1 if self.bounded else None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["first"] = self.first.isoformat() if self.first else None
        d["last"] = self.last.isoformat() if self.last else None
        return d

    def describe(self) -> str:
        """In words: "2018-08-22", "between 2018-08-20 and 2018-08-22", "a Saturday, not
        before 2014-06-01 (date not stated)"."""
        if self.date:
            return self.date.isoformat()
        if self.bounded:
            return f"between {self.first.isoformat()} and {self.last.isoformat()}"
        parts = [f"a {self.weekday}" if self.weekday else "undated"]
        if self.first:
            parts.append(f"not before {self.first.isoformat()}")
        if self.last:
            parts.append(f"not after {self.last.isoformat()}")
        return ", ".join(parts) + " (day not known)"


def from_record(rec: dict[str, Any]) -> Span | None:
    """A report's span, from the release date or window ``news extract`` gives it."""
    w = rec.get("release_window")
    if w and w.get("likely") and w.get("from") and w.get("to"):
        # a holiday's one day as its calendar gives it, the moon-sighting days around it
        return Span(dt.date.fromisoformat(w["from"]), dt.date.fromisoformat(w["to"]),
                    w["precision"], w.get("source") or "the text", None)
    if rec.get("release_date"):
        day = dt.date.fromisoformat(rec["release_date"])
        return Span.day(day, (w or {}).get("source") or "the text")
    if not w:
        return None
    first = dt.date.fromisoformat(w["from"]) if w.get("from") else None
    last = dt.date.fromisoformat(w["to"]) if w.get("to") else None
    return Span(first, last, w["precision"], w.get("source") or "the text",
                w.get("weekday") or rec.get("weekday"))


def _weekday_fits(s: Span, weekday: str | None) -> bool:
    """Could a day of span ``s`` be ``weekday``?"""
    if weekday is None or not s.bounded or s.width >= 7:
        return True
    days = (s.first + dt.timedelta(days=i) for i in range(s.width))
    return any(calendar.day_name[d.weekday()] == weekday for d in days)


def distance(a: Span, b: Span) -> int | None:
    """Days between two spans (0 when they overlap), or None when either is open."""
    if not (a.bounded and b.bounded):
        return None
    return max(0, (a.first - b.last).days, (b.first - a.last).days)


def same_release(a: Span, b: Span, *, medium_a: str | None = None,
                 medium_b: str | None = None) -> bool:
    """The clustering rule for recordings and reports: one speaker's sources describe the
    same release when their spans are both placed and lie within ``TOLERANCE_DAYS`` of each
    other, the mediums (where both are known) agree, and a weekday either names fits the
    other's span. An open span (no publication date) merges with nothing: a weekday alone
    cannot say which release it was."""
    if medium_a and medium_b and medium_a != medium_b:
        return False
    d = distance(a, b)
    if d is None or d > TOLERANCE_DAYS:
        return False
    # a day apart is time zones; overlapping, a weekday either names must fit the other
    return d > 0 or (_weekday_fits(b, a.weekday) and _weekday_fits(a, b.weekday))


def narrow(held: Span, new: Span) -> Span:
    """The release's span once a new source of the same release is merged: the days both
    allow (the narrower one's when they only touch within the tolerance)."""
    if not (held.bounded and new.bounded):
        return held if held.bounded else new
    first, last = max(held.first, new.first), min(held.last, new.last)
    if first > last:  # a day apart: time zones; keep the narrower
        return held if held.width <= new.width else new
    if (first, last) == (held.first, held.last):
        return held
    if (first, last) == (new.first, new.last):
        return new
    weekday = held.weekday or new.weekday
    if first == last:
        return Span(first, last, "day", f"{held.basis}; {new.basis}",
                    calendar.day_name[first.weekday()])
    return Span(first, last, "days", f"{held.basis}; {new.basis}", weekday)


def choose(span: Span, candidates: list[tuple[Any, Span]], *, medium: str | None = None,
           medium_of: Any = None) -> Any | None:
    """Which of ``candidates`` ((key, span) of the speaker's releases) ``span`` belongs to, by
    :func:`same_release`: the nearest; none when a window wider than ``WIDE_DAYS`` fits
    several (it cannot say which)."""
    fits = [(k, s) for k, s in candidates
            if same_release(span, s, medium_a=medium,
                            medium_b=medium_of(k) if medium_of else None)]
    if not fits:
        return None
    if len(fits) > 1 and (span.width or 0) > WIDE_DAYS:
        return None
    fits.sort(key=lambda ks: (distance(span, ks[1]), ks[1].width or 0))
    return fits[0][0]
