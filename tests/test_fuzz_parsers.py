"""Property tests of every parser of a user's file: any input ends in a clean PurportError
(one line) or a valid result, never another exception.

Grid logs, events catalogs, transcripts, articles (text and HTML), the ``news add --meta``
JSON and fingerprint files (real ones mutated: truncated, bytes flipped, entries replaced,
dropped or added). The examples are derandomized (the same on every run, so CI is
reproducible) and bounded so the file runs in well under a minute on two cores; set
``PURPORT_FUZZ_SCALE`` (say 20) for a deeper local run, ``PURPORT_FUZZ_RANDOM=1`` for
fresh random examples instead of the fixed ones, and ``PURPORT_FUZZ_SAVE`` to a folder to
keep every input that broke the property. Inputs that once broke it live in
``tests/fuzz_corpus/<parser>/`` and are replayed by ``test_corpus_input_is_handled``.
"""

from __future__ import annotations

import atexit
import codecs
import datetime as dt
import hashlib
import io
import math
import os
import shutil
import string
import tempfile
import zipfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from purport.assess.reuse import read_fingerprint
from purport.errors import PurportError
from purport.news.extract import Extractor, read_article
from purport.news.record import read_meta
from purport.reuse import Index, fingerprint, match, match_self, to_bytes
from purport.timing import content, grid
from tests.speechlike import speech

CORPUS = Path(__file__).parent / "fuzz_corpus"
SCALE = float(os.environ.get("PURPORT_FUZZ_SCALE", "1"))
RANDOM = os.environ.get("PURPORT_FUZZ_RANDOM") == "1"


def fuzz(examples: int):
    """Derandomized, no example database (the checkout is shared), no deadline."""
    return settings(max_examples=max(1, int(examples * SCALE)), deadline=None,
                    derandomize=not RANDOM, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def mostly(good: st.SearchStrategy, bad: st.SearchStrategy, *, one_in: int = 12):
    """``good``, and ``bad`` about once in ``one_in`` draws."""
    return st.integers(0, one_in - 1).flatmap(lambda i: bad if i == 0 else good)


# -- the property ------------------------------------------------------------------------

def _save(parser: str, data: bytes, suffix: str) -> None:
    folder = os.environ.get("PURPORT_FUZZ_SAVE")
    if folder:
        out = Path(folder) / parser
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{hashlib.sha256(data).hexdigest()[:16]}{suffix}").write_bytes(data)


def handled(parser: str, data: bytes, suffix: str = "") -> Any:
    """Run ``parser`` on ``data``: its result, or None after a one-line PurportError."""
    try:
        return PARSERS[parser](data, suffix)
    except PurportError as exc:
        text = str(exc)
        if not text or "\n" in text:
            _save(parser, data, suffix)
            raise AssertionError(f"not one line: {text!r}") from exc
        return None
    except Exception:
        _save(parser, data, suffix)
        raise


@cache
def _folder() -> Path:
    folder = tempfile.mkdtemp(prefix="purport-fuzz-")
    atexit.register(shutil.rmtree, folder, True)
    return Path(folder)


def _file(data: bytes, suffix: str) -> Path:
    path = _folder() / f"input{suffix}"
    path.write_bytes(data)
    return path


def _grid(data: bytes, suffix: str) -> grid.GridLog:
    log = grid.read_csv(_file(data, suffix or ".csv"))
    finite = log.freq[np.isfinite(log.freq)]
    assert log.seconds >= 60 and len(finite)
    assert np.all(np.abs(finite - log.nominal) <= grid.MAX_OFF_NOMINAL + 1e-9)
    assert log.end > log.start
    return log


def _events(data: bytes, suffix: str) -> list[content.Event]:
    events = content.read_events(_file(data, suffix or ".csv"))
    assert events and all(e.title and isinstance(e.date, dt.date) for e in events)
    return events


def _transcript(data: bytes, suffix: str) -> str:
    text = content.read_transcript(_file(data, suffix or ".txt"))
    assert isinstance(text, str) and text.strip()
    content.sentences(text)
    return text


def _article(data: bytes, suffix: str) -> Any:
    article = read_article(_file(data, suffix or ".txt"))
    assert isinstance(article["text"], str) and len(article["text"].split()) >= 12
    published = article.get("published")
    date = dt.date.fromisoformat(published) if published else None
    return Extractor().extract(article["text"], published=date)


def _meta(data: bytes, suffix: str) -> dict:
    found = read_meta(_file(data, suffix or ".json"))
    assert all(isinstance(v, dict) and all(isinstance(x, str) for x in v.values())
               for v in found.values())
    return found


def _fingerprint(data: bytes, suffix: str) -> Any:
    fp, query = read_fingerprint(data, name="q.fp")
    assert len(fp.hash) == len(fp.t1) == len(fp.span) == len(fp.f1)
    assert math.isfinite(fp.duration) and query["duration"] == round(fp.duration, 3)
    match_self(fp)                  # a fingerprint that reads must also match, cleanly
    match(_index(), fp)
    return fp


PARSERS: dict[str, Callable[[bytes, str], Any]] = {
    "grid": _grid, "events": _events, "transcript": _transcript, "article": _article,
    "meta": _meta, "fingerprint": _fingerprint,
}


# -- text in any encoding ------------------------------------------------------------------

ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "cp1252",
             "latin-1"]


@st.composite
def encoded(draw, text: st.SearchStrategy[str]) -> bytes:
    """Text in some encoding (with or without a byte-order mark), sometimes damaged."""
    value = draw(text)
    encoding = draw(st.sampled_from(ENCODINGS))
    data = value.encode(encoding, errors="replace")
    if encoding in ("utf-16-le", "utf-16-be") and draw(st.booleans()):
        data = (codecs.BOM_UTF16_LE if encoding.endswith("le") else codecs.BOM_UTF16_BE) + data
    damage = draw(st.sampled_from(["none"] * 5 + ["truncate", "bytes", "nul"]))
    if damage == "truncate" and data:
        data = data[:draw(st.integers(0, len(data) - 1))]
    elif damage == "bytes":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=16)) + data[at:]
    elif damage == "nul":
        data = data.replace(b",", b"\x00", 1)
    return data


def _zone(t: dt.datetime) -> str:
    return "Z" if t.microsecond % 2 else ""


NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(49.0, 51.0).map(lambda f: f"{f:.4f}"),
    st.floats(59.0, 61.0).map(lambda f: f"{f:.3f}"),
    st.sampled_from(["", "nan", "inf", "-inf", "1e309", "50,0", "NaN", "5e1", "0x32", " 50 "]),
    st.text(max_size=8),
)
TIMES = st.one_of(
    st.datetimes(min_value=dt.datetime(1960, 1, 1), max_value=dt.datetime(2110, 1, 1))
    .map(lambda t: t.isoformat() + _zone(t)),
    st.integers(-10, 5_000_000_000).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["2024-03-01T12:00:00Z", "2024-03-01", "garbage", "", "2024-02-30T00:00"]),
    st.text(max_size=12),
)



@st.composite
def grid_text(draw) -> str:
    """A grid log: a good one (50 or 60 Hz, 1 s or 100 ms), some of its rows damaged."""
    nominal = draw(st.sampled_from([50.0, 60.0]))
    step = draw(st.sampled_from([1.0, 1.0, 0.1, 60.0]))
    n = draw(st.one_of(st.integers(60, 150), st.integers(60, 150), st.integers(0, 150)))
    start = dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC)
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    rows = [[(start + dt.timedelta(seconds=i * step)).isoformat().replace("+00:00", "Z"),
             f"{nominal + 0.02 * rng.standard_normal():.4f}"] for i in range(n)]
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2, 3]))):
        if not rows:
            break
        i = draw(st.integers(0, len(rows) - 1))
        kind = draw(st.sampled_from(["time", "value", "drop", "dup", "swap", "cols", "line"]))
        if kind == "time":
            rows[i][0] = draw(TIMES)
        elif kind == "value":
            rows[i] = rows[i][:1] + [draw(NUMBERS)] + rows[i][2:]
        elif kind == "drop":
            del rows[i:i + draw(st.integers(1, 40))]
        elif kind == "dup":
            rows.insert(i, list(rows[i]))
        elif kind == "swap" and i:
            rows[i - 1], rows[i] = rows[i], rows[i - 1]
        elif kind == "cols":
            rows[i] = rows[i][:1] + draw(st.lists(st.text(max_size=5), max_size=3))
        else:
            rows.insert(i, [draw(st.text(max_size=40))])
    header = draw(st.sampled_from(["timestamp,frequency_hz\n", "", "# comment\n", "a,b,c\n"]))
    sep = draw(mostly(st.just(","), st.sampled_from([";", "\t", ", "])))
    return header + "".join(sep.join(r) + draw(st.sampled_from(["\n", "\r\n"])) for r in rows)


@fuzz(500)
@given(encoded(grid_text()))
def test_grid_log_input_is_handled(data):
    handled("grid", data)


@fuzz(100)
@given(st.binary(max_size=600))
def test_grid_log_bytes_are_handled(data):
    handled("grid", data)


WORDS = mostly(st.text(alphabet=string.ascii_letters + " éü’—", min_size=1, max_size=30),
               st.text(alphabet=string.ascii_letters + " ,;\"'éü’—\t\n", max_size=30))


VALID_DATES = st.dates(dt.date(1990, 1, 1), dt.date(2030, 1, 1)).map(dt.date.isoformat)
DATES = mostly(VALID_DATES, st.one_of(
    st.text(max_size=12), st.sampled_from(["2024-02-30", "2024-13-01", "10 Jan 2024", "",
                                           "20240110", "2024-W02-3"])))


@st.composite
def events_text(draw) -> str:
    header = draw(st.sampled_from(["date,title,description,keywords"] * 3 + [
        "date,title", "Date,Title", "title,date", "date", "", "date,title,date"]))
    rows = draw(st.lists(st.tuples(DATES, WORDS, WORDS, WORDS), max_size=8))
    quote = draw(st.sampled_from(["", '"']))
    body = "".join(f"{d},{quote}{t}{quote},{x},{k}\n" for d, t, x, k in rows)
    return f"{header}\n{body}"


@fuzz(500)
@given(encoded(events_text()))
def test_events_csv_input_is_handled(data):
    handled("events", data)


@fuzz(300)
@given(st.one_of(encoded(st.text(max_size=400)), st.binary(max_size=400)))
def test_transcript_input_is_handled(data):
    handled("transcript", data)


SENTENCES = st.sampled_from([
    "Abu Fulan al-Mithali released an audio message on Tuesday urging attacks.",
    "The message lasted 12 minutes and was posted on Telegram.",
    "Its authenticity could not be independently verified.",
    "It was his first message since March 2023, the group's media arm said.",
    "(AP Photo) A file photo of the speaker.", "Read more: earlier reports.",
    "The region has seen fighting for months.", "Mr. Example said on Jan. 5 that it was old.",
])


@st.composite
def article_text(draw) -> tuple[str, str]:
    parts = draw(st.lists(st.one_of(SENTENCES, st.text(max_size=60)), max_size=12))
    sep = draw(st.sampled_from([" ", "\n", "\n\n"]))
    text = sep.join(parts)
    if draw(st.booleans()):
        tag = draw(st.sampled_from(["p", "div", "article", "script", "title", "meta"]))
        date = draw(st.one_of(st.dates().map(dt.date.isoformat), st.text(max_size=10)))
        html = (f"<!doctype html><html><head><title>{draw(st.text(max_size=20))}</title>"
                f"<meta property='article:published_time' content='{date}'></head><body>"
                + "".join(f"<{tag}>{p}</{tag}>" for p in parts) + "</body></html>")
        return html[:draw(st.integers(0, len(html)))] if draw(st.booleans()) else html, ".html"
    return text, draw(st.sampled_from([".txt", ".md"]))


@fuzz(250)
@given(article_text(), st.data())
def test_article_input_is_handled(article, data):
    text, suffix = article
    handled("article", data.draw(encoded(st.just(text))), suffix)


JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                         st.text(max_size=20))
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12)
META_ENTRY = st.dictionaries(st.sampled_from(["published", "outlet", "url", "other"]),
                             st.one_of(JSON_SCALARS, DATES), max_size=4)


@fuzz(400)
@given(st.one_of(
    st.dictionaries(st.text(max_size=12), st.one_of(META_ENTRY, JSON_VALUES), max_size=4),
    JSON_VALUES), st.data())
def test_meta_json_input_is_handled(value, data):
    import json

    text = json.dumps(value)
    if data.draw(st.booleans()):
        text = text[:data.draw(st.integers(0, len(text)))]
    handled("meta", data.draw(encoded(st.just(text))))


# -- fingerprint files ----------------------------------------------------------------------

@cache
def _real_fp() -> bytes:
    fp = fingerprint(speech(12.0, seed=21, sr=8000), sr=8000)
    return to_bytes(fp, query=True, source={"name": "q.wav", "sha256": "cd" * 32,
                                            "duration": 12.0})


@cache
def _index() -> Index:
    index = Index()
    index.add(1, fingerprint(speech(12.0, seed=21, sr=8000), sr=8000))
    return index


@cache
def _real_entries() -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(_real_fp())) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=True)
    return buf.getvalue()


ARRAYS = hnp.arrays(
    dtype=st.sampled_from([np.uint32, np.int32, np.int16, np.float16, np.float32, np.float64,
                           np.uint8, np.int64, np.bool_, np.dtype("<U8"), np.dtype(">u4")]),
    shape=hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=40))
KEYS = ["hash", "t1", "span", "f1", "peaks_t", "peaks_f", "level", "duration", "method",
        "triplet_peaks", "source", "extra"]


@st.composite
def fingerprint_file(draw) -> bytes:
    base = _real_fp()
    kind = draw(st.sampled_from(["truncate", "flip", "replace", "drop", "rezip", "npy"]))
    if kind == "truncate":
        return base[:draw(st.integers(0, len(base) - 1))]
    if kind == "flip":
        data = bytearray(base)
        for at, bits in draw(st.lists(st.tuples(st.integers(0, len(base) - 1),
                                                st.integers(1, 255)), min_size=1, max_size=6)):
            data[at] ^= bits
        return bytes(data)
    entries = dict(_real_entries())
    key = draw(st.sampled_from(KEYS))
    if kind == "replace":
        value = draw(st.one_of(ARRAYS, st.binary(max_size=64).map(lambda b: b"\x93NUMPY" + b),
                               st.just(np.array([object(), None], dtype=object))))
        entries[f"{key}.npy"] = value if isinstance(value, bytes) else _npy(value)
    elif kind == "drop":
        entries.pop(f"{key}.npy", None)
    elif kind == "npy":  # a real entry cut short, or its header changed
        raw = entries.get(f"{key}.npy", _npy(np.zeros(3)))
        entries[f"{key}.npy"] = raw[:draw(st.integers(0, len(raw)))]
    else:  # the same arrays, some of them consistent but unusual
        arrays = {k[:-4]: np.load(io.BytesIO(v)) for k, v in entries.items()}
        change = draw(st.sampled_from(["duration", "empty", "peaks", "level"]))
        if change == "duration":
            arrays["duration"] = np.float64(draw(st.floats(allow_nan=True,
                                                           allow_infinity=True)))
        elif change == "empty":
            for k in ("hash", "t1", "span", "f1", "triplet_peaks"):
                arrays[k] = arrays[k][:0]
        elif change == "peaks":
            arrays["peaks_t"] = arrays["peaks_t"] + draw(st.integers(-5, 5))
        else:
            arrays["level"] = np.zeros(draw(st.integers(0, 2000)), np.uint8)
        entries = {f"{k}.npy": _npy(v) for k, v in arrays.items()}
    method = draw(st.sampled_from([zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED]))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, raw in entries.items():
            zf.writestr(name, raw)
    return buf.getvalue()


@fuzz(400)
@given(fingerprint_file())
def test_fingerprint_file_input_is_handled(data):
    handled("fingerprint", data, ".fp")


def test_the_real_fingerprint_reads():
    assert handled("fingerprint", _real_fp(), ".fp") is not None


# -- the corpus of inputs that once failed --------------------------------------------------

CORPUS_FILES = sorted(p for p in CORPUS.glob("*/*") if p.is_file() and p.parent.name in PARSERS)


def test_the_corpus_covers_every_parser():
    assert {p.parent.name for p in CORPUS_FILES} == set(PARSERS)


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_input_is_handled(path):
    handled(path.parent.name, path.read_bytes(), path.suffix)
