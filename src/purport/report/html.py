"""The Assessment as one self-contained HTML page: inline CSS and SVG, no script, no network
(its Content-Security-Policy, in a <meta>, allows its one stylesheet and nothing else)."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import Any

from purport.assess.verify import Assessment
from purport.csp import content_security_policy

e = html.escape
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"]
CSS = """body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#1d1d1d}h1{font-size:1.5rem}h2{border-bottom:1px solid #ccc;padding-bottom:.2rem;
margin-top:2rem}table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;
padding:.2rem .5rem;text-align:left;font-size:.9rem;vertical-align:top}.muted{color:#555;
font-size:.9rem}.warn{color:#8a4b00}.fig{margin:.6rem 0}code{font-size:.85rem}"""


def _axis(duration: float, width: int, y: int) -> str:
    step = max(1, 10 ** math.floor(math.log10(max(duration, 1))) // 2)
    while duration / step > 12:
        step *= 2
    ticks = []
    t = 0.0
    while t <= duration + 1e-9:
        x = 40 + (width - 60) * t / max(duration, 1e-9)
        ticks.append(f"<line x1='{x:.1f}' y1='{y}' x2='{x:.1f}' y2='{y + 4}' stroke='#555'/>"
                     f"<text x='{x:.1f}' y='{y + 16}' font-size='10' text-anchor='middle'>"
                     f"{t:g}s</text>")
        t += step
    return (f"<line x1='40' y1='{y}' x2='{width - 20}' y2='{y}' stroke='#555'/>"
            + "".join(ticks))


def _x(t: float, duration: float, width: int) -> float:
    return 40 + (width - 60) * t / max(duration, 1e-9)


def reuse_figure(reuse: dict, duration: float, width: int = 900) -> str:
    """The questioned recording as a bar, each re-used span coloured by its source."""
    names = sorted({m["name"] for m in reuse.get("matches", [])})
    colour = {n: COLOURS[i % len(COLOURS)] for i, n in enumerate(names)}
    bars = [f"<rect x='40' y='20' width='{width - 60}' height='26' fill='#eee' stroke='#999'/>"]
    for m in reuse.get("matches", []):
        x0, x1 = _x(m["query_start"], duration, width), _x(m["query_end"], duration, width)
        bars.append(f"<rect x='{x0:.1f}' y='20' width='{max(x1 - x0, 1):.1f}' height='26' "
                    f"fill='{colour[m['name']]}' opacity='.8'><title>{e(m['name'])} "
                    f"{m['ref_start']:.1f}-{m['ref_end']:.1f} s</title></rect>")
    legend = "".join(
        f"<rect x='{40 + 230 * i}' y='76' width='12' height='12' fill='{colour[n]}'/>"
        f"<text x='{56 + 230 * i}' y='86' font-size='11'>{e(n[:32])}</text>"
        for i, n in enumerate(names))
    return (f"<svg class='fig' width='{width}' height='100' role='img' aria-label='re-used "
            f"spans'>{''.join(bars)}{_axis(duration, width, 50)}{legend}</svg>")


def _condition_html(cond: dict) -> str:
    """The condition the voice LR was calibrated in: measured, bucket, validation, bounds."""
    if not cond:
        return ""
    m = cond.get("measured") or {}
    snr = "clean" if m.get("snr_db") is None else f"SNR about {m['snr_db']:.0f} dB"
    band = ("unknown" if m.get("bandwidth_hz") is None
            else f"up to {m['bandwidth_hz'] / 1000:.1f} kHz")
    text = (f"Measured: {m.get('net_speech_seconds', 0):.1f} s of net speech, {snr}, band "
            f"{band}.")
    if cond.get("description"):
        text += f" Calibrated for: {cond['description']}"
        if "cllr" in cond:
            lo, hi = cond["bounds_log10"]
            text += (f" (held-out Cllr {cond['cllr']}, EER {cond['eer']:.1%}; log10 LR "
                     f"bounded to [{lo:+.2f}, {hi:+.2f}])")
        text += "."
    if cond.get("rendering"):
        text += f" Population rendering: {cond['rendering']}."
    return f"<p class='muted'>{e(text)}</p>"


def voice_figure(voice: dict, duration: float, width: int = 900) -> str:
    """log10 LR of each speech window against the claimed speaker (0 = no support)."""
    segs = voice.get("segments") or []
    if not segs:
        return ""
    top = max(3.0, max(abs(s["log10_lr"]) for s in segs))
    h, mid = 140, 70
    items = [f"<line x1='40' y1='{mid}' x2='{width - 20}' y2='{mid}' stroke='#999'/>",
             f"<text x='2' y='14' font-size='10'>+{top:.0f}</text>",
             f"<text x='2' y='{h - 4}' font-size='10'>-{top:.0f}</text>"]
    for s in segs:
        x0, x1 = _x(s["start"], duration, width), _x(s["end"], duration, width)
        y = mid - (mid - 6) * s["log10_lr"] / top
        fill = "#d62728" if s.get("different_voice") else (
            "#2ca02c" if s["log10_lr"] > 0 else "#ff7f0e")
        items.append(f"<rect x='{x0:.1f}' y='{min(y, mid):.1f}' width='{max(x1 - x0 - 1, 1):.1f}'"
                     f" height='{abs(mid - y):.1f}' fill='{fill}' opacity='.55'><title>"
                     f"{s['start']:.1f}-{s['end']:.1f} s: log10 LR {s['log10_lr']:+.2f}</title>"
                     "</rect>")
    return (f"<svg class='fig' width='{width}' height='{h + 30}' role='img' aria-label='voice "
            f"LR per window'>{''.join(items)}{_axis(duration, width, h + 4)}</svg>")


def enf_figure(enf: dict, width: int = 900) -> str:
    """The extracted mains-frequency trace, one value per second, over the grid log's
    frequency at the best placement (when there is one)."""
    trace = enf.get("trace") or []
    reference = enf.get("matched_reference") or []
    values = [v for v in trace if v is not None]
    if len(values) < 2:
        return ""
    values += [v for v in reference if v is not None]
    lo, hi = min(values), max(values)
    span = max(hi - lo, 1e-4)
    t0 = enf.get("trace_start_seconds") or 0.0
    duration = t0 + len(trace)

    def line(series: list, colour: str, width_: float) -> str:
        runs, run = [], []
        for i, v in enumerate(series):
            if v is None:
                runs, run = runs + [run] if run else runs, []
                continue
            run.append(f"{_x(t0 + i, duration, width):.1f},{10 + 110 * (hi - v) / span:.1f}")
        runs += [run] if run else []
        return "".join(f"<polyline points='{' '.join(r)}' fill='none' stroke='{colour}' "
                       f"stroke-width='{width_}'/>" for r in runs if len(r) > 1)

    legend = ("<text x='60' y='158' font-size='11' fill='#1f77b4'>recording's hum</text>"
              + ("<text x='200' y='158' font-size='11' fill='#888'>grid log at the best "
                 "placement</text>" if reference else ""))
    return (f"<svg class='fig' width='{width}' height='162' role='img' aria-label='ENF trace'>"
            f"{line(reference, '#999', 2.2)}{line(trace, '#1f77b4', 1.2)}"
            f"<text x='2' y='14' font-size='10'>{hi:.3f} Hz</text>"
            f"<text x='2' y='124' font-size='10'>{lo:.3f} Hz</text>"
            f"{_axis(duration, width, 124)}{legend}</svg>")


def pieces_figure(enf: dict, duration: float, width: int = 900) -> str:
    """Each ENF piece over its stretch of the recording, with the grid time it was placed
    at (grey: not placed). Empty without ``pieces``."""
    pieces = [p for p in enf.get("pieces") or [] if isinstance(p, Mapping)]
    if not pieces:
        return ""
    items = []
    for i, p in enumerate(pieces):
        x0 = _x(float(p["query_start"]), duration, width)
        x1 = _x(float(p["query_end"]), duration, width)
        placed = bool(p.get("placed"))
        fill = COLOURS[i % len(COLOURS)] if placed else "#bbb"
        at = p.get("recorded_at")
        label = (f"recorded at {at}" if placed else
                 "not placed" + (f" (best guess {at})" if at else ""))
        fmp = p.get("false_match_probability")
        tip = (f"{p['query_start']:.1f}-{p['query_end']:.1f} s: {label}"
               + (f", false-match p {fmp:.1e}" if isinstance(fmp, int | float) else ""))
        items.append(f"<rect x='{x0:.1f}' y='{14 + 22 * (i % 2)}' width='{max(x1 - x0, 1):.1f}'"
                     f" height='18' fill='{fill}' opacity='.75'><title>{e(tip)}</title></rect>"
                     f"<text x='{x0 + 3:.1f}' y='{27 + 22 * (i % 2)}' font-size='10' "
                     f"fill='#fff'>{e((at or 'not placed')[:19] if placed else 'not placed')}"
                     "</text>")
    return (f"<svg class='fig' width='{width}' height='84' role='img' aria-label='ENF pieces'>"
            f"{''.join(items)}{_axis(duration, width, 60)}</svg>")


FAMILIES = ("enf", "background", "channel", "join", "reuse", "voice")
_OLD_SOURCES = {"reuse boundary": "reuse", "self-reuse": "reuse", "voice change": "voice"}


def _family(c: Mapping[str, Any]) -> str:
    """A candidate's family (stored assessments from before the edits package name a
    ``source`` instead)."""
    if c.get("family"):
        return str(c["family"])
    src = str(c.get("source", ""))
    return _OLD_SOURCES.get(src, "enf" if src.startswith("ENF") else "join")


def _rate(c: Mapping[str, Any]) -> str:
    fa = c.get("false_alarms_per_hour")
    return "not measured" if fa is None else f"{fa:.2g} per hour"


def edits_figure(edits: dict, duration: float, width: int = 900) -> str:
    """Candidate edit points on one time axis, one row per detector family; a stretch
    (a drop-out, a repeat) as a bar."""
    cands = edits.get("candidates") or []
    if not cands:
        return ""
    h = 24 * len(FAMILIES) + 10
    items = []
    for i, fam in enumerate(FAMILIES):
        items.append(f"<line x1='40' y1='{14 + 24 * i}' x2='{width - 120}' y2='{14 + 24 * i}' "
                     "stroke='#eee'/>"
                     f"<text x='{width - 18}' y='{18 + 24 * i}' font-size='10' "
                     f"text-anchor='end' fill='#555'>{e(fam)}</text>")
    for c in cands:
        fam = _family(c)
        row = FAMILIES.index(fam) if fam in FAMILIES else len(FAMILIES) - 1
        x, y = _x(float(c["time"]), duration, width), 14 + 24 * row
        colour = COLOURS[row % len(COLOURS)]
        tip = (f"{c['time']:.2f} s, {c.get('detector') or c.get('source')}: "
               f"{c.get('detail', '')} (fires by chance {_rate(c)})")
        if c.get("end") is not None and float(c["end"]) > float(c["time"]):
            x1 = _x(float(c["end"]), duration, width)
            items.append(f"<rect x='{x:.1f}' y='{y - 5}' width='{max(x1 - x, 2):.1f}' "
                         f"height='10' fill='{colour}' opacity='.7'><title>{e(tip)}</title>"
                         "</rect>")
        else:
            items.append(f"<circle cx='{x:.1f}' cy='{y}' r='5' fill='{colour}'><title>"
                         f"{e(tip)}</title></circle>")
    return (f"<svg class='fig' width='{width}' height='{h + 24}' role='img' aria-label='edit "
            f"candidates'>{''.join(items)}{_axis(duration, width, h)}</svg>")


def _table(rows: list[list[Any]], head: list[str]) -> str:
    if not rows:
        return ""
    return ("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr>" +
            "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>" for r in rows)
            + "</table>")


def _span_hms(at) -> str:
    """"0:12.3–0:15.0" for a (start, end) in seconds; "" for none."""
    if not at:
        return ""
    return "–".join(f"{int(t // 60)}:{t % 60:04.1f}" for t in at)


def render(assessment: Assessment | Mapping[str, Any], *, header: str = "", css: str = "",
           forms: bool = False) -> str:
    """The Assessment (or its stored JSON) as an analyst's note, top to bottom.

    ``header`` is trusted HTML put first in the body (the web app's navigation bar), ``css``
    its style (added to the page's one stylesheet), and ``forms`` lets its forms post to the
    page's own site (the navigation bar's "Log out").
    """
    if isinstance(assessment, Assessment):
        a = assessment.to_dict()
    else:
        a, assessment = assessment, Assessment.from_dict(assessment)
    rec = a["recording"]
    dur = rec["duration"]
    parts = [f"<h1>Assessment of {e(rec['name'])}</h1>",
             f"<p class='muted'>purport {e(a['purport_version'])}, schema "
             f"{e(a['schema_version'])}, {e(a['created'])}. Claimed speaker: "
             f"{e(a['claimed_speaker'] or 'none given')}. This page states evidence and its "
             "strength; it gives no verdict.</p>",
             "<h2 id='summary'>In short</h2>",
             "<ul>" + "".join(f"<li><b>{e(k)}</b>: {e(v)}</li>"
                              for k, v in assessment.summary().items()) + "</ul>",
             "<h2 id='recording'>The recording</h2>",
             _table([["sha256", rec["sha256"]], ["size", f"{rec['size_bytes']:,} bytes"],
                     ["audio", f"{rec['codec']} in {rec['container']}, "
                               f"{rec['sample_rate']} Hz, {rec['channels']} ch"],
                     ["duration", f"{dur:.2f} s"]], ["", ""])]
    arch = rec.get("archive_recording")
    if arch:
        seen = [[s["original_name"], s["released"] or "", s["outlet"] or "",
                 s["channel"] or "", s["source_url"] or ""] for s in arch["sightings"]]
        parts += [f"<p>In the archive as recording {arch['id']} ({e(arch['role'])}).</p>",
                  _table(seen, ["seen as", "released", "outlet", "channel", "source"])]
    reuse = a["reuse"]
    parts += ["<h2 id='reuse'>Reuse: which seconds come from where</h2>",
              f"<p>{e(reuse['summary'])}</p>", reuse_figure(reuse, dur),
              _table([[f"{m['query_start']:.2f}-{m['query_end']:.2f}", m["name"],
                       f"{m['ref_start']:.2f}-{m['ref_end']:.2f}", m["time_factor"],
                       m["pitch_factor"], m["score"], f"{m['false_match_probability']:.1e}"]
                      for m in reuse["matches"]],
                     ["query s", "archive recording", "its s", "time factor", "pitch factor",
                      "score", "false-match p"])]
    selfr = a["self_reuse"]
    parts.append(f"<p>Inside the recording: {e(selfr['summary'])}.</p>")
    v = a["voice"]
    parts.append("<h2 id='voice'>Voice: the claimed speaker?</h2>")
    if "skipped" in v:
        parts.append(f"<p>Not assessed: {e(v['skipped'])}.</p>")
    else:
        lr = v.get("log10_lr")
        parts += [f"<p><b>log10 LR {lr:+.2f}</b>: {e(v['verbal'])}.</p>" if lr is not None
                  else f"<p>{e(v['verbal'])}</p>",
                  voice_figure(v, dur),
                  f"<p class='muted'>Calibration {e(v['calibration']['name'])}: "
                  f"{e(v['calibration']['population'])}; held-out Cllr "
                  f"{v['calibration']['cllr']}, EER {v['calibration']['eer']:.1%}. "
                  f"{e(v['calibration'].get('notes') or '')}</p>",
                  _condition_html(v["calibration"].get("condition") or {}),
                  "".join(f"<p class='warn'>Warning: {e(w)}</p>" for w in v["warnings"])]
    t = a["timing"]
    enf = t.get("enf") or {}
    parts += ["<h2 id='timing'>Timing: when was it recorded?</h2>",
              f"<p>Mains hum (ENF): {e(enf.get('message', ''))}</p>", enf_figure(enf),
              pieces_figure(enf, dur)]
    if enf.get("alternatives"):
        parts.append(_table([[x["start"], x.get("rms_mhz", ""), x["score"], x["z"]]
                             for x in enf["alternatives"]],
                            ["alternative start", "mHz RMS from the log", "correlation", "z"]))
    c = t.get("content")
    if c:
        parts += [f"<p>Content: {e(c['message'])}</p>",
                  _table([[x["event_date"], x["event"], x["sentence"],
                           _span_hms(x.get("at")), x["similarity"]]
                          for x in c["evidence"]], ["event date", "event", "sentence",
                                                    "said at", "similarity"])]
    else:
        parts.append("<p>Content dating: no transcript and events catalog given.</p>")
    ed = a["edits"]
    cands = ed.get("candidates") or []
    parts += ["<h2 id='edits'>Edits: cut or spliced, and where?</h2>",
              f"<p>{e(assessment.edits.summary)}. Each row is a family of detectors; each "
              "candidate says what it means and how often its detector fires by chance on "
              "unedited speech.</p>",
              edits_figure(ed, dur),
              _table([[f"{c['time']:.2f}" + (f"-{c['end']:.2f}" if c.get("end") is not None
                                             else ""),
                       f"{_family(c)} / {c.get('detector') or c.get('source')}",
                       c.get("strength", ""), _rate(c), c.get("detail", "")]
                      for c in cands],
                     ["time s", "detector", "strength", "fires by chance", "what it means"])
              or "<p>No candidate edit points found.</p>"]
    if ed.get("explained"):
        parts += ["<p>Set aside: changes inside a stretch whose hum follows the grid log "
                  "without a break (the recording runs on there).</p>",
                  _table([[f"{c['time']:.2f}", f"{_family(c)} / {c.get('detector')}",
                           c.get("strength", ""), c.get("explained_by", "")]
                          for c in ed["explained"]],
                         ["time s", "detector", "strength", "why set aside"])]
    if ed.get("detectors"):
        measured = sorted({d["measured_on"] for d in ed["detectors"]
                           if d.get("false_alarms_per_hour") is not None})
        parts += [_table([[f"{d['family']} / {d['name']}",
                           "-" if d["threshold"] is None else d["threshold"],
                           "not measured" if d["false_alarms_per_hour"] is None
                           else f"{d['false_alarms_per_hour']:.2g} per hour",
                           d.get("meaning", "")] for d in ed["detectors"]],
                         ["detector", "threshold", "false alarms", "a candidate means"]),
                  "".join(f"<p class='muted'>False alarms measured on {e(m)}.</p>"
                          for m in measured)]
    r = a["record"]
    said = a.get("transcript") or {"skipped": "no transcript"}
    parts.append("<h2 id='transcript'>What was said</h2>")
    if "skipped" in said:
        parts.append(f"<p>{e(said['skipped'])}.</p>")
    else:
        lang = said.get("language") or "not stated"
        if said.get("language_probability") is not None:
            lang += f" (probability {said['language_probability']:.2f})"
        who = ("Automatic transcript" if said.get("source") == "automatic"
               else f"User-given {said.get('kind', 'transcript')}")
        parts += [f"<p>{e(who)} by {e(said.get('model', ''))}; language {e(lang)}.</p>",
                  f"<p class='muted'>{e(said.get('limits', ''))}</p>",
                  _table([[_span_hms((x["start"], x["end"])), x["text"]]
                          for x in said.get("segments", [])], ["at", "said"])]
    parts.append("<h2 id='record'>In the speaker's record</h2>")
    if "skipped" in r:
        parts.append(f"<p>{e(r['skipped'])}.</p>")
    else:
        parts.append(_table([[x["date"] or x["when"], x["medium"] or "", x["media_outlet"] or "",
                              ", ".join(x["channels"]), len(x["reports"]),
                              ", ".join(y["name"] for y in x["recordings"])]
                             for x in r["releases"]],
                            ["date", "medium", "outlet", "channels", "reports", "recordings"])
                     or "<p>No releases in the record.</p>")
    parts.append("<h2 id='custody'>Chain of custody</h2>")
    custody = a.get("custody") or []
    parts.append(
        _table([[c["id"], c["at"], c["actor"], c["action"], c["subject"],
                 c.get("input_sha256") or ""] for c in custody],
               ["audit entry", "at (UTC)", "by", "action", "subject", "input SHA-256"])
        if custody else
        "<p>Not filed in an archive: no audit entries. (An assessment kept by "
        "<code>purport verify --db</code> or the web app cites the audit entries of every "
        "recording it used.)</p>")
    parts.append("<h2 id='methods'>Methods and limits</h2>")
    for q, m in a["methods"].items():
        if m.get("method"):
            parts.append(f"<p><b>{e(q)}</b>: {e(m['method'])}</p>"
                         f"<p class='muted'>Limits: {e(m.get('limits') or '')}</p>")
    style = CSS + css
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta http-equiv='Content-Security-Policy' "
            f"content=\"{content_security_policy(style, forms=forms)}\">"
            f"<title>purport assessment: {e(rec['name'])}</title><style>{style}</style></head>"
            f"<body>{header}{''.join(parts)}</body></html>")
