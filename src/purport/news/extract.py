"""One press report -> the facts it states about a purported release, each with its sentence.

Rules over sentences, with vocabularies kept apart (``vocab.py``) and dates resolved
against the publication date. The traps a careful reader avoids are handled as such:
caption and "Read more" lines are not the article's own statements; a sentence that
dates itself to another month or year is about another release; "could not verify"
counts only when said of this recording.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from purport.errors import ParameterError
from purport.news import holidays
from purport.news.vocab import load_vocabulary
from purport.textfile import read_text

MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
MONTHS.update({m.lower(): i for i, m in enumerate(calendar.month_abbr) if m})
WEEKDAYS = [d.lower() for d in calendar.day_name]
MONTH_RE = r"(?:January|February|March|April|May|June|July|August|September|October|" \
           r"November|December)"
WEEKDAY_RE = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
ABBREVIATIONS = ("Mr.", "Mrs.", "Ms.", "Dr.", "St.", "U.S.", "U.K.", "U.N.", "Jan.", "Feb.",
                 "Aug.", "Sept.", "Sep.", "Oct.", "Nov.", "Dec.", "Gen.", "Sen.", "Rep.",
                 "No.", "a.m.", "p.m.", "e.g.", "i.e.", "vs.")
LINK_LINE = re.compile(r"^\s*(read(\s+more)?\b|related\b|see also\b|watch\b:?|more:|also read)",
                       re.I)
CAPTION_LINE = re.compile(r"^\s*(\(?photo\b|image\b|picture\b|file photo|photograph)|"
                          r"\((ap|afp|reuters|getty)( photo| images)?[^)]*\)\s*$|"
                          r"\bphoto:\s|\bcredit:\s", re.I)
BYLINE = re.compile(r"^\s*(by:?\s|ap contributed|reuters contributed|additional reporting|"
                    r"copyright|all rights reserved)", re.I)
NOT_VERIFIED = re.compile(
    r"\b(could not|couldn['’]t|cannot|can['’]t|unable to|were not able to|was not able to|"
    r"could not be|has not been|have not been|had not been|was not|were not|not been|"
    r"(?:has|have|had)(?:\s+not|n['’]t)(?:\s+yet)?(?:\s+been)?|not possible to|impossible to|"
    r"(?:not possible|impossible) for [^.,;]{1,40}? to|no way to|not yet been)\s+"
    r"(independently\s+|immediately\s+|yet\s+|able\s+to\s+)*(verif|confirm|authenticat|"
    r"establish)"
    # a monitor's shorthand: "Authenticity not confirmed."
    r"|\bauthenticity\b[^.;]{0,30}?\bnot\s+(?:yet\s+)?(?:been\s+)?(?:confirmed|verified|"
    r"established)",
    re.I)
# what a "could not be verified" may be said of other than the recording itself
CLAIM_NOUNS = re.compile(r"\b(toll|figures?|casualt\w*|numbers?|claims?|deaths?|details|"
                         r"allegations?|accounts?|reports?|assertions?|count)\b", re.I)
OTHER_TIME = re.compile(rf"\b(in|since|from|last|of)\s+(the\s+)?({MONTH_RE})\b|"
                        r"\blast year['’]s\b|\b(19|20)\d\d\b|\bprevious(ly)?\b|"
                        r"\bearlier\b(?!\s+(?:this\s+(?:month|week|morning)|today|on\b))|"
                        r"\bin the past\b|\bformer\b|\bolder\b|"
                        r"\b(in|since|last|during|over)\s+(the\s+)?(spring|summer|autumn|fall|"
                        r"winter)\b|\blast\s+(released|issued|published|put out|appeared|"
                        r"surfaced|spoke|posted|broadcast)\b", re.I)
#: a release verb's own time that places it now, not in another month: "issued last week",
#: "released on the first day of Eid al-Adha"
THIS_TIME = re.compile(
    r"\b(?:released|issued|published|posted|put out|broadcast|surfaced|emerged|appeared)\b"
    r"[^.;]{0,40}?\b(?:this week|last week|overnight|yesterday|today|this morning|"
    r"earlier this month|in recent days|on the (?:first|second|third|last) day of|"
    r"on the eve of|during) ", re.I)
#: a claim about the previous release, which dates that release, not this sentence's
PREVIOUS_CLAIM = re.compile(
    r"\b(?:his|her|its|the|their)\s+first\b[^.;]{0,60}?\b(?:since|in)\b\s+[^.;,]*", re.I)
MONTH_ABBR_RE = rf"(?:{MONTH_RE}|(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?)"
DAY_MONTH_RE = re.compile(rf"\b(?:(\d{{1,2}})(?:st|nd|rd|th)?\s+({MONTH_ABBR_RE})|"
                          rf"({MONTH_ABBR_RE})\s+"
                          rf"(\d{{1,2}})(?:st|nd|rd|th)?(?!\d))(?:,?\s+((?:19|20)\d\d))?")


@dataclass(frozen=True)
class Sentence:
    text: str
    own: bool          # the article's own statement (not a caption or a link line)
    index: int


@dataclass
class Record:
    """What one report says about one release (the record schema of ``news extract``)."""

    is_release_report: bool = False
    speaker: str | None = None
    medium: str | None = None
    release_date: str | None = None
    #: the days the release falls in, from/to/precision/source/phrase (a day's window when the
    #: text gives the day; a holiday, "this week" or "overnight" otherwise)
    release_window: dict[str, Any] | None = None
    weekday: str | None = None
    media_outlet: str | None = None
    channels: list[str] = field(default_factory=list)
    duration_minutes: float | None = None
    unverified: bool = False
    hedges: list[str] = field(default_factory=list)
    previous_release: dict[str, Any] | None = None
    other_releases: list[dict[str, Any]] = field(default_factory=list)
    dating_clues: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    calls_to_action: list[str] = field(default_factory=list)
    context_events: list[str] = field(default_factory=list)
    quotes: list[str] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    published: str | None = None
    outlet: str | None = None
    title: str | None = None
    url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- reading ------------------------------------------------------------------------------

#: Largest article file read (a long web page with its markup is a few hundred kB).
MAX_ARTICLE_BYTES = 20 * 1024**2


def read_article(path: str | Path) -> dict[str, Any]:
    """Text and metadata of an article file: HTML through trafilatura/htmldate, or text.

    The text's encoding is its byte-order mark's (UTF-8, UTF-16, UTF-32), else UTF-8, else
    cp1252 or Latin-1 (see :func:`purport.textfile.decode_text`); binary data, an
    empty file or one over ``MAX_ARTICLE_BYTES`` is refused in one line naming the file.
    """
    path = Path(path)
    text = read_text(path, what="an article (text or HTML)", max_bytes=MAX_ARTICLE_BYTES)
    meta: dict[str, Any] = {"title": None, "published": None, "site": None, "url": None}
    if path.suffix.lower() in (".html", ".htm") or re.search(r"<(html|body|p|div)\b", text[:5000],
                                                              re.I):
        import trafilatura
        from htmldate import find_date

        body = trafilatura.extract(text, include_comments=False, include_tables=False,
                                   favor_precision=True)
        if not body or len(body.split()) < 20:
            raise ParameterError(f"{path}: no article text found in the HTML")
        md = trafilatura.extract_metadata(text)
        meta.update(title=getattr(md, "title", None), site=getattr(md, "sitename", None),
                    url=getattr(md, "url", None))
        published = find_date(text, outputformat="%Y-%m-%d", original_date=True)
        meta["published"] = published
        text = body
    if len(text.split()) < 12:
        raise ParameterError(f"{path}: too short to be an article ({len(text.split())} words)")
    return {"text": text, **meta}


def split_sentences(text: str) -> list[Sentence]:
    """Sentences of the article; caption, link and byline lines are marked not own."""
    out: list[Sentence] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or BYLINE.search(line):
            continue
        own = not (LINK_LINE.search(line) or CAPTION_LINE.search(line))
        protected = line
        for abbr in ABBREVIATIONS:
            protected = protected.replace(abbr, abbr.replace(".", "\u2024"))
        parts = re.split(r"(?<=[.!?])[\"”’']?\s+(?=[\"“‘'(]?[A-Z0-9])", protected)
        for part in parts:
            part = part.replace("\u2024", ".").strip()
            if len(part.split()) >= 3:
                out.append(Sentence(part, own, len(out)))
    return out


# -- dates --------------------------------------------------------------------------------

def resolve_weekday(weekday: str, published: dt.date) -> dt.date:
    """The latest date on or before ``published`` that falls on ``weekday``."""
    target = WEEKDAYS.index(weekday.lower())
    return published - dt.timedelta(days=(published.weekday() - target) % 7)


def resolve_day_month(m: re.Match, published: dt.date) -> dt.date | None:
    """The date of a DAY_MONTH_RE match: its year, or the latest on or before ``published``."""
    day = int(m.group(1) or m.group(4))
    month = MONTHS[(m.group(2) or m.group(3)).lower().rstrip(".")[:3]]
    years = [int(m.group(5))] if m.group(5) else [published.year, published.year - 1]
    for y in years:
        try:
            when = dt.date(y, month, day)
        except ValueError:
            return None
        if m.group(5) or when <= published:
            return when
    return None


def resolve_month(month: int, before: dt.date, *, year: int | None = None) -> tuple[int, int]:
    """(year, month) of the latest such month strictly before ``before``'s month."""
    if year is not None:
        return year, month
    y = before.year if month < before.month else before.year - 1
    return y, month


# -- the extractor ------------------------------------------------------------------------

class Extractor:
    """Extraction with one vocabulary and a list of known speakers (names and aliases)."""

    def __init__(self, *, speakers: dict[str, list[str]] | None = None, vocab: dict | None = None):
        self.vocab = vocab or load_vocabulary()
        self.speakers = speakers or {}
        v = self.vocab
        self.release_re = re.compile(r"\b(" + "|".join(map(re.escape, v["release_verbs"])) + r")\b",
                                     re.I)
        nouns = v["audio_nouns"] + v["video_nouns"] + v["text_nouns"]
        self.medium_re = re.compile(r"\b(" + "|".join(map(re.escape, nouns)) + r")s?\b", re.I)
        outlets = sorted(v["media_outlets"], key=len, reverse=True)
        alternatives = "|".join(map(re.escape, outlets))
        self.outlet_re = re.compile(rf"(?<![\w-])({alternatives})(?![\w-])", re.I)

    def _release_window(self, current: list[Sentence], published: dt.date,
                        weekday: str | None) -> dict[str, Any] | None:
        """The days a release falls in when the text gives no day: a holiday (with a weekday
        named beside it, its one matching day), "this week", "last week", "overnight",
        "earlier this month"; with its precision and where it comes from."""
        for s in current:
            t = s.text
            for w in holidays.mentioned(t, published.year) or []:
                if w.first > published:
                    w = holidays.window(w.name.replace("eve of ", "").split(" day of ")[-1],
                                        published.year - 1) or w
                last = min(w.last, published)
                if w.first > last:
                    continue
                days = [w.first + dt.timedelta(days=i) for i in range((last - w.first).days + 1)]
                if weekday:
                    days = [d for d in days if calendar.day_name[d.weekday()] == weekday] or days
                likely = w.calendar_day if len(days) > 1 and w.calendar_day in days else None
                return {"from": days[0].isoformat(), "to": days[-1].isoformat(),
                        "precision": "day" if len(days) == 1 else "days",
                        "source": f"{w.name} ({w.source})"
                                  + (f", on a {weekday}" if weekday and len(days) == 1 else "")
                                  + (f"; {likely.isoformat()} on that calendar" if likely
                                     else ""),
                        "likely": likely.isoformat() if likely else None,
                        "phrase": t}
            for pattern, start, end, precision in (
                    (r"\bthis week\b", published - dt.timedelta(days=published.weekday()),
                     published, "week"),
                    (r"\blast week\b", published - dt.timedelta(days=published.weekday() + 7),
                     published - dt.timedelta(days=published.weekday() + 1), "week"),
                    (r"\bovernight\b", published - dt.timedelta(days=1), published, "days"),
                    (r"\bearlier this month\b", published.replace(day=1), published, "month"),
                    (r"\bin recent days\b", published - dt.timedelta(days=7), published,
                     "days")):
                if re.search(pattern, t, re.I):
                    return {"from": start.isoformat(), "to": end.isoformat(),
                            "precision": precision,
                            "source": f"the article's {re.search(pattern, t, re.I).group(0)!r},"
                                      f" published {published.isoformat()}",
                            "phrase": t}
        return None

    def _not_a_release(self, text: str, current: list[Sentence]) -> str | None:
        """Why an article with release-like sentences reports no release of a tracked
        speaker: it debunks a fake, or the recording is another person's (a spokesman)."""
        head = text[:700]
        m = DEBUNK.search(head)
        if m:
            return f"a fact-check or debunk: {m.group(0)!r}"
        m = OTHER_VOICE.search(current[0].text)
        if m and self.speakers:
            name = m.group(1).lower()
            known = {n.lower() for k, v in self.speakers.items() for n in (k, *v)}
            mentioned = any(re.search(rf"(?<![\w-]){re.escape(k)}(?![\w-])", text.lower())
                            for k in known)
            if mentioned and not any(k in name or name in k for k in known):
                # a tracked speaker is only mentioned in a report of another voice's recording
                return f"the recording is {m.group(0).strip(', ')!r}'s, not a tracked speaker's"
        return None

    # sentences about this release
    def _release_sentences(self, sents: list[Sentence]) -> tuple[list[Sentence], list[Sentence]]:
        current, other = [], []
        for s in sents:
            t = s.text
            about_release = (self.release_re.search(t) and self.medium_re.search(t)) or re.search(
                r"\b(in|according to|said in|says in|states in)\s+(an?|the|his|her|a new)\s+"
                r"(new\s+)?(purported\s+)?(audio|video|voice|recorded)", t, re.I) or re.search(
                rf"\b(in|on)\s+{WEEKDAY_RE}['’]s\s+(audio|video|recording|message|speech|tape)",
                t, re.I)
            if not about_release:
                continue
            bound = self._release_day(t) is not None or bool(THIS_TIME.search(t))
            rest = PREVIOUS_CLAIM.sub("", t)  # "his first message since February"
            if not s.own or (_dated_elsewhere(rest, self._published) and not bound) or (
                    OTHER_TIME.search(rest) and not bound):
                other.append(s)
            else:
                current.append(s)
        return current, other

    def _speaker(self, sents: list[Sentence], current: list[Sentence]) -> tuple[str | None, str]:
        text = " ".join(s.text for s in sents)
        best, where = None, ""
        for name, aliases in self.speakers.items():
            forms = sorted({name, *aliases}, key=len, reverse=True)
            for f in forms:
                loose = re.escape(f).replace(r"\-", r"[-\s]").replace(r"\ ", r"[-\s]")
                m = re.search(rf"(?<![\w-]){loose}(?![\w-])", text, re.I)
                if m:
                    hit = next((s.text for s in current + sents if f.lower() in s.text.lower()), "")
                    if best is None or (current and hit in [c.text for c in current]):
                        best, where = name, hit
                    break
        if best:
            return best, where
        # no archive speaker: a capitalised name after a role word, most often mentioned
        roles = "|".join(self.vocab["speaker_roles"])
        name_re = re.compile(
            rf"\b(?:{roles})(?:\s+of\s+(?:the\s+)?(?:[A-Z][\w'’-]+\s){{0,4}}[A-Z][\w'’-]+,|,)?"
            r"\s+((?:(?:Abu|Abd|Ibn|Bin|Bint|al|el|ad|as|ash|at|az)[-\s]|"
            r"[A-Z][\w'’-]+\s){1,4}(?:al-|el-)?[A-Z][\w'’-]+)")
        # "Umar Example, the leader of the Example Army, ..."
        before_re = re.compile(
            r"((?:(?:Abu|Abd|Ibn|Bin|Bint|al|el)[-\s]|[A-Z][\w'’-]+\s){1,3}(?:al-|el-)?"
            rf"[A-Z][\w'’-]+),\s+(?:the\s+|a\s+|an\s+)?(?:[\w'’-]+\s+){{0,5}}?(?:{roles})\b")
        counts: dict[str, int] = {}
        evidence: dict[str, str] = {}
        for s in sents:
            # a name said not to be in the release is not its speaker
            if re.search(r"\b(?:does|did|do)\s+not\s+(?:appear|speak|feature)|\bis\s+not\s+"
                         r"(?:seen|heard)\s+in\b", s.text, re.I):
                continue
            hits = list(name_re.finditer(s.text)) + [
                m for m in before_re.finditer(s.text)
                if not re.match(r"(?:The|A|An|In|On|At|By)\b", m.group(1))]
            for m in hits:
                n = m.group(1).strip()
                counts[n] = counts.get(n, 0) + 1
                evidence.setdefault(n, s.text)
        if not counts:
            return None, ""
        found = max(counts, key=lambda n: (counts[n], len(n.split())))
        core = re.sub(r"^(al|el)[-\s]", "", found.split()[-1], flags=re.I)
        # the fullest form of that name anywhere in the article
        forms = [f.strip() for f in re.findall(
            rf"((?:(?:Abu|Abd|Abdul|Ibn|Bin|Bint|Umm|[A-Z][a-z]+)[ \t]){{0,3}}"
            rf"(?:(?:al|el|Al|El)[-\s])?{re.escape(core)})\b", text)]
        stop = {w.lower() for w in self.vocab["speaker_roles"]} | {
            "the", "up", "your", "our", "his", "her", "islamic", "state", "group", "isis", "isil",
            "terror", "militant", "jihadist", "said", "says", "by", "from", "of", "and", "new"}
        forms = [" ".join(w for w in f.split() if w.lower() not in stop) for f in forms]
        forms = [_particles(f) for f in forms if f]
        full = max(forms + [found], key=lambda n: (len(n.split()) >= 2, forms.count(n),
                                                    len(n.split())))
        return _particles(full), evidence[found]

    def extract(self, text: str, *, published: dt.date | None = None,
                outlet: str | None = None, title: str | None = None,
                url: str | None = None) -> Record:
        sents = split_sentences(text)
        if not sents:
            raise ParameterError("the article holds no sentences")
        self._published = published
        rec = Record(published=published.isoformat() if published else None, outlet=outlet,
                     title=title, url=url)
        ev = rec.evidence
        current, other = self._release_sentences(sents)
        if current and (why := self._not_a_release(text, current)):
            ev["not_a_release_report"] = why
            current = []
        rec.is_release_report = bool(current)
        if current:
            ev["is_release_report"] = current[0].text
        speaker, where = self._speaker(sents, current)
        if speaker:
            rec.speaker, ev["speaker"] = speaker, where
        if not current:
            return rec
        joined = " ".join(s.text for s in current)
        # medium
        v = self.vocab
        has = {k: any(re.search(rf"\b{re.escape(w)}s?\b", joined, re.I) for w in v[k])
               for k in ("audio_nouns", "video_nouns", "text_nouns")}
        spoken = re.search(r"\b(audio|recording|recorded|voice|tape|speech|sermon|spoke)\b",
                           joined, re.I)
        rec.medium = ("video" if has["video_nouns"] and not re.search(r"\baudio\b", joined, re.I)
                      else "text" if has["text_nouns"] and not spoken
                      else "audio" if has["audio_nouns"] else "text" if has["text_nouns"]
                      else None)
        if rec.medium:
            ev["medium"] = next(s.text for s in current if self.medium_re.search(s.text))
        # weekday and date: the weekday bound most closely to a release verb
        best = None
        for s in current:
            found = self._release_day(s.text)
            if found and (best is None or found[0] < best[0]):
                best = (*found, s.text)
        if best and best[1] in calendar.day_name:
            rec.weekday, ev["weekday"] = best[1], best[2]
            if published:
                rec.release_date = resolve_weekday(best[1], published).isoformat()
                ev["release_date"] = best[2]
                # "on Tuesday, the first day of Eid al-Adha": the holiday's Tuesday, which
                # need not be the latest Tuesday before publication
                held = [s for s in current if holidays.PATTERN.search(s.text)]
                w = self._release_window(held, published, best[1]) if held else None
                if w and w["from"] == w["to"]:
                    rec.release_date, ev["release_date"] = w["from"], w["phrase"]
        # a date ("on 3 March", "released March 30") where no weekday is bound
        if published and rec.release_date is None:
            dated = None
            for s in current:
                for m in DAY_MONTH_RE.finditer(s.text):
                    d = self._binding(s.text, m.start())
                    when = resolve_day_month(m, published)
                    if d is not None and when and (dated is None or d < dated[0]):
                        dated = (d, when, s.text)
            if dated:
                rec.release_date, ev["release_date"] = dated[1].isoformat(), dated[2]
                rec.weekday = calendar.day_name[dated[1].weekday()]
                ev["weekday"] = dated[2]
        if rec.release_date is None and published:
            for s in current:
                if re.search(r"\b(today|this morning|tonight)\b", s.text, re.I):
                    rec.release_date, ev["release_date"] = published.isoformat(), s.text
                elif re.search(r"\byesterday\b", s.text, re.I):
                    rec.release_date = (published - dt.timedelta(days=1)).isoformat()
                    ev["release_date"] = s.text
                if rec.release_date:
                    rec.weekday = calendar.day_name[
                        dt.date.fromisoformat(rec.release_date).weekday()]
                    break
        # no day: a window the text still gives (a holiday, "this week", "overnight")
        if rec.release_date is None and published:
            rec.release_window = self._release_window(current, published, rec.weekday)
            w = rec.release_window
            # a holiday's one named day: its calendar day, the window kept beside it
            day = w and (w["from"] if w["from"] == w["to"] else w.get("likely"))
            if day:
                rec.release_date, ev["release_date"] = day, w["phrase"]
                rec.weekday = calendar.day_name[dt.date.fromisoformat(day).weekday()]
        elif rec.release_date is not None:
            rec.release_window = {"from": rec.release_date, "to": rec.release_date,
                                  "precision": "day", "source": "the text",
                                  "phrase": ev.get("release_date", "")}
        elif published is None:
            # no publication date to place it: the weekday the text names, and the earliest
            # day it allows (an earlier release it dates, "since June 2014")
            bound = not_before(current, other, sents, rec.weekday)
            source = "no publication date" + (f"; the text names a {rec.weekday}"
                                               if rec.weekday else "")
            if bound:
                source += f"; not before {bound[0].isoformat()}: {bound[1]}"
            rec.release_window = {"from": bound[0].isoformat() if bound else None, "to": None,
                                  "precision": "weekday" if rec.weekday else "open",
                                  "weekday": rec.weekday, "source": source,
                                  "phrase": bound[2] if bound else ev.get("weekday", "")}
        # outlet: named in a sentence about this release, never in one about another
        clauses = [(s.text, s.text) for s in current] + [
            (a.group(1), s.text) for s in sents
            if s.own and s not in current and (a := RELEASE_APPOSITIVE.search(s.text))]
        for clause, sentence in clauses:
            m = self.outlet_re.search(clause)
            if m:
                rec.media_outlet, ev["media_outlet"] = _canonical_outlet(m.group(1), v), sentence
                break
        # channels
        chans = []
        for s in current + [s for s in sents if s.own and s not in current and
                            (self.release_re.search(s.text) or re.search(r"\bposted\b", s.text,
                                                                           re.I))
                            and ((not OTHER_TIME.search(s.text)
                                  and not _dated_elsewhere(s.text, published))
                                 or RELEASE_APPOSITIVE.search(s.text))]:
            # "its Rocket.Chat and Element channels" -> "Rocket.Chat channels and Element channels"
            t = s.text
            if s not in current:  # "The address, distributed ... on Telegram, lasts ...":
                m = RELEASE_APPOSITIVE.search(t)  # only the clause about this release
                t = m.group(1) if m else t
            t = re.sub(r"\b([A-Z][\w.]*),? and ([A-Z][\w.]*) (channels|accounts|pages|groups|"
                       r"servers|rooms|apps)\b", lambda m: f"{m.group(1)} {m.group(3)} and "
                       f"{m.group(2)} {m.group(3)}", t)
            for name, words in v["channels"].items():
                hit = any(re.search(rf"(?<![\w.]){re.escape(w)}s?(?![\w])", t, re.I)
                          for w in words)
                # the platform once called Twitter, named by its one capital letter
                hit = hit or (name == "Twitter" and re.search(
                    r"\b(?:on|and|via|to|or)\s+X(?![\w@-]|\.\w)", t))
                # Element (the messenger) named in a list of platforms, by its capital
                hit = hit or (name == "Element" and re.search(
                    rf"\b(?:{PLATFORMS})\s*(?:,|and|or)\s+Element\b|"
                    rf"\bElement\s*(?:,|and|or)\s+(?:{PLATFORMS})\b", t))
                if name not in chans and hit:
                    chans.append(name)
                    ev.setdefault("channels", []).append(s.text)
        rec.channels = chans
        # duration
        for s in sents:
            if not s.own or _dated_elsewhere(s.text, published):
                continue
            minutes = duration_minutes(s.text)
            if minutes is not None and (self.medium_re.search(s.text) or re.search(
                    r"\blong\b|-long\b|\blast(ed|ing|s)\b|\bran\b|\bruns?\b|"
                    r"\b(?:speaks|spoke|speaking|talks|talked|talking) for\b", s.text)):
                rec.duration_minutes, ev["duration"] = minutes, s.text
                break
        # unverified: said outright, of this recording
        for s in sents:
            if s.own and NOT_VERIFIED.search(s.text) and self._about_this(s.text, rec):
                rec.unverified, ev["unverified"] = True, s.text
                break
        # hedges
        for s in current + [s for s in sents if s.own]:
            for h in v["hedges"]:
                if re.search(rf"\b{re.escape(h)}\b", s.text, re.I) and h not in rec.hedges:
                    rec.hedges.append(h)
                    ev.setdefault("hedges", []).append(s.text)
        # the previous release and other releases
        base = dt.date.fromisoformat(rec.release_date) if rec.release_date else published
        if base:
            for s in sents:
                found = previous_release(s.text, base)
                if found and s.own:
                    rec.previous_release, ev["previous_release"] = found, s.text
                    break
            for s in other:
                when = _month_in(s.text, base)
                if when and (not rec.previous_release or s.text != ev.get("previous_release")):
                    rec.other_releases.append({"phrase": s.text, "date": when})
        # what the speech says
        last = rec.speaker.split()[-1].lower() if rec.speaker else None
        for s in sents:
            if not s.own:
                continue
            t = s.text
            quoted = re.findall(r"[“\"]([^”\"]{12,})[”\"]", t)
            speaks = re.search(r"\b(he|she|said|says|declares|declared|added|states|stated|"
                               r"urged|urges|urging|called|calls|calling|vowed|warned|"
                               r"dismissed|praised)\b", t, re.I)
            attributed = speaks and (last is None or last in t.lower() or
                                     re.search(r"\b(he|she)\b", t, re.I))
            if quoted and attributed:
                rec.quotes.extend(q.strip() for q in quoted)
            if re.search(r"\b(urged|urging|urges|called on|calls on|calling on|called for|"
                         r"calls for|calling for|exhorted|told his followers|told followers)\b",
                         t, re.I) and attributed:
                rec.calls_to_action.append(t)
                for m in re.finditer(r"\b(?:attack|attacks|strike|strikes|war|fight|jihad|"
                                     r"target|targets)\b[^.;]{0,40}?\b(?:in|on|against)\s+"
                                     r"((?:[A-Z][\w'’-]+(?:\s(?:and|&)\s|,\s|\s)?){1,6})", t):
                    for target in re.split(r",\s|\sand\s", m.group(1)):
                        target = target.strip(" ,")
                        if target and target not in rec.targets:
                            rec.targets.append(target)
            if attributed and re.search(r"\b(said|says|dismissed|praised|referred|mentioned)\b",
                                        t, re.I) and re.search(r"[A-Z][a-z]+", t[1:]) and \
                    not quoted and s not in current:
                rec.dating_clues.append(t)
            elif not attributed and re.search(rf"\b({WEEKDAY_RE}|{MONTH_RE})\b", t) and \
                    s not in current and s not in other:
                rec.context_events.append(t)
        return rec

    def _release_day(self, text: str) -> tuple[int, str] | None:
        """(binding distance, weekday name) of the weekday bound most closely to a release."""
        best = None
        for m in re.finditer(rf"\b({WEEKDAY_RE})\b", text):
            d = self._binding(text, m.start())
            if d is not None and (best is None or d < best[0]):
                best = (d, m.group(1))
        return best

    def _binding(self, text: str, pos: int) -> int | None:
        """Words between a weekday and the nearest release word, or None when another
        action (captured, attacked...) sits closer to the weekday than any release word."""
        words = [(m.start(), m.group(0)) for m in re.finditer(r"[\w'’-]+", text)]
        at = next(i for i, (start, _) in enumerate(words) if start >= pos)
        release = [i for i, (_, w) in enumerate(words) if self.release_re.fullmatch(w)
                   or re.fullmatch(r"(recording|message|audio|video|tape|speech)['’]?s?", w, re.I)
                   or re.fullmatch(r"(recording|message|audio|video|tape|speech)", w, re.I)]
        action = [i for i, (_, w) in enumerate(words) if re.fullmatch(
            r"captured|seized|attacked|killed|stormed|launched|took|fell|bombed|struck|"
            r"arrested|died|fought|advanced|announced", w, re.I)]
        if not release:
            return None
        d = min(abs(i - at) for i in release)
        if action and min(abs(i - at) for i in action) < d:
            return None
        return d

    def _about_this(self, text: str, rec: Record) -> bool:
        """Is a "could not verify" sentence about this recording (not another one)?"""
        nouns = r"audio|recording|tape|message|voice|speech|authenticity|it|statement"
        if rec.medium == "video":
            nouns += r"|video|footage|film"
        mentions = re.search(rf"\b({nouns})\b", text, re.I)
        # said of the casualty figures or claims in the recording, not of the recording
        m = NOT_VERIFIED.search(text)
        if m:
            subject = re.split(r"[,;:]|\bbut\b|\band\b", text[:m.start()])[-1]
            after = text[m.end():]
            obj = re.match(r"\w*\s+(?:(?:the|his|her|its|their|these|those|such|any)\s+)?"
                           r"(?:\w+\s+){0,2}?(\w+)", after)
            if CLAIM_NOUNS.search(subject) or (obj and CLAIM_NOUNS.fullmatch(obj.group(1))):
                return False
        only_video = re.search(r"\bvideo\b", text, re.I) and rec.medium == "audio" and not \
            re.search(r"\b(audio|recording|tape|voice)\b", text, re.I)
        # the clause that says it, not a comparison beside it ("..., but consistent with
        # earlier messages")
        clause = text
        if m:
            cut = r"[;:]|,\s*(?:but|though|although|while|whereas)\b"
            clause = re.split(cut, text[:m.start()])[-1] + re.split(cut, text[m.start():])[0]
        other_only = OTHER_TIME.search(clause) and not (
            rec.weekday and rec.weekday.lower() in clause.lower())
        return bool(mentions) and not only_video and not other_only


YEAR_DATE_RE = re.compile(
    rf"\b(?:({MONTH_ABBR_RE})\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+|"
    rf"(\d{{1,2}})(?:st|nd|rd|th)?\s+({MONTH_ABBR_RE})\s+|({MONTH_ABBR_RE})\s+)?"
    r"((?:19|20)\d\d)\b")
SINCE_RE = re.compile(rf"\bsince\s+(?:(?:early|mid-?|late)\s+)?(?:{MONTH_ABBR_RE}\s+)?"
                      r"(?:\d{1,2},?\s+)?(?:19|20)\d\d\b", re.I)


def _year_date(m: re.Match) -> dt.date | None:
    """The first day a "Sept. 28, 2017" / "28 September 2017" / "June 2014" / "2014"
    match can mean."""
    year = int(m.group(6))
    month = m.group(1) or m.group(4) or m.group(5)
    day = m.group(2) or m.group(3)
    try:
        return dt.date(year, MONTHS[month.lower().rstrip(".")[:3]] if month else 1,
                       int(day) if day and month else 1)
    except (ValueError, KeyError):
        return None


def not_before(current: list[Sentence], other: list[Sentence], sents: list[Sentence],
               weekday: str | None) -> tuple[dt.date, str, str] | None:
    """The earliest day a release can be when the article has no publication date: the
    latest of the dated earlier releases it names (a full date on another weekday than
    this release's is another release) and its "since June 2014" phrases (day, what says
    so, the sentence). Dates named elsewhere may lie in the future ("elections due in
    2030") and bound nothing."""
    found = []
    for s in other + current:
        for m in YEAR_DATE_RE.finditer(s.text):
            d = _year_date(m)
            full = m.group(2) or m.group(3)
            if d and (s in other or (full and weekday
                                     and calendar.day_name[d.weekday()] != weekday)):
                found.append((d, f"an earlier release it dates ({m.group(0)!r})", s.text))
    for s in sents:
        for m in SINCE_RE.finditer(s.text):
            for y in YEAR_DATE_RE.finditer(m.group(0)):
                if (d := _year_date(y)):
                    found.append((d, f"{m.group(0)!r}", s.text))
    return max(found, key=lambda f: f[0]) if found else None


def _particles(name: str) -> str:
    """One spelling of Arabic name particles: "Al Baghdadi", "al Baghdadi" -> "al-Baghdadi"."""
    return re.sub(r"\b(Al|El|al|el)[-\s](?=[A-Z])", lambda m: m.group(1).lower() + "-", name)


def _dated_elsewhere(text: str, published: dt.date | None) -> bool:
    """Does the sentence date itself away from the publication (another month or year)?

    "since <month>" is what the previous release was, not when this sentence happened.
    """
    text = re.sub(rf"\bsince\s+(?:last\s+)?{MONTH_RE}(?:\s+(?:19|20)\d\d|\s+last year)?",
                  "", text)
    text = re.sub(r"\bfirst\b([^.]{0,80}?)\bsince\s+(?:19|20)\d\d\b", r"first\1", text)
    if published is not None:
        def recent(m: re.Match) -> str:
            when = resolve_day_month(m, published)
            return "" if when and (published - when).days <= 14 else m.group(0)
        text = DAY_MONTH_RE.sub(recent, text)
    if published is None:
        return bool(re.search(rf"\b{MONTH_RE}\b|\b(19|20)\d\d\b", text))
    for m in re.finditer(r"\b(19|20)\d\d\b", text):
        if int(m.group(0)) != published.year:
            return True
    for m in re.finditer(rf"\b({MONTH_RE})\b", text):
        month = MONTHS[m.group(1).lower()]
        if month != published.month and not (published.day <= 7 and
                                              month == (published.month - 2) % 12 + 1):
            return True
    return bool(re.search(r"\blast year['’]s\b", text, re.I))


def _canonical_outlet(found: str, vocab: dict) -> str:
    """The vocabulary's spelling; its short form ("al-Furqan Media" -> "al-Furqan") only
    where the vocabulary lists that short form too (a user's "Example Media Center" stays)."""
    names = {n.lower(): n for n in vocab["media_outlets"]}
    name = names.get(found.lower(), found)
    short = re.sub(r"\s+(Media|News Agency|Media Center|Media Centre|Media Foundation)$", "",
                   name)
    return names.get(short.lower(), name)


WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                "eight": 8, "nine": 9, "ten": 10, "fifteen": 15, "twenty": 20, "thirty": 30,
                "forty": 40, "forty-five": 45, "fifty": 50, "sixty": 60, "ninety": 90}


def duration_minutes(text: str) -> float | None:
    """Length stated in words or digits: "half hour-long" 30, "over 46-minute-long" 46."""
    t = text.lower()
    if re.search(r"\b(an? |one )?hour and a half\b", t):
        return 90.0
    if re.search(r"\bhalf[- ]an?[- ]hour\b|\bhalf[- ]hour\b", t):
        return 30.0
    if re.search(r"\bquarter[- ]of[- ]an[- ]hour\b|\bquarter[- ]hour\b", t):
        return 15.0
    m = re.search(r"\b(\d+(?:\.\d+)?)[- ](?:minutes?|mins?)\b", t)
    if m:
        return float(m.group(1)) if "." in m.group(1) else int(m.group(1))
    m = re.search(r"\b(" + "|".join(sorted(WORD_NUMBERS, key=len, reverse=True)) +
                  r")[- ]minutes?\b", t)
    if m:
        return WORD_NUMBERS[m.group(1)]
    around = r"(?:(?:about|around|nearly|almost|roughly|over|more than|some|just under|" \
             r"just over|close to)\s+)?"
    m = re.search(rf"\b(?:lasted|lasting|lasts|ran|runs|length of|of|(?:speaks|spoke|speaking|"
                  rf"talks|talked|talking) for)\s+{around}"
                  r"(an|one|two|three|\d+)\s+hours?\b(?!\s+(?:ago|later|before|after))", t)
    if m:
        n = {"an": 1, "one": 1, "two": 2, "three": 3}.get(m.group(1)) or int(m.group(1))
        return 60 * n
    m = re.search(r"\b(\d+)[- ]hours?[- ]long\b", t)
    if m:
        return 60 * int(m.group(1))
    if re.search(r"\b(an|one)[- ]hour[- ]long\b|\bhour-long\b", t):
        return 60
    return None


#: platforms named beside a bare "Element" (the messenger, not the word)
PLATFORMS = r"Telegram|Rocket\.Chat|YouTube|Twitter|X|WhatsApp|Signal|Facebook|TikTok"
#: "The message, posted on the group's Telegram channel, is ...": a sentence about this
#: release in its opening appositive, whatever else it says later
RELEASE_APPOSITIVE = re.compile(
    r"^(?:The|This|That)\s+(?:new\s+|latest\s+|[\w-]+-only\s+)?(?:message|recording|audio|"
    r"video|statement|speech|sermon|address|tape)\b,\s+([^,]*\b(?:posted|published|released|"
    r"distributed|shared|circulated|uploaded|disseminated|issued)\b[^,]*),")

#: an article that debunks a recording rather than reporting one (headline and lede)
DEBUNK = re.compile(r"\b(?:fact[- ]?check|verdict:\s*(?:false|fake|fabricated|misleading)|"
                    r"(?:is|was|are|were)\s+(?:a\s+)?(?:fabricated|fake|doctored|deepfake)|"
                    r"(?:fake|fabricated|doctored|deepfake)\s+(?:audio|recording|clip|video))\b",
                    re.I)
#: a recording credited to another voice of the group: "the spokesman of the Front, NAME,"
OTHER_VOICE = re.compile(r"\b(?:spokesman|spokesperson|spokeswoman|deputy|official)\b"
                         r"(?:\s+(?:of|for)\s+[^,]{3,60})?,\s+((?:[A-Z][\w'’-]+|al-[A-Z]"
                         r"[\w'’-]+|bin|ibn|abu|Abu)(?:[\s-](?:[A-Z][\w'’-]+|al-[A-Z][\w'’-]+|"
                         r"bin|ibn)){0,4}),")

#: what a report calls the speaker's earlier release
PREVIOUS_NOUNS = ("message|recording|audio|speech|video|statement|appearance|sermon|address|"
                  "tape")
#: "early November", "late 2023", "mid-2022": a part of a month or year (the precision stays
#: the month's or the year's)
PART_RE = r"(?:early|mid|mid-|late|the end of|the start of|the beginning of)"
#: the last month (1-12) of each season in the northern hemisphere (winter ends in February)
SEASON_END = {"spring": 5, "summer": 8, "autumn": 11, "fall": 11, "winter": 2}


def previous_release(text: str, base: dt.date) -> dict[str, Any] | None:
    """Where a sentence says when the previous message came, with its date resolved."""
    t = text
    m = re.search(r"\bfirst\b[^.]{0,80}?\b(?:in|for)\s+(?:a|one|over a|more than a|nearly a|"
                  r"almost a)\s+year\b", t, re.I)
    if m:
        return {"phrase": m.group(0), "date": (base - dt.timedelta(days=365)).isoformat()[:7],
                "precision": "about a year before"}
    m = re.search(r"\bfirst\b[^.]{0,80}?\b(?:in|for)\s+(?:over\s+|more than\s+|nearly\s+|"
                  r"almost\s+)?(two|three|four|five|six|seven|eight|nine|ten|\d+)\s+years\b",
                  t, re.I)
    if m:
        n = WORD_NUMBERS.get(m.group(1).lower()) or int(m.group(1))
        return {"phrase": m.group(0), "date": f"{base.year - n:04d}", "precision": "year"}
    m = re.search(r"\bfirst\b[^.]{0,80}?\b(?:in|for)\s+(?:over\s+|more than\s+|nearly\s+|"
                  r"almost\s+)?(two|three|four|five|six|seven|eight|nine|ten|\d+)\s+months\b",
                  t, re.I)
    if m:
        n = WORD_NUMBERS.get(m.group(1).lower()) or int(m.group(1))
        months = base.year * 12 + base.month - 1 - n
        return {"phrase": m.group(0), "date": f"{months // 12:04d}-{months % 12 + 1:02d}",
                "precision": "month"}
    m = re.search(rf"\bfirst\b[^.]{{0,80}}?\bsince\s+(?:{PART_RE}\s+)?((?:19|20)\d\d)\b",
                  t, re.I)
    if m and not re.search(rf"\bsince\s+(?:last\s+)?{MONTH_RE}\s+{m.group(1)}", t):
        return {"phrase": m.group(0), "date": m.group(1), "precision": "year"}
    m = re.search(rf"\bfirst\b[^.]{{0,80}}?\bsince\s+(?:a|an|his|the)\s+[^.]{{0,40}}?"
                  rf"\b(?:{PREVIOUS_NOUNS})\b[^.]{{0,20}}?\bin\s+(?:{PART_RE}\s+)?({MONTH_RE})"
                  r"(?:\s+(\d{4}))?", t, re.I)
    if m:
        y, mo = resolve_month(MONTHS[m.group(1).lower()], base,
                              year=int(m.group(2)) if m.group(2) else None)
        return {"phrase": m.group(0), "date": f"{y:04d}-{mo:02d}", "precision": "month"}
    m = re.search(rf"\bfirst\b[^.]{{0,80}}?\bsince\s+(?:last\s+)?({MONTH_RE})(?:\s+(\d{{4}})|"
                  r"\s+(last year))?", t, re.I)
    if m:
        month = MONTHS[m.group(1).lower()]
        year = int(m.group(2)) if m.group(2) else (base.year - 1 if m.group(3) else None)
        y, mo = resolve_month(month, base, year=year)
        return {"phrase": m.group(0), "date": f"{y:04d}-{mo:02d}", "precision": "month"}
    m = re.search(rf"\b(?:last|previous|latest|most recent)\b[^.]{{0,60}}?\b(?:{PREVIOUS_NOUNS})"
                  rf"\b[^.]{{0,60}}?\b(?:in|on)\s+(?:{PART_RE}\s+)?({MONTH_RE})(?:\s+(\d{{4}}))?",
                  t, re.I)
    if m:
        month = MONTHS[m.group(1).lower()]
        y, mo = resolve_month(month, base, year=int(m.group(2)) if m.group(2) else None)
        return {"phrase": m.group(0), "date": f"{y:04d}-{mo:02d}", "precision": "month"}
    m = re.search(rf"\b(?:nearly|almost|more than|over|about)?\s*a\s+year\s+after\s+(?:his|her|"
                  rf"its|the)\s+(?:last|previous)\s+(?:{PREVIOUS_NOUNS})\b", t, re.I)
    if m:
        return {"phrase": m.group(0), "date": f"{base.year - 1:04d}", "precision": "year"}
    m = re.search(rf"\b(?:last|previous|latest|most recent)\b[^.]{{0,60}}?\b(?:{PREVIOUS_NOUNS})"
                  r"\b[^.]{0,60}?\bin\s+the\s+(spring|summer|autumn|fall|winter)\b", t, re.I)
    if m:
        last_month = SEASON_END[m.group(1).lower()]
        year = base.year if base.month > last_month else base.year - 1
        return {"phrase": m.group(0), "date": f"{year:04d}", "precision": "year"}
    m = re.search(rf"^\s*In\s+({MONTH_RE})(?:\s+(\d{{4}}))?,[^.]*\b(issued|released|published|"
                  r"put out)\b[^.]*\b(audio|recording|message|video|speech)\b", t)
    if m:
        month = MONTHS[m.group(1).lower()]
        y, mo = resolve_month(month, base, year=int(m.group(2)) if m.group(2) else None)
        return {"phrase": m.group(0), "date": f"{y:04d}-{mo:02d}", "precision": "month"}
    return None


def _month_in(text: str, base: dt.date) -> str | None:
    m = re.search(rf"\b({MONTH_RE})(?:\s+(\d{{1,2}})(?!\d))?(?:,?\s+(\d{{4}}))?", text)
    if m:
        y, mo = resolve_month(MONTHS[m.group(1).lower()], base,
                              year=int(m.group(3)) if m.group(3) else None)
        return f"{y:04d}-{mo:02d}"
    m = re.search(r"\blast year\b", text, re.I)
    if m:
        return f"{base.year - 1:04d}"
    return None
