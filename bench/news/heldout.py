"""Held-out news sets for issue 16: field accuracy of `purport news` on articles written
blind to the extractor, scored as a user runs it.

    .venv/bin/python bench/news/heldout.py bench/news/heldout_a.json [--label before] [--save]

Each article is written to a file (.html when the set gives HTML, else .txt) and read by
``purport.news.record.extract_article`` with the publication date only when the page
states it (``--published``, as a user would type it); the set's speakers and fictional
outlets are given as the archive and ``$PURPORT_NEWS_VOCAB`` would give them. A field is
right when it equals the expected value; channels compare as sets, with the writers'
"forums" counted as the vocabulary's "websites" (which lists forums), and a written
"statement" as the schema's medium "text" (the writers were asked for that word);
previous_release
compares the claim's date at the precision the text states. ``--save`` appends the scores
under ``--label`` to ``<set>-scores.json`` and rewrites ``<set>-results.md`` beside it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from purport.errors import PurportError
from purport.news.record import extract_article

FIELDS = ["is_release_report", "speaker", "medium", "release_date", "weekday", "media_outlet",
          "channels", "duration_minutes", "unverified", "previous_release", "release_window"]
#: a window may be wider than the writer's by the holiday calendar's moon-sighting slack
WINDOW_SLACK_DAYS = 2
CHANNEL_ALIASES = {"forums": "websites"}
#: the writers were asked for "statement"; the record schema calls a written one "text"
MEDIUM_ALIASES = {"statement": "text"}


def _channels(values) -> list[str]:
    return sorted({CHANNEL_ALIASES.get(v, v) for v in (values or [])})


def _window(rec, want: dict):
    """The extractor's window as [from, to] (a day's window as that day's), for scoring
    against the writer's window, or against the day when the writer gives a day."""
    w = rec.release_window
    if not w:
        return None
    return [w["from"], w["to"]]


def right(field: str, got, want) -> bool:
    if field == "release_window":
        if want is None:
            return True  # scored only where the writer gives a window
        if got is None:
            return False
        import datetime as _dt
        g0, g1, w0, w1 = (_dt.date.fromisoformat(x) for x in (*got, *want))
        return g0 <= w0 and g1 >= w1 and ((w0 - g0) + (g1 - w1)).days <= WINDOW_SLACK_DAYS
    if field == "channels":
        return _channels(got) == _channels(want)
    if field == "medium":
        return MEDIUM_ALIASES.get(want, want) == got
    if field == "duration_minutes" and got is not None and want is not None:
        return abs(float(got) - float(want)) < 0.5
    return got == want


def extract(case: dict, speakers: dict, folder: Path):
    kind = "html" if case.get("html") else "text"
    path = folder / f"{case['id']}.{'html' if kind == 'html' else 'txt'}"
    path.write_text(case[kind], encoding="utf-8")
    return extract_article(path, published=case.get("published"), url=case.get("url"),
                           speakers=speakers)


def score(set_path: Path) -> dict:
    data = json.loads(set_path.read_text())
    folder = Path(tempfile.mkdtemp())
    vocab = folder / "vocab.json"
    vocab.write_text(json.dumps(data.get("vocab", {})))
    os.environ["PURPORT_NEWS_VOCAB"] = str(vocab)
    per_field = dict.fromkeys(FIELDS, 0)
    misses, invented, failed = [], [], []
    distractors = [c for c in data["articles"] if not c["expected"]["is_release_report"]]
    rejected = 0
    for case in data["articles"]:
        want = case["expected"]
        try:
            rec = extract(case, data["speakers"], folder)
        except PurportError as exc:
            failed.append(f"{case['id']}: {exc}")
            for f in FIELDS:
                misses.append(f"- {case['id']} {f}: refused ({exc})")
            continue
        if not want["is_release_report"] and not rec.is_release_report:
            rejected += 1
        for f in FIELDS:
            got = _window(rec, want) if f == "release_window" else getattr(rec, f)
            if f == "previous_release":
                got = got["date"] if got else None
            if not want["is_release_report"] and f != "is_release_report":
                continue  # a distractor is scored on being rejected only
            if right(f, got, want[f]):
                per_field[f] += 1
            else:
                misses.append(f"- {case['id']} {f}: got {got!r}, want {want[f]!r}")
                if want[f] in (None, [], False):
                    invented.append(f"{case['id']} {f}")
    n_release = sum(1 for c in data["articles"] if c["expected"]["is_release_report"])
    return {"set": set_path.name, "n": len(data["articles"]), "n_release_reports": n_release,
            "n_distractors": len(distractors), "distractors_rejected": rejected,
            "fields": per_field, "misses": misses, "invented": invented, "failed": failed}


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def results_md(set_path: Path, runs: list[dict]) -> str:
    data = json.loads(set_path.read_text())
    lines = [f"# {set_path.stem}: held-out news extraction", "",
             data.get("about", ""), "",
             f"Regenerate: `.venv/bin/python bench/news/heldout.py bench/news/{set_path.name}"
             " --label LABEL --save`. "
             "is_release_report counts every article (distractors must be rejected); the other "
             "fields count the release reports only.", ""]
    head = "| field | " + " | ".join(f"{r['label']} ({r['commit']}, {r['date']})"
                                      for r in runs) + " |"
    lines += [head, "|---|" + "---|" * len(runs)]
    for f in FIELDS:
        total = runs[0]["n"] if f == "is_release_report" else runs[0]["n_release_reports"]
        if f == "release_window":
            total = sum(1 for c in data["articles"] if c["expected"].get("release_window")
                        and c["expected"]["is_release_report"])
            lines.append("| release_window (where the writer gives one; a wider window by "
                         f"at most {WINDOW_SLACK_DAYS} days counts) | " + " | ".join(
                             "–" if f not in r["fields"] else
                             f"{r['fields'][f] - (r['n_release_reports'] - total)}/{total}"
                             for r in runs) + " |")
            continue
        cells = [f"{r['fields'][f]}/{total} ({r['fields'][f] / total:.2f})" for r in runs]
        lines.append(f"| {f} | " + " | ".join(cells) + " |")
    lines.append("| distractors rejected | " + " | ".join(
        f"{r['distractors_rejected']}/{r['n_distractors']}" for r in runs) + " |")
    lines.append("| invented values | " + " | ".join(str(len(r["invented"])) for r in runs)
                 + " |")
    for r in runs:
        lines += ["", f"## Misses: {r['label']}", ""] + (r["misses"] or ["none"])
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("set", type=Path)
    ap.add_argument("--label", default="now")
    ap.add_argument("--save", action="store_true")
    args = ap.parse_args(argv)
    result = score(args.set)
    result.update(label=args.label, commit=_commit(),
                  date=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                  python=platform.python_version())
    for f in FIELDS:
        total = result["n"] if f == "is_release_report" else result["n_release_reports"]
        print(f"{f:20} {result['fields'][f]:3d}/{total}")
    print(f"distractors rejected {result['distractors_rejected']}/{result['n_distractors']}; "
          f"invented {len(result['invented'])}; refused {len(result['failed'])}")
    if args.save:
        scores = args.set.with_name(args.set.stem + "-scores.json")
        runs = json.loads(scores.read_text()) if scores.exists() else []
        runs = [r for r in runs if r["label"] != args.label] + [result]
        scores.write_text(json.dumps(runs, indent=1) + "\n")
        args.set.with_name(args.set.stem + "-results.md").write_text(
            results_md(args.set.resolve(), runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
