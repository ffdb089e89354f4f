"""The press as a catalogue of datable events: the context a report states ("fighters
captured the government compound in Ramadi on Friday"), dated from the report itself.

A report's ``context_events`` are its sentences about other happenings that name a day or
a month. Each becomes an event dated by what the sentence says, resolved against the
report's publication date: a weekday is the latest such day on or before publication,
"March 3" the latest March 3 on or before it (or the year given). A sentence that names
only a month gives no day and is left out (content dating needs a day to say "not before").
Every event cites its report and sentence.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from purport.news.extract import DAY_MONTH_RE, WEEKDAY_RE, resolve_day_month, resolve_weekday

#: words too common to key an event on
STOP = {"The", "A", "An", "On", "In", "At", "It", "He", "She", "They", "His", "Her", "Their",
        "This", "That", "Last", "Since", "After", "Before", "When", "While", "But", "And",
        "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
        "January", "February", "March", "April", "May", "June", "July", "August",
        "September", "October", "November", "December"}


@dataclass(frozen=True)
class PressEvent:
    """A happening a report states, with the day it gives and where it says so."""

    date: dt.date
    sentence: str
    keywords: tuple[str, ...]
    how: str          # what in the sentence dated it: "weekday Friday", "date 3 March"
    report: dict[str, Any]  # id, name, outlet, url, published

    def to_dict(self) -> dict[str, Any]:
        return {"date": self.date.isoformat(), "sentence": self.sentence,
                "keywords": list(self.keywords), "how": self.how, "report": self.report}


def date_sentence(sentence: str, published: dt.date) -> tuple[dt.date, str] | None:
    """The day a sentence gives an event, resolved against the report's publication date,
    with what dated it; None when it names no day."""
    m = DAY_MONTH_RE.search(sentence)
    if m:
        day = resolve_day_month(m, published)
        if day is not None:
            return day, f"date {m.group(0).strip()}"
    w = re.search(rf"\b({WEEKDAY_RE})\b", sentence)
    if w:
        day = resolve_weekday(w.group(1), published)
        if re.search(rf"\blast\s+{w.group(1)}\b", sentence) and day == published:
            day -= dt.timedelta(days=7)
        return day, f"weekday {w.group(1)}"
    return None


def keywords(sentence: str) -> tuple[str, ...]:
    """Proper names and numbers of a sentence (lower-cased): what a transcript that refers
    to the same happening is likely to say too."""
    words = re.findall(r"\b[A-Z][\w'’-]{2,}\b", sentence)
    return tuple(dict.fromkeys(w.lower() for w in words if w not in STOP))


def press_events(facts: dict[str, Any], report: dict[str, Any]) -> list[PressEvent]:
    """Dated events of one stored report (its extracted ``facts`` and its identity)."""
    published = report.get("published")
    if isinstance(published, str):
        published = dt.date.fromisoformat(published)
    if published is None:
        return []
    found = []
    for sentence in facts.get("context_events") or []:
        dated = date_sentence(sentence, published)
        if dated is None:
            continue
        found.append(PressEvent(date=dated[0], sentence=sentence, keywords=keywords(sentence),
                                how=dated[1], report=report))
    return found
