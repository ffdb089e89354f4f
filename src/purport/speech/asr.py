"""Speech to text with faster-whisper (CTranslate2): segments with their times, words with
theirs, the language detected with its probability, and the model that heard it.

Pure over samples: 16-kHz mono float32 in, a :class:`Transcript` out. Decoding files is
:mod:`purport.media`'s work; storing transcripts is the archive's.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from purport.errors import ParameterError
from purport.speech.model import INSTALL_HINT, AsrModel, ModelError

SR = 16000
COMPUTE_TYPE = "int8"   # CPU: int8 weights, about twice float32's speed at the same words
BEAM_SIZE = 5

LIMITS = ("Automatic speech recognition makes mistakes, most on names, numbers, Arabic and "
          "noisy or music-laden audio, and can invent fluent text over silence or music; "
          "word times are approximate (a few tenths of a second). The Whisper base model "
          "is weak on Arabic: see bench/speech/results.md for measured word error rates, "
          "and use a larger local model (--model) for Arabic. Read the audio before "
          "quoting it.")


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    word: str
    probability: float


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)
    avg_logprob: float | None = None
    no_speech_prob: float | None = None


@dataclass
class Transcript:
    """What was said, when, in which language, and by which model (or by whom)."""

    segments: list[Segment]
    language: str | None
    language_probability: float | None
    duration: float
    model: str
    source: str = "automatic"      # "automatic" (ASR) or "user" (a file the user gave)
    kind: str = "transcript"       # or "translation"
    model_sha256: str | None = None
    #: the SHA-256 of the text file a user-given transcript was read from
    input_sha256: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float | None = None
    created: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(
        timespec="seconds").replace("+00:00", "Z"))
    limits: str = LIMITS

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["text"] = self.text
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Transcript:
        segs = [Segment(**{**s, "words": [Word(**w) for w in s.get("words") or []]})
                for s in d["segments"]]
        keep = {k: v for k, v in d.items() if k in cls.__dataclass_fields__ and k != "segments"}
        return cls(segments=segs, **keep)


def _whisper():
    try:
        from faster_whisper import WhisperModel
    except ImportError:
        raise ModelError(f"speech recognition needs faster-whisper: {INSTALL_HINT}") from None
    return WhisperModel


@lru_cache(maxsize=2)
def _loaded(path: str, threads: int):
    return _whisper()(path, device="cpu", compute_type=COMPUTE_TYPE, cpu_threads=threads)


def languages() -> set[str]:
    """The language codes Whisper knows ("en", "ar", ...)."""
    try:
        from faster_whisper.tokenizer import _LANGUAGE_CODES
    except ImportError:
        raise ModelError(f"speech recognition needs faster-whisper: {INSTALL_HINT}") from None
    return set(_LANGUAGE_CODES)


def check_language(language: str | None) -> str | None:
    """None for automatic detection ("auto" or None); a known code; else one clear error."""
    if language in (None, "", "auto"):
        return None
    code = language.lower()
    if code not in languages():
        raise ParameterError(f"--language {language!r}: not a Whisper language code; give "
                             "auto or a code such as en, ar, fr, ur, ps, so, ha")
    return code


def transcribe(y: np.ndarray, model: AsrModel, *, language: str | None = None,
               beam_size: int = BEAM_SIZE, vad: bool = True) -> Transcript:
    """Transcribe 16-kHz mono samples ``y``: segments with word times; ``language`` None
    detects it (its probability is reported). ``vad`` skips stretches the Silero voice
    detector shipped with faster-whisper hears no speech in (faster, and fewer invented
    words over silence)."""
    language = check_language(language)
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ParameterError("transcribe wants mono samples")
    whisper = _loaded(str(model.path), max(1, os.cpu_count() or 1))
    started = time.perf_counter()
    segments, info = whisper.transcribe(
        y, language=language, beam_size=beam_size, word_timestamps=True, vad_filter=vad,
        condition_on_previous_text=False)
    out = [Segment(start=round(s.start, 2), end=round(s.end, 2), text=s.text.strip(),
                   words=[Word(round(w.start, 2), round(w.end, 2), w.word.strip(),
                               round(w.probability, 3)) for w in s.words or []],
                   avg_logprob=round(s.avg_logprob, 3),
                   no_speech_prob=round(s.no_speech_prob, 3)) for s in segments]
    return Transcript(
        segments=out, language=info.language,
        language_probability=round(info.language_probability, 3) if language is None else None,
        duration=round(len(y) / SR, 3), model=model.name, model_sha256=model.sha256,
        settings={"compute_type": COMPUTE_TYPE, "beam_size": beam_size, "vad_filter": vad,
                  "language": language or "auto", "checked": model.checked,
                  "condition_on_previous_text": False},
        elapsed_s=round(time.perf_counter() - started, 2))


def from_text(text: str, *, duration: float, name: str, kind: str = "transcript",
              language: str | None = None, sha256: str | None = None) -> Transcript:
    """A transcript or translation the user gave (no times: one segment over the whole);
    ``sha256`` is the file's it was read from."""
    return Transcript(segments=[Segment(0.0, round(duration, 2), text.strip())],
                      language=language, language_probability=None,
                      duration=round(duration, 3), model=f"given by the user ({name})",
                      source="user", kind=kind, input_sha256=sha256,
                      limits="A text the user supplied: purport cannot tell how faithful it "
                             "is; it has no times within the recording.")


def _stamp(t: float) -> str:
    ms = int(round(t * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def to_srt(t: Transcript) -> str:
    """SubRip subtitles, one cue per segment."""
    return "\n".join(f"{i}\n{_stamp(s.start)} --> {_stamp(s.end)}\n{s.text}\n"
                     for i, s in enumerate(t.segments, 1))


def to_txt(t: Transcript) -> str:
    """Plain text, one segment per line with its start time."""
    return "".join(f"[{_stamp(s.start)[:8]}] {s.text}\n" for s in t.segments)


def timed_sentences(t: Transcript) -> list[tuple[str, float, float]]:
    """The transcript's sentences (as content dating splits text) with where each lies in
    the recording: from the start of the segment it begins in to the end of the one it ends
    in."""
    from purport.timing.content import sentences

    joined, spans = "", []
    for s in t.segments:
        start = len(joined) + (1 if joined else 0)
        joined = f"{joined} {s.text.strip()}" if joined else s.text.strip()
        spans.append((start, len(joined), s.start, s.end))
    out, pos = [], 0
    for sentence in sentences(joined):
        at = joined.find(sentence, pos)
        if at < 0:
            continue
        end = at + len(sentence)
        pos = end
        first = next((a for a in spans if a[1] > at), spans[-1])
        last = next((a for a in spans if a[1] >= end), spans[-1])
        out.append((sentence, first[2], last[3]))
    return out
