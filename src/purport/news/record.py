"""Press reports into the archive, and the speaker's record: releases, reports, recordings, checks.

Reads and writes only through :class:`purport.archive.Archive`; extraction itself is in
``extract.py``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
from pathlib import Path
from typing import Any

from purport.archive import Archive
from purport.errors import ParameterError, PurportError
from purport.news.extract import Extractor, Record, read_article

ARTICLE_SUFFIXES = {".txt", ".html", ".htm", ".md"}


def _speakers(archive: Archive | None) -> dict[str, list[str]]:
    if archive is None:
        return {}
    return {s.name: s.aliases for s in archive.speakers()}


def extract_file(path: str | Path, *, published: str | None = None, outlet: str | None = None,
                 url: str | None = None, archive: Archive | None = None) -> Record:
    """``purport news extract``: one article's record, nothing stored."""
    article = read_article(path)
    when = published or article.get("published")
    try:
        date = dt.date.fromisoformat(when) if when else None
    except ValueError:
        raise ParameterError(f"--published wants YYYY-MM-DD, not {when!r}") from None
    rec = Extractor(speakers=_speakers(archive)).extract(
        article["text"], published=date, outlet=outlet or article.get("site"),
        title=article.get("title"), url=url or article.get("url"))
    return rec


def article_files(paths: list[str | Path]) -> list[Path]:
    """Files named, and article files inside folders named (sorted)."""
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.iterdir() if f.suffix.lower() in ARTICLE_SUFFIXES)
        elif p.exists():
            out.append(p)
        else:
            raise ParameterError(f"{p}: no such file or folder")
    if not out:
        raise ParameterError("no article files found")
    return out


def add_reports(archive: Archive, paths: list[str | Path], *,
                meta: str | Path | None = None) -> list[dict[str, Any]]:
    """``purport news add``: extract and file every article, in one transaction.

    ``meta``: a JSON object mapping file names to {"published", "outlet", "url"}.
    A report of a release is linked to the speaker's release of that day (merged with
    other outlets' reports of it), created if new; other reports are stored as such.
    """
    sidecar: dict[str, dict[str, str]] = {}
    if meta is not None:
        try:
            sidecar = json.loads(Path(meta).read_text())
        except (OSError, ValueError) as exc:
            raise ParameterError(f"{meta}: not a JSON object of file -> metadata ({exc})") \
                from exc
    files = article_files(paths)
    results = []
    with archive.transaction() as txn:
        for i, path in enumerate(files, 1):
            m = sidecar.get(path.name, {})
            try:
                rec = extract_file(path, published=m.get("published"), outlet=m.get("outlet"),
                                   url=m.get("url"), archive=archive)
            except PurportError as exc:
                raise type(exc)(f"article {i} of {len(files)} ({path.name}) failed, nothing "
                                f"was added: {exc}") from exc
            if rec.speaker and rec.speaker not in _speakers(archive):
                known = [s for s, aliases in _speakers(archive).items()
                         if rec.speaker.lower() in (a.lower() for a in aliases)]
                if known:
                    rec.speaker = known[0]
                else:
                    archive.add_speaker(rec.speaker, txn=txn)
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            report_id, created = archive.add_report(
                sha256=digest, name=path.name, facts=rec.to_dict(),
                is_release_report=rec.is_release_report, speaker=rec.speaker, url=rec.url,
                outlet=rec.outlet,
                published=dt.date.fromisoformat(rec.published) if rec.published else None,
                title=rec.title, txn=txn)
            release_id = None
            if created and rec.is_release_report and rec.speaker and rec.release_date:
                release_id, _ = archive.file_report_release(
                    report_id, speaker=rec.speaker,
                    date=dt.date.fromisoformat(rec.release_date), medium=rec.medium,
                    outlet=rec.media_outlet, channels=rec.channels,
                    duration_minutes=rec.duration_minutes, txn=txn)
            results.append({"file": path.name, "report_id": report_id,
                            "status": "added" if created else "already present",
                            "is_release_report": rec.is_release_report,
                            "speaker": rec.speaker, "release_date": rec.release_date,
                            "release_id": release_id})
    return results


def _check_previous(claim: dict[str, Any] | None, previous: dict[str, Any] | None) -> str | None:
    """A report's claim about the previous release against the record."""
    if not claim:
        return None
    said = f"says {claim['phrase']!r} ({claim['date']})"
    if previous is None:
        return f"{said}; the record holds no earlier release"
    got = previous["date"]
    if claim.get("precision") == "month":
        agrees = got.startswith(claim["date"])
    else:  # "about a year before": within three months of the claim's date
        claimed = dt.date.fromisoformat(claim["date"] + "-15")
        agrees = abs((dt.date.fromisoformat(got) - claimed).days) <= 92
    return f"{said}; record {'agrees' if agrees else 'disagrees'}: {got}"


def record(archive: Archive, speaker: str) -> dict[str, Any]:
    """``purport record``: the speaker's releases in date order with reports and checks."""
    who = archive.speaker(speaker)
    releases = [r for r in archive.releases(speaker=who.id) if r.date is not None]
    recordings = {r.id: r for r in archive.recordings(speaker=who.id)}
    out = []
    previous = None
    for rel in releases:
        reps = archive.reports(release_id=rel.id)
        entry = {
            "release_id": rel.id, "date": rel.date.isoformat(),
            "weekday": rel.date.strftime("%A"), "medium": rel.medium,
            "media_outlet": rel.outlet, "channels": rel.channels,
            "duration_minutes": rel.duration_minutes,
            "gap_days": (rel.date - dt.date.fromisoformat(previous["date"])).days
            if previous else None,
            "reports": [{"report_id": r["id"], "name": r["name"], "outlet": r["outlet"],
                         "published": r["published"].isoformat() if r["published"] else None,
                         "title": r["title"], "url": r["url"],
                         "unverified": r["facts"].get("unverified"),
                         "hedges": r["facts"].get("hedges", []),
                         "previous_release_claim": r["facts"].get("previous_release")}
                        for r in reps],
            "recordings": [{"recording_id": i, "name": recordings[i].name,
                            "role": recordings[i].role, "sha256": recordings[i].sha256}
                           for i in rel.recording_ids if i in recordings],
        }
        entry["checks"] = [c for c in (_check_previous(r["previous_release_claim"], previous)
                                       for r in entry["reports"]) if c]
        out.append(entry)
        previous = entry
    return {"speaker": who.name, "aliases": who.aliases, "releases": out,
            "method": ("Releases filed from recordings (purport add --released) and from press "
                       "reports (purport news add), one release per speaker per day across "
                       "outlets; each report's claim about the previous release is checked "
                       "against the releases before it in this record."),
            "limits": ("The record holds only what was added: a missing release makes the "
                       "next one's gap and checks wrong. Facts come from the press, which "
                       "can be wrong; each is shown with the report that states it.")}


def record_html(data: dict[str, Any]) -> str:
    """The record as one self-contained HTML page (no scripts, no external files)."""
    e = html.escape
    rows = []
    for r in data["releases"]:
        reports = "".join(
            f"<li>{e(p['outlet'] or p['name'])}, {e(p['published'] or '?')}"
            f"{' — <b>could not verify</b>' if p['unverified'] else ''}"
            f"{' — ' + e(', '.join(p['hedges'])) if p['hedges'] else ''}</li>"
            for p in r["reports"])
        recs = "".join(f"<li>recording {x['recording_id']}: {e(x['name'])} ({e(x['role'])})</li>"
                       for x in r["recordings"])
        checks = "".join(f"<li>{e(c)}</li>" for c in r["checks"])
        gap = f"{r['gap_days']} days after the previous" if r["gap_days"] is not None else \
            "first in the record"
        facts = ", ".join(x for x in (r["medium"], r["media_outlet"],
                                      ", ".join(r["channels"]) or None,
                                      f"{r['duration_minutes']:g} min"
                                      if r["duration_minutes"] else None) if x)
        rows.append(f"<section><h2>{e(r['date'])} ({e(r['weekday'])})</h2>"
                    f"<p>{e(facts or 'no details stated')} · {e(gap)}</p>"
                    f"<h3>Reports</h3><ul>{reports or '<li>none</li>'}</ul>"
                    f"<h3>Recordings in the archive</h3><ul>{recs or '<li>none</li>'}</ul>"
                    f"{'<h3>Checks</h3><ul>' + checks + '</ul>' if checks else ''}</section>")
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>Record: {e(data['speaker'])}</title><style>"
            "body{font:15px/1.45 system-ui,sans-serif;max-width:52rem;margin:2rem auto;"
            "padding:0 1rem;color:#222}section{border-left:3px solid #456;padding:.2rem 1rem;"
            "margin:1.2rem 0}h2{margin:.2rem 0;font-size:1.1rem}h3{font-size:.9rem;"
            "margin:.6rem 0 .2rem;color:#555}ul{margin:.2rem 0}.lim{color:#555;font-size:.9rem}"
            "</style></head><body>"
            f"<h1>Record: {e(data['speaker'])}</h1>"
            f"<p class='lim'>{e(data['method'])} {e(data['limits'])}</p>"
            f"{''.join(rows) or '<p>No releases in the record.</p>'}</body></html>")
