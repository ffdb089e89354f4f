"""Do dateparser's relative and partial dates beat the extractor's own? Measured, not assumed.

    .venv/bin/pip install -e ".[bench]"; .venv/bin/python bench/news/dates.py [--save]

For every article of the written sets with a stated publication date and an expected
previous release, the extractor finds the phrase that says when the previous message came
("first message in eight months", "since June last year", "in early November 2016"); the
phrase's date is then resolved two ways against the publication date: by the extractor's
rules, and by ``dateparser.search.search_dates`` (``RELATIVE_BASE`` the publication date,
``PREFER_DATES_FROM='past'``, English). Finding the phrase is the same for both; only the
resolution differs. A resolution is right when it agrees with the expected month (or year,
where the text gives only a year) at the precision either states. ``--save`` writes
bench/news/dates-results.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from purport.news.extract import Extractor

HERE = Path(__file__).resolve().parent
SETS = ["heldout_final.json", "heldout_a.json", "written.json"]


def _dateparser(phrase: str, published: dt.date) -> str | None:
    from dateparser.search import search_dates

    base = dt.datetime(published.year, published.month, published.day)
    settings = {"RELATIVE_BASE": base, "PREFER_DATES_FROM": "past",
                "PREFER_DAY_OF_MONTH": "first"}
    found = search_dates(phrase, languages=["en"], settings={**settings,
                                                             "REQUIRE_PARTS": ["month"]})
    if found:
        return found[-1][1].date().isoformat()[:7]
    found = search_dates(phrase, languages=["en"], settings=settings)
    return found[-1][1].date().isoformat()[:4] if found else None


def _agrees(want: str, got: str | None) -> bool:
    return got is not None and (got.startswith(want) or want.startswith(got))


def _articles(name: str) -> list[dict]:
    data = json.loads((HERE / name).read_text())
    items = data["articles"] if isinstance(data, dict) else data
    out = []
    for a in items:
        want = a.get("expected", {}).get("previous_release")
        if isinstance(want, dict):
            want = want.get("date")
        if want and a.get("published"):
            out.append({"id": a.get("id") or a.get("name"), "text": a["text"],
                        "published": a["published"], "speaker": a["expected"].get("speaker"),
                        "want": want})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--save", action="store_true")
    args = ap.parse_args()
    lines = ["# Previous-release dates: the extractor's rules against dateparser", "",
             "From `.venv/bin/python bench/news/dates.py --save`. The phrase each article "
             "uses is found by the extractor; only its resolution to a date differs.", "",
             "| set | phrases found | rules right | dateparser right |", "|---|---|---|---|"]
    misses = []
    for name in SETS:
        rows = []
        for a in _articles(name):
            published = dt.date.fromisoformat(a["published"])
            speakers = {a["speaker"]: []} if a["speaker"] else {}
            got = Extractor(speakers=speakers).extract(a["text"], published=published)
            claim = got.previous_release
            if not claim:
                continue
            dp = _dateparser(claim["phrase"], published)
            rows.append((_agrees(a["want"], claim["date"]), _agrees(a["want"], dp)))
            if not rows[-1][1] or not rows[-1][0]:
                misses.append(f"| {name} | {a['id']} | {claim['phrase']!r} | {a['want']} | "
                              f"{claim['date']} | {dp} |")
        lines.append(f"| {name} | {len(rows)} | {sum(r for r, _ in rows)} | "
                     f"{sum(d for _, d in rows)} |")
    lines += ["", "Where either is wrong:", "",
              "| set | article | phrase | expected | rules | dateparser |",
              "|---|---|---|---|---|---|", *misses]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.save:
        (HERE / "dates-results.md").write_text(text)


if __name__ == "__main__":
    sys.exit(main())
