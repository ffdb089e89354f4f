"""Speech for the case set from three independent recipes: espeak-ng, flite and FSDD digits.

Text comes from local, non-extremist sources (:mod:`textpool` of the reuse benchmark:
standard-library docstrings, licences, manual pages, gettext catalogues). The archive reads
sentences from the front of each language's shuffled pool and fresh speech from the back;
a fresh sentence that shares a run of ``textpool.SHARED_PHRASE_WORDS`` words with any
archive sentence (also with one-letter words and numbers left out: :func:`phrases_of`)
is skipped, because a synthetic voice reading the same phrase again makes
the same audio (that is re-use, not fresh speech), and no recording repeats a phrase of its
own (so the only repeat a ``--self`` search should find is the planted one). FSDD digits are
real speech: the archive's FSDD release uses some takes of one speaker, fresh speech only
the other takes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import audio
import numpy as np
from plan import SPEECH_DBFS, SR, Voice

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "reuse"))
import textpool  # noqa: E402

FSDD_DIR = Path(os.environ.get("FSDD_DIR", HERE.parents[2] / "shared" / "data" / "fsdd"))
SENTENCES_VERSION = 1
"""Bumped when the unique-sentence lists change."""


# --- text ---------------------------------------------------------------------------------


def unique_sentences(cache: Path) -> dict[str, list[str]]:
    """Every clean sentence of every language once (case-folded, across languages), cached.

    Building it reads the local text sources (about 15 s); the cache is keyed by
    SENTENCES_VERSION and textpool.POOLS_VERSION.
    """
    path = cache / f"sentences-v{SENTENCES_VERSION}-{textpool.POOLS_VERSION}.json"
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    seen: set[str] = set()
    out: dict[str, list[str]] = {}
    for lang in textpool.LANGS:
        out[lang] = []
        for text in textpool.language_texts(lang):
            for sentence in textpool.split_sentences(text, lang):
                key = unicodedata.normalize("NFKC", sentence).casefold()
                if key not in seen:
                    seen.add(key)
                    out[lang].append(sentence)
    cache.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, ensure_ascii=False), encoding="utf-8")
    return out


def phrases_of(sentence: str, n: int = textpool.SHARED_PHRASE_WORDS) -> set[tuple[str, ...]]:
    """Runs of `n` words of `sentence`, as written and with one-letter words and numbers
    left out.

    The second set catches near-twins such as the catalogue strings "x-pad, x-align" and
    "y-pad, y-align" (in Arabic "حشو س" / "حشو ص"), which share no 4-word phrase as
    written but which a synthetic voice reads as almost the same audio (found in dev-small:
    a 5-s match between two such Arabic lines).
    """
    words = re.findall(r"\w+", unicodedata.normalize("NFKC", sentence).casefold())
    bare = [w for w in words if len(w) > 1 and not w.isdigit()]
    return ({tuple(words[i:i + n]) for i in range(len(words) - n + 1)}
            | {tuple(bare[i:i + n]) for i in range(len(bare) - n + 1)})


class Texts:
    """Hands out sentences, each once in the whole set: archive first, then fresh speech."""

    SIDES = ("archive", "fresh")

    def __init__(self, sentences: dict[str, list[str]], seed: int) -> None:
        """Shuffle every language's pool with `seed`."""
        self.pools = {}
        for lang, pool in sentences.items():
            order = np.random.default_rng([seed, 3, textpool.LANGS.index(lang)]).permutation(
                len(pool))
            self.pools[lang] = [pool[i] for i in order]
        self.front = {lang: 0 for lang in self.pools}
        self.back = {lang: len(pool) for lang, pool in self.pools.items()}
        self.archive_phrases: set[tuple[str, ...]] = set()
        self.fresh_started = False
        self.rngs = {(side, lang): np.random.default_rng([seed, 5, i, textpool.LANGS.index(lang)])
                     for i, side in enumerate(self.SIDES) for lang in self.pools}
        self.pseudo = 0

    def take(self, side: str, lang: str, own: set[tuple[str, ...]]) -> str:
        """The next sentence for a recording of `side` whose phrases so far are `own`.

        Archive sentences must all be taken before the first fresh one (the fresh filter
        needs every archive phrase). When a pool runs dry, seeded pseudo-words in the
        language's script are read instead (counted in ``self.pseudo``).
        """
        if side == "archive" and self.fresh_started:
            raise RuntimeError("archive text asked for after fresh text: plan the archive first")
        self.fresh_started |= side == "fresh"
        pool = self.pools[lang]
        while self.front[lang] < self.back[lang]:
            if side == "archive":
                sentence = pool[self.front[lang]]
                self.front[lang] += 1
            else:
                self.back[lang] -= 1
                sentence = pool[self.back[lang]]
            if self._usable(sentence, side, own):
                return sentence
        while True:
            self.pseudo += 1
            sentence = textpool.pseudo_sentence(lang, self.rngs[side, lang])
            if self._usable(sentence, side, own):
                return sentence

    def _usable(self, sentence: str, side: str, own: set[tuple[str, ...]]) -> bool:
        """Take `sentence` if it shares no phrase with the archive or its own recording."""
        phrases = phrases_of(sentence)
        if phrases & self.archive_phrases or phrases & own:
            return False
        own |= phrases
        if side == "archive":
            self.archive_phrases |= phrases
        return True


# --- FSDD ---------------------------------------------------------------------------------


class Fsdd:
    """The FSDD takes (8 kHz real spoken digits), each handed out once, per speaker."""

    def __init__(self, seed: int, folder: Path = FSDD_DIR) -> None:
        """Shuffle every speaker's takes with `seed`."""
        files = sorted(p.name for p in folder.glob("*_*_*.wav"))
        if not files:
            raise SystemExit(f"error: no FSDD takes in {folder} (set FSDD_DIR)")
        self.folder = folder
        self.takes: dict[str, list[str]] = {}
        for name in files:
            self.takes.setdefault(name.split("_")[1], []).append(name)
        for i, speaker in enumerate(sorted(self.takes)):
            order = np.random.default_rng([seed, 9, i]).permutation(len(self.takes[speaker]))
            self.takes[speaker] = [self.takes[speaker][j] for j in order]

    @staticmethod
    def speakers(folder: Path = FSDD_DIR) -> list[str]:
        """The FSDD speakers present, sorted."""
        return sorted({p.name.split("_")[1] for p in folder.glob("*_*_*.wav")})

    def next(self, speaker: str, only: bool) -> Path | None:
        """The next unused take of `speaker` (or, unless `only`, of any speaker)."""
        if self.takes.get(speaker):
            return self.folder / self.takes[speaker].pop()
        if only:
            return None
        left = [s for s in sorted(self.takes) if self.takes[s]]
        return self.folder / self.takes[left[0]].pop() if left else None

    def left(self) -> int:
        """How many takes are still unused."""
        return sum(len(v) for v in self.takes.values())


# --- synthesis ----------------------------------------------------------------------------


def run(cmd: list[str]) -> None:
    """Run a command, raising with the end of its stderr on failure."""
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd[:3])}... failed: {proc.stderr.strip()[-400:]}")


def synth(voice: Voice, text: str) -> np.ndarray:
    """`text` read by a TTS voice, at SR, leading and trailing silence trimmed."""
    with tempfile.TemporaryDirectory() as tmp:
        src, raw = Path(tmp) / "text.txt", Path(tmp) / "raw.wav"
        src.write_text(text, encoding="utf-8")
        if voice.recipe == "espeak":
            run(["espeak-ng", "-v", voice.name, "-s", f"{voice.rate:.0f}",
                 "-p", f"{voice.pitch:.0f}", "-f", str(src), "-w", str(raw)])
        else:
            run(["flite", "-voice", voice.name, "-f", str(src), "-o", str(raw),
                 "--setf", f"duration_stretch={voice.rate:.3f}",
                 "--setf", f"int_f0_target_mean={voice.pitch:.1f}"])
        y, sr = audio.read_wav(raw)
    return audio.trim_silence(audio.to_sr(y, sr))


@dataclass
class Speech:
    """Clean speech at SPEECH_DBFS, its activity, and what it says.

    ``lines`` are (start s, text) per paragraph (FSDD: per spoken number, its digits).
    """

    y: np.ndarray
    act: np.ndarray
    units: int  # sentences, or FSDD takes
    lines: list[tuple[float, str]]

    @property
    def seconds(self) -> float:
        """Length in seconds."""
        return len(self.y) / SR


class Reader:
    """Reads text (or digits) aloud for recordings of the archive or fresh speech."""

    def __init__(self, texts: Texts, fsdd: Fsdd, rng: np.random.Generator) -> None:
        """`rng` draws paragraph sizes and pauses."""
        self.texts = texts
        self.fsdd = fsdd
        self.rng = rng

    def read(self, voice: Voice, seconds: float, side: str) -> Speech:
        """About `seconds` of speech by `voice`, ending in a pause, at SPEECH_DBFS."""
        if voice.recipe == "fsdd":
            parts, lines, units = self._digits(voice.name, seconds, only=side == "archive")
        else:
            parts, lines, units = self._paragraphs(voice, seconds, side)
        y = np.concatenate(parts) if parts else np.zeros(SR, np.float32)
        act = audio.activity(y)
        y = y[: audio.cut_at_pause(y, act, seconds)]
        act = audio.activity(y)
        y = audio.gain(y, SPEECH_DBFS - audio.active_dbfs(y, act))
        return Speech(y, act, units, [(t, text) for t, text in lines if t < len(y) / SR])

    def _paragraphs(self, voice: Voice, seconds: float, side: str
                    ) -> tuple[list[np.ndarray], list[tuple[float, str]], int]:
        """Paragraphs of 2-6 sentences, 0.4-1.2 s apart, until `seconds` is passed."""
        parts: list[np.ndarray] = []
        lines: list[tuple[float, str]] = []
        own: set[tuple[str, ...]] = set()
        total, units = 0.0, 0
        while total < seconds + 2.0:
            n = int(self.rng.integers(2, 7))
            text = [self.texts.take(side, voice.lang, own) for _ in range(n)]
            y = synth(voice, "\n".join(text))
            pause = np.zeros(int(self.rng.uniform(0.4, 1.2) * SR), np.float32)
            lines.append((round(total, 2), " ".join(text)))
            parts += [y, pause]
            total += (len(y) + len(pause)) / SR
            units += n
        return parts, lines, units

    def _digits(self, speaker: str, seconds: float, only: bool
                ) -> tuple[list[np.ndarray], list[tuple[float, str]], int]:
        """FSDD takes in numbers of 2-6 digits: 0.05-0.25 s apart inside a number,
        0.5-1.2 s between numbers; stops early when the takes run out."""
        parts: list[np.ndarray] = []
        lines: list[tuple[float, str]] = []
        total, units = 0.0, 0
        while total < seconds + 1.0:
            digits, start = [], total
            for _ in range(int(self.rng.integers(2, 7))):
                path = self.fsdd.next(speaker, only)
                if path is None:
                    break
                y, sr = audio.read_wav(path)
                y = audio.to_sr(y, sr)
                gap = np.zeros(int(self.rng.uniform(0.05, 0.25) * SR), np.float32)
                parts += [y, gap]
                total += (len(y) + len(gap)) / SR
                units += 1
                digits.append(path.stem)
            if not digits:
                break
            lines.append((round(start, 2), " ".join(digits)))
            parts.append(np.zeros(int(self.rng.uniform(0.5, 1.2) * SR), np.float32))
            total += len(parts[-1]) / SR
        return parts, lines, units
