"""Islamic holidays on the Gregorian calendar, for reports that date a release by one
("released on the first day of Eid al-Adha", "during Ramadan").

Dates come from the Umm al-Qura calendar (``hijridate``), which Saudi Arabia publishes and
most reporting follows. Other countries start a month by sighting the moon and may be a
day off either way, so every window here is widened by ``SIGHTING_SLACK`` days at each end
and says so: a holiday dates a release to a window, not a day.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from hijridate import Gregorian, Hijri

#: days a country's moon sighting may differ from Umm al-Qura, each way
SIGHTING_SLACK = 1

#: (Hijri month, first day, last day) of each holiday as named in English reporting
HOLIDAYS: dict[str, tuple[int, int, int]] = {
    "ramadan": (9, 1, 29),          # 29 or 30 days: the 30th is in the slack
    "eid al-fitr": (10, 1, 3),
    "eid al-adha": (12, 10, 13),
    "day of arafah": (12, 9, 9),
    "islamic new year": (1, 1, 1),
    "ashura": (1, 10, 10),
    "mawlid": (3, 12, 12),
}
ALIASES = {
    "eid al fitr": "eid al-fitr", "eid ul-fitr": "eid al-fitr", "eid-ul-fitr": "eid al-fitr",
    "eid al adha": "eid al-adha", "eid ul-adha": "eid al-adha", "eid-ul-adha": "eid al-adha",
    "eid al-adha holiday": "eid al-adha", "feast of the sacrifice": "eid al-adha",
    "arafat day": "day of arafah", "day of arafat": "day of arafah",
    "hijri new year": "islamic new year", "muharram": "islamic new year",
    "ramazan": "ramadan", "holy month": "ramadan", "fasting month": "ramadan",
}
PATTERN = re.compile(
    r"\b(?:(?P<ordinal>first|second|third|last) day of |eve of (?:the )?)?(?:the )?"
    r"(?P<name>" + "|".join(sorted((re.escape(n) for n in [*HOLIDAYS, *ALIASES]),
                                   key=len, reverse=True)) + r")\b", re.I)


@dataclass(frozen=True)
class HolidayWindow:
    """When a named holiday fell in a year: a window of days, with how it was computed."""

    name: str
    first: dt.date
    last: dt.date
    source: str
    #: the Umm al-Qura day, when the name is one day ("the first day of Eid al-Adha")
    calendar_day: dt.date | None = None

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def window(name: str, year: int, *, ordinal: str | None = None,
           eve: bool = False) -> HolidayWindow | None:
    """The days ``name`` (e.g. "Eid al-Adha", "first day of Eid al-Fitr") fell on in the
    Gregorian ``year`` (the occurrence that starts in it), widened by the sighting slack;
    None for a name this module does not know."""
    key = ALIASES.get(name.lower().strip(), name.lower().strip())
    if key not in HOLIDAYS:
        return None
    month, first_day, last_day = HOLIDAYS[key]
    if ordinal:
        offset = {"first": 0, "second": 1, "third": 2}.get(ordinal.lower())
        first_day = last_day = first_day + offset if offset is not None else last_day
    hijri_year = Gregorian(year, 1, 1).to_hijri().year
    for hy in (hijri_year, hijri_year + 1):
        start = _date(Hijri(hy, month, first_day).to_gregorian())
        if start.year == year:
            end = _date(Hijri(hy, month, last_day).to_gregorian())
            if eve:
                start = end = start - dt.timedelta(days=1)
            slack = dt.timedelta(days=SIGHTING_SLACK)
            label = (f"{'eve of ' if eve else ''}{ordinal + ' day of ' if ordinal else ''}"
                     f"{key}")
            return HolidayWindow(name=label, first=start - slack, last=end + slack,
                                 source=f"Umm al-Qura calendar ({hy} AH), ±{SIGHTING_SLACK} "
                                        "day for moon sighting",
                                 calendar_day=start if start == end else None)
    return None


def _date(day) -> dt.date:
    return dt.date(day.year, day.month, day.day)


def mentioned(text: str, year: int) -> list[HolidayWindow]:
    """Every holiday ``text`` names, as its window in ``year`` (the report's year)."""
    found = []
    for m in PATTERN.finditer(text):
        w = window(m.group("name"), year, ordinal=m.group("ordinal"),
                   eve=m.group(0).lower().startswith("eve"))
        if w is not None:
            found.append(w)
    return found
