"""Press reports into the archive, and the speaker's record read from it.

Reads and writes only through :class:`purport.archive.Archive`; extraction and the
timeline itself are pure (:mod:`purport.news`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from purport.archive import Archive, Recording
from purport.errors import PurportError
from purport.news import span
from purport.news.events import press_events
from purport.news.extract import Record
from purport.news.record import article_files, extract_article, read_meta, timeline
from purport.timing import content


def _speakers(archive: Archive | None) -> dict[str, list[str]]:
    if archive is None:
        return {}
    return {s.name: s.aliases for s in archive.speakers()}


def extract_file(path: str | Path, *, published: str | None = None, outlet: str | None = None,
                 url: str | None = None, archive: Archive | None = None) -> Record:
    """``purport news extract``: one article's record, nothing stored; speakers resolve
    against the archive's when one is given."""
    return extract_article(path, published=published, outlet=outlet, url=url,
                           speakers=_speakers(archive))


def add_reports(archive: Archive, paths: list[str | Path], *,
                meta: str | Path | None = None,
                facts: dict[str, dict[str, str]] | None = None) -> list[dict[str, Any]]:
    """``purport news add``: extract and file every article, in one transaction.

    ``meta``: a JSON object mapping file names to {"published", "outlet", "url"}; ``facts``
    the same mapping given directly (``--published`` and friends for one file).
    A report of a release is linked to the speaker's release it describes (merged with
    other outlets' reports of it by :func:`purport.news.span.same_release`), created if
    new, dated as precisely as the text allows; other reports are stored as such. An
    article filed before is re-filed when it now comes with a publication date.
    """
    sidecar = read_meta(meta) if meta is not None else dict(facts or {})
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
            report_id, status = archive.add_report(
                sha256=digest, name=path.name, facts=rec.to_dict(),
                is_release_report=rec.is_release_report, speaker=rec.speaker, url=rec.url,
                outlet=rec.outlet,
                published=dt.date.fromisoformat(rec.published) if rec.published else None,
                title=rec.title, txn=txn)
            when = span.from_record(rec.to_dict())
            release_id = None
            if status != "already present" and rec.is_release_report and rec.speaker and when:
                release_id, _ = archive.file_report_release(
                    report_id, speaker=rec.speaker, span=when, medium=rec.medium,
                    outlet=rec.media_outlet, channels=rec.channels,
                    duration_minutes=rec.duration_minutes, txn=txn)
            results.append({"file": path.name, "report_id": report_id, "status": status,
                            "is_release_report": rec.is_release_report,
                            "speaker": rec.speaker, "release_date": rec.release_date,
                            "span": when.to_dict() if when else None,
                            "when": when.describe() if when else None,
                            "published": rec.published, "release_id": release_id})
    return results


def press_catalog(archive: Archive) -> list[content.Event]:
    """The dated events the archive's press reports state, as an events catalog for content
    dating; each cites its report and sentence."""
    catalog = []
    for r in archive.reports():
        report = {"id": r["id"], "name": r["name"], "outlet": r["outlet"], "url": r["url"],
                  "published": r["published"].isoformat() if r["published"] else None}
        for e in press_events(dict(r["facts"] or {}), report):
            where = (f"report {r['id']} ({r['name']}, {r['outlet'] or 'outlet unknown'}, "
                     f"published {report['published']}): {e.how}")
            catalog.append(content.Event(date=e.date, title=e.sentence, keywords=e.keywords,
                                         source=where))
    return catalog


def record(archive: Archive, speaker: str, *,
           recordings: Sequence[Recording] | None = None) -> dict[str, Any]:
    """``purport record``: the speaker's releases in date order with reports and checks.

    ``recordings`` is the archive's list when the caller already holds it (``verify``
    reads it once for every question).
    """
    who = archive.speaker(speaker)
    releases = archive.releases(speaker=who.id)
    if recordings is None:
        recordings = archive.recordings(speaker=who.id)
    by_id = {r.id: r for r in recordings if r.speaker == who.name}
    return timeline(who.name, who.aliases,
                    [(rel, archive.reports(release_id=rel.id),
                      [by_id[i] for i in rel.recording_ids if i in by_id]) for rel in releases])
