"""Content dating on the five news seeds: ``content.date_content`` against ``events.csv``.

Transcripts are assembled at run time from ``../shared/data/news`` (nothing of the
articles is stored here):

* ``clues``: the seed's ``dating_clues`` from ``seed_truth.json`` (a careful reader's
  sentences about what the speech mentions; reporter's words, not the speaker's);
* ``speech``: the speaker's own quoted words in the article, given below as character
  spans of the seed file (checked against the file's SHA-256 prefix), one line each;
* ``speech+clues``: both.

``events.csv`` holds real, publicly documented events: the ones the clues refer to
(``CLUE_EVENTS``) and distractors, among them later events on the same subjects (the
fall of Mosul in 2017 for a 2016 speech about the battle, a later North Korean missile
test, a later Idlib deal) that a matcher must not take for the ones mentioned.

Two catalogs: ``full`` (every event, as an analyst dating an old recording today has
them) and ``as_of_release`` (only events up to the article's publication date, as an
analyst dating a fresh release has them).

Per seed, transcript and catalog: ``not_before`` and the event behind it; ``right_event`` (that
event is one the speech refers to), ``tight`` (``not_before`` is the latest clue event's
date: the best bound the catalog allows) and ``sound`` (``not_before`` is not after the
release date: the bound is true).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from purport.timing import content

NEWS = Path(__file__).resolve().parents[3] / "shared" / "data" / "news"
EVENTS = Path(__file__).resolve().parent / "events.csv"

#: seed id -> (SHA-256 prefix of the seed file, character spans of the speaker's quotes)
SPEECH_SPANS = {
    "000": ("a035cc9ddea18584", [(895, 957), (1001, 1140), (1173, 1329), (1438, 1639)]),
    "001": ("f3142cce415d3b9c", [(75, 180), (349, 378), (2118, 2312), (2409, 2574),
                                 (2663, 2671), (2917, 3112), (3125, 3232), (3549, 3703),
                                 (3939, 3946), (4140, 4284), (4395, 4411), (4709, 4720),
                                 (4823, 4878), (5690, 5701), (5706, 5765)]),
    "002": ("7905b1e1c3fdf1d8", [(890, 1029), (1050, 1140), (1511, 1545), (2100, 2107)]),
    "003": ("05c3dc8b47a30a79", [(811, 901), (915, 988), (1357, 1420), (1505, 1773),
                                 (1802, 1824), (1835, 1900)]),
    "004": ("7cde7b31bd26898d", [(2612, 2748), (2916, 3192), (3201, 3290), (3586, 3802),
                                 (4441, 4675), (4851, 5152), (5318, 5755)]),
}

#: seed id -> titles (as in events.csv) of the events its dating clues refer to
CLUE_EVENTS = {
    "000": ["Russia begins air strikes in Syria",
            "US-led coalition begins air strikes against Islamic State in Syria",
            "Saudi Arabia announces an Islamic military coalition against terrorism"],
    "001": ["Iraq declares victory over Islamic State in Mosul", "Russia annexes Crimea",
            "North Korea tests its first intercontinental ballistic missile",
            "North Korea fires a ballistic missile over Japan",
            "North Korea conducts its sixth nuclear test"],
    "002": ["Saudi Arabia pledges 100 million dollars to help stabilise north-east Syria",
            "Rebels in Syria's Daraa province agree a surrender deal"],
    "003": ["Iraqi and Kurdish forces launch the offensive to retake Mosul",
            "Turkish artillery at Bashiqa fires on Islamic State north of Mosul"],
    "004": ["Saudi-led coalition begins air strikes in Yemen",
            "Tens of thousands flee Islamic State offensive on Ramadi"],
}


def transcripts(seed: dict) -> dict[str, tuple[str, list[str]]]:
    """Transcript name -> (text, sentences that are clue sentences, quotable in results)."""
    sid = seed["file"][:3]
    raw = (NEWS / "seeds" / seed["file"]).read_bytes()
    digest, spans = SPEECH_SPANS[sid]
    if not hashlib.sha256(raw).hexdigest().startswith(digest):
        raise SystemExit(f"{seed['file']} changed: its speech spans no longer apply")
    text = raw.decode()
    speech = "\n".join(text[a:b].strip() for a, b in spans)
    clues = seed["expected"]["dating_clues"]
    return {"clues": ("\n".join(clues), clues), "speech": (speech, []),
            "speech+clues": (speech + "\n" + "\n".join(clues), clues)}


def run(events_path: Path = EVENTS) -> list[dict]:
    all_events = content.read_events(events_path)
    return [r for catalog in ("full", "as_of_release") for r in _run(all_events, catalog)]


def _run(events: list[content.Event], catalog: str) -> list[dict]:
    by_title = {e.title: e for e in events}
    missing = [t for ts in CLUE_EVENTS.values() for t in ts if t not in by_title]
    if missing:
        raise SystemExit(f"events.csv lacks clue events: {missing}")
    seeds = json.loads((NEWS / "seed_truth.json").read_text())
    out = []
    for seed in seeds:
        sid = seed["file"][:3]
        release = seed["expected"]["release_date"]
        cat = events if catalog == "full" else [
            e for e in events if e.date.isoformat() <= seed["input"]["published"]]
        clue_dates = [by_title[t].date.isoformat() for t in CLUE_EVENTS[sid]
                      if by_title[t].date.isoformat() <= release]
        expected = max(clue_dates)
        exp_title = [t for t in CLUE_EVENTS[sid] if by_title[t].date.isoformat() == expected][0]
        for name, (text, quotable) in transcripts(seed).items():
            res = content.date_content(text, cat)
            ev = res.evidence[0] if res.evidence else None
            out.append({
                "seed": sid, "transcript": name, "catalog": catalog, "n_events": len(cat),
                "release_date": release,
                "expected_not_before": expected,
                "expected_event": exp_title,
                "not_before": res.not_before,
                "matched_event": ev.event if ev else None,
                "similarity": ev.similarity if ev else None,
                "keywords": ev.keywords if ev else [],
                "sentence": _quotable(ev.sentence, quotable) if ev else None,
                "right_event": bool(ev and ev.event in CLUE_EVENTS[sid]),
                "tight": res.not_before == expected,
                "sound": res.not_before is not None and res.not_before <= release,
                "n_sentences": len(content.sentences(text)),
                "expected_event_similarity": _best_similarity(text, by_title[exp_title]),
                "expected_event_confident": any(e.event == exp_title for e in res.evidence),
                "all_confident": [{"event": e.event, "date": e.event_date,
                                   "similarity": e.similarity, "keywords": e.keywords,
                                   "sentence": _quotable(e.sentence, quotable)}
                                  for e in res.evidence],
            })
    return out


def _best_similarity(text: str, event: content.Event) -> float:
    """The highest cosine between any transcript sentence and the event (as purport embeds it)."""
    said = content.sentences(text)
    sim = content.embed(said) @ content.embed([f"{event.title}. {event.description}"]).T
    return round(float(sim.max()), 3)


def _quotable(sentence: str, clues: list[str]) -> str:
    """The sentence if it is one of the short clue sentences, else a placeholder (the
    article's text is not reproduced in the results)."""
    if any(sentence.strip() in c or c in sentence for c in clues):
        return sentence
    return f"[speech sentence, {len(sentence.split())} words]"
