"""A speaker's record from press reports and releases: article files, the timeline, its page.

Pure: files and plain data in, plain data out. Filing reports and reading the record from
the archive is the service layer's work (:mod:`purport.assess.record`).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from purport.csp import content_security_policy
from purport.errors import ParameterError
from purport.news.extract import MONTHS, Extractor, Record, read_article
from purport.timing.content import read_text

ARTICLE_SUFFIXES = {".txt", ".html", ".htm", ".md"}


def extract_article(path: str | Path, *, published: str | None = None,
                    outlet: str | None = None, url: str | None = None,
                    speakers: Mapping[str, list[str]] | None = None) -> Record:
    """One article file's record; ``speakers`` ({name: aliases}) resolves who it is about."""
    article = read_article(path)
    url = url or article.get("url")
    found = [(published, "given"), (article.get("published"), "the page's metadata"),
             (url_date(url), "its URL"), (dateline_date(article["text"]), "its dateline")]
    when, source = next(((w, how) for w, how in found if w), (None, None))
    try:
        date = dt.date.fromisoformat(when) if when else None
    except ValueError:
        raise ParameterError(f"--published wants YYYY-MM-DD, not {when!r}") from None
    rec = Extractor(speakers=dict(speakers or {})).extract(
        article["text"], published=date, outlet=outlet or article.get("site"),
        title=article.get("title"), url=url)
    if source is not None:
        rec.evidence["published_from"] = source
    return rec


URL_DATE = re.compile(r"/((?:19|20)\d\d)[/-](\d{1,2})[/-](\d{1,2})(?:/|[-_]|$)")
DATELINE_DATE = re.compile(
    r"^[A-Z][A-Z .'-]{2,40}(?:,\s*[A-Za-z .'-]{2,30})?,\s+"
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?\s+(\d{1,2}),\s+"
    r"((?:19|20)\d\d)\b", re.M)


def url_date(url: str | None) -> str | None:
    """The publication date a news URL carries (``/2024/08/21/``), or None."""
    m = URL_DATE.search(url or "")
    if not m:
        return None
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
    except ValueError:
        return None


def dateline_date(text: str) -> str | None:
    """The date of a dateline with its year ("NIAMEY, Niger, Sept. 4, 2025 (HPA) -") at
    the head of a line in the article's first lines, or None."""
    m = DATELINE_DATE.search(text[:1500])
    if not m:
        return None
    month = MONTHS[m.group(1).lower()[:3]]
    try:
        return dt.date(int(m.group(3)), month, int(m.group(2))).isoformat()
    except ValueError:
        return None


#: What a ``news add --meta`` file may say of each article.
META_FIELDS = ("published", "outlet", "url")
MAX_META_BYTES = 10 * 1024**2
MAX_META_CHARS = 2000


def read_meta(path: str | Path) -> dict[str, dict[str, str]]:
    """A ``news add --meta`` file: a JSON object mapping article file names to
    ``{"published": "YYYY-MM-DD", "outlet": ..., "url": ...}`` (each optional, or null).

    Anything else is refused in one line naming the file (and the line, for bad JSON).
    """
    path = Path(path)
    shape = 'want a JSON object of file name -> {"published", "outlet", "url"}'
    text = read_text(path, what="a JSON metadata file", max_bytes=MAX_META_BYTES)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParameterError(f"{path}:{exc.lineno}: not JSON ({exc.msg}); {shape}") from None
    except RecursionError:
        raise ParameterError(f"{path}: JSON nested too deeply; {shape}") from None
    if not isinstance(data, dict):
        raise ParameterError(f"{path}: a JSON {_json_type(data)}; {shape}")
    out: dict[str, dict[str, str]] = {}
    for name, entry in data.items():
        where = f"{path}: entry {name[:80]!r}"
        if not isinstance(entry, dict):
            raise ParameterError(f"{where} is a JSON {_json_type(entry)}; {shape}")
        unknown = sorted(set(entry) - set(META_FIELDS))
        if unknown:
            raise ParameterError(f"{where}: unknown field {unknown[0][:40]!r} (known: "
                                 f"{', '.join(META_FIELDS)})")
        fields = {}
        for key, value in entry.items():
            if value is None:
                continue
            if not isinstance(value, str):
                raise ParameterError(f"{where}: {key} is a JSON {_json_type(value)}, not a "
                                     "string")
            if len(value) > MAX_META_CHARS:
                raise ParameterError(f"{where}: {key} is longer than {MAX_META_CHARS} "
                                     "characters")
            fields[key] = value.strip()
        published = fields.get("published")
        if published is not None:
            try:
                dt.date.fromisoformat(published)
            except ValueError:
                raise ParameterError(f"{where}: published {published[:40]!r} is not "
                                     "YYYY-MM-DD") from None
        out[name] = fields
    return out


def _json_type(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "number",
            float: "number", type(None): "null"}.get(type(value), type(value).__name__)


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


def check_previous(claim: dict[str, Any] | None, previous: dict[str, Any] | None) -> str | None:
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


RECORD_METHOD = (
    "Releases filed from recordings (purport add --released) and from press reports "
    "(purport news add) by one rule: one speaker's sources whose dates lie within a day of "
    "each other (and whose medium and weekday agree) are one release; each release is dated "
    "as precisely as its sources allow (a day, a window of days, or only a weekday when no "
    "publication date places it). Each report's claim about the previous release is checked "
    "against the dated releases before it in this record; reports of one release that "
    "disagree are shown side by side.")
RECORD_LIMITS = (
    "The record holds only what was added: a missing release makes the next one's gap and "
    "checks wrong. Facts come from the press, which can be wrong; each is shown with the "
    "report that states it. A release known only by its weekday cannot be merged with "
    "other reports or checked until a publication date places it (purport news add FILE "
    "--published YYYY-MM-DD).")

#: Facts that reports of one release should agree on: (fact key, what it is called).
AGREED_FACTS = (("release_date", "the day"), ("weekday", "the weekday"),
                ("medium", "the medium"), ("media_outlet", "the media outlet"),
                ("duration_minutes", "the length in minutes"))


def contradictions(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Where reports of one release disagree (two outlets giving different lengths or
    days): each fact with every value and the reports that give it. A fact a report does
    not state is no disagreement; lengths within 10 % (or 2 minutes) agree."""
    out = []
    for key, label in AGREED_FACTS:
        said: dict[Any, list[str]] = {}
        for r in reports:
            value = (r.get("facts") or {}).get(key)
            if value in (None, ""):
                continue
            if key == "duration_minutes":
                value = next((v for v in said if abs(v - value) <= max(2.0, 0.1 * v)), value)
            said.setdefault(value, []).append(f"report {r['id']} ({r.get('outlet') or r['name']})")
        if len(said) > 1:
            out.append({"fact": key, "what": label,
                        "values": [{"value": v, "reports": who} for v, who in said.items()]})
    return out


def timeline(speaker: str, aliases: list[str],
             releases: Iterable[tuple[Any, list[dict[str, Any]], list[Any]]]) -> dict[str, Any]:
    """``purport record``: the speaker's releases in date order with reports and checks.

    ``releases``: (release, its reports, its recordings) in date order (undated last), as
    the archive holds them: a release has ``id``, ``date``, ``span``, ``medium``,
    ``outlet``, ``channels`` and ``duration_minutes``; a report is a dict with ``id``,
    ``name``, ``outlet``, ``published``, ``title``, ``url`` and the extracted ``facts``; a
    recording has ``id``, ``name``, ``role`` and ``sha256``.
    """
    out = []
    previous = None
    for rel, reps, recs in releases:
        span = rel.span
        entry = {
            "release_id": rel.id, "date": rel.date.isoformat() if rel.date else None,
            "when": span.describe() if span else "undated",
            "precision": span.precision if span else None,
            "date_basis": span.basis if span else None,
            "span": span.to_dict() if span else None,
            "weekday": rel.date.strftime("%A") if rel.date else span.weekday if span else None,
            "medium": rel.medium, "media_outlet": rel.outlet, "channels": rel.channels,
            "duration_minutes": rel.duration_minutes,
            "gap_days": (rel.date - dt.date.fromisoformat(previous["date"])).days
            if previous and rel.date else None,
            "reports": [{"report_id": r["id"], "name": r["name"], "outlet": r["outlet"],
                         "published": r["published"].isoformat() if r["published"] else None,
                         "title": r["title"], "url": r["url"],
                         "unverified": r["facts"].get("unverified"),
                         "hedges": r["facts"].get("hedges", []),
                         "previous_release_claim": r["facts"].get("previous_release")}
                        for r in reps],
            "recordings": [{"recording_id": x.id, "name": x.name, "role": x.role,
                            "sha256": x.sha256} for x in recs],
            "contradictions": contradictions(reps),
        }
        if rel.date is None:
            entry["checks"] = ["day not known: its gap and the reports' claims about the "
                               "previous release cannot be checked until a publication date "
                               "places it"]
        else:
            entry["checks"] = [c for c in (check_previous(r["previous_release_claim"],
                                                          previous)
                                           for r in entry["reports"]) if c]
            previous = entry
        out.append(entry)
    return {"speaker": speaker, "aliases": aliases, "releases": out,
            "method": RECORD_METHOD, "limits": RECORD_LIMITS}


def describe_contradiction(c: dict[str, Any]) -> str:
    """"reports disagree on the length in minutes: 46 (report 2 (AP)); 30 (report 5 (X))"."""
    said = [(f"{v['value']:g}" if isinstance(v["value"], float) else str(v["value"]))
            + f" ({', '.join(v['reports'])})" for v in c["values"]]
    return f"reports disagree on {c['what']}: " + "; ".join(said)


RECORD_CSS = ("body{font:15px/1.45 system-ui,sans-serif;max-width:52rem;margin:2rem auto;"
              "padding:0 1rem;color:#222}section{border-left:3px solid #456;padding:.2rem 1rem;"
              "margin:1.2rem 0}h2{margin:.2rem 0;font-size:1.1rem}h3{font-size:.9rem;"
              "margin:.6rem 0 .2rem;color:#555}ul{margin:.2rem 0}.lim{color:#555;font-size:.9rem}")


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
        checks = "".join(f"<li>{e(c)}</li>" for c in
                         [*map(describe_contradiction, r["contradictions"]), *r["checks"]])
        gap = f"{r['gap_days']} days after the previous" if r["gap_days"] is not None else \
            "first in the record"
        facts = ", ".join(x for x in (r["medium"], r["media_outlet"],
                                      ", ".join(r["channels"]) or None,
                                      f"{r['duration_minutes']:g} min"
                                      if r["duration_minutes"] else None) if x)
        title = f"{r['date']} ({r['weekday']})" if r["date"] else r["when"]
        basis = f"<p class='lim'>dated from {e(r['date_basis'])}</p>" if r["date_basis"] else ""
        rows.append(f"<section><h2>{e(title)}</h2>{basis}"
                    f"<p>{e(facts or 'no details stated')} · {e(gap)}</p>"
                    f"<h3>Reports</h3><ul>{reports or '<li>none</li>'}</ul>"
                    f"<h3>Recordings in the archive</h3><ul>{recs or '<li>none</li>'}</ul>"
                    f"{'<h3>Checks</h3><ul>' + checks + '</ul>' if checks else ''}</section>")
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta http-equiv='Content-Security-Policy' "
            f"content=\"{content_security_policy(RECORD_CSS)}\">"
            f"<title>Record: {e(data['speaker'])}</title><style>{RECORD_CSS}"
            "</style></head><body>"
            f"<h1>Record: {e(data['speaker'])}</h1>"
            f"<p class='lim'>{e(data['method'])} {e(data['limits'])}</p>"
            f"{''.join(rows) or '<p>No releases in the record.</p>'}</body></html>")
