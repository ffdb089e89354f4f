"""Sentence pools for the TTS corpus, gathered from text already on the machine.

Every sentence is used at most once in the whole corpus (indexed and negative recordings
alike), and no negative sentence shares a phrase of ``SHARED_PHRASE_WORDS`` words with any
indexed sentence: a synthetic voice reading the same phrase again makes the same audio,
which is re-use, not a negative. Sources, all local and non-extremist:

* English: Python standard-library docstrings, ``pydoc_data`` topics, the licences in
  ``/usr/share/common-licenses`` and the English manual pages (``/usr/share/man/man[1578]``).
* French, German, Spanish, Italian, Portuguese, Dutch, Russian, Turkish: the translated
  manual pages under ``/usr/share/man/<lang>`` and gettext catalogues under
  ``/usr/share/locale/<lang>``.
* Arabic and Persian: gettext catalogues (``/usr/share/locale/ar``, ``fa``).

When a language runs out, :func:`pseudo_sentence` makes pronounceable pseudo-words in that
language's script (seeded), so a corpus of any size can be generated. The pools depend on
the files installed on the machine: the same seed on the same machine gives the same corpus.
"""

from __future__ import annotations

import ast
import gettext
import glob
import gzip
import json
import os
import re
import sysconfig
import unicodedata
from pathlib import Path

import numpy as np

LANGS = ("en", "ar", "fa", "fr", "de", "es", "it", "pt", "nl", "ru", "tr")
MAN_SECTIONS = ("man1", "man5", "man7", "man8")
EN_WORD_CAP = 1_500_000
"""Stop reading English manual pages past this many words (about 150 h of speech)."""
NEGATIVE_EVERY = 8
"""Every NEGATIVE_EVERY-th sentence of a shuffled pool is kept for the negative recordings."""
SHARED_PHRASE_WORDS = 4
"""Negative sentences sharing a run of this many words with the index pool are dropped."""
POOLS_VERSION = 3
"""Bumped when the pools change (3: negatives share no phrase with any index pool)."""
MIN_WORDS, MAX_WORDS = 4, 45
_ALLOWED_PUNCT = set(" ,;:'\"-()?!.«»’‘“”،؛؟")
_PLACEHOLDER = re.compile(r"%[-+ #0-9.]*[a-zA-Z]|%\([^)]*\)[a-z]|\{[^}]*\}|_|&|\\n")
_NON_LATIN = {"ar", "fa", "ru"}
_SENTENCE_END = re.compile(r"(?<=[.!?؟])\s+")
_ROFF_ESCAPES = [
    (re.compile(r"\\f(\[[^\]]*\]|\(..|.)"), ""),
    (re.compile(r"\\\*(\[[^\]]*\]|\(..|.)"), ""),
    (re.compile(r"\\s[-+]?\d+"), ""),
    (re.compile(r"\\\[[^\]]*\]"), " "),
    (re.compile(r"\\\(.."), " "),
    (re.compile(r"\\[-]"), "-"),
    (re.compile(r"\\[&|^ ~0e]"), " "),
    (re.compile(r"\\."), ""),
]


def _is_clean(sentence: str, lang: str = "en") -> bool:
    """True when `sentence` is prose: letters, digits and ordinary punctuation only.

    For languages written in another script, Latin letters (program names) are refused.
    """
    if lang in _NON_LATIN and re.search(r"[A-Za-z]", sentence):
        return False
    n = len(sentence.split())
    if not MIN_WORDS <= n <= MAX_WORDS:
        return False
    letters = 0
    for ch in sentence:
        if ch.isalpha():
            letters += 1
        elif not (ch.isdigit() or ch in _ALLOWED_PUNCT):
            return False
    return letters >= 0.6 * len(sentence)


def split_sentences(text: str, lang: str = "en") -> list[str]:
    """Split prose into clean sentences (paragraphs are blank-line separated)."""
    out = []
    for para in re.split(r"\n\s*\n", text):
        flat = " ".join(para.split())
        out.extend(s for s in _SENTENCE_END.split(flat) if _is_clean(s, lang))
    return out


def stdlib_texts() -> list[str]:
    """Docstrings of the Python standard library (tests and IDLE excluded), sorted walk."""
    lib = sysconfig.get_paths()["stdlib"]
    texts: list[str] = []
    skip = {"site-packages", "test", "tests", "idlelib", "lib2to3"}
    for root, dirs, files in os.walk(lib):
        dirs[:] = sorted(d for d in dirs if d not in skip)
        for name in sorted(f for f in files if f.endswith(".py")):
            texts.extend(_docstrings(os.path.join(root, name)))
    try:
        from pydoc_data import topics

        texts.extend(topics.topics[k] for k in sorted(topics.topics))
    except ImportError:
        pass
    return texts


def _docstrings(path: str) -> list[str]:
    """All module, class and function docstrings of one source file."""
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return []
    kinds = (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)
    docs = (ast.get_docstring(n) for n in ast.walk(tree) if isinstance(n, kinds))
    return [d for d in docs if d]


def license_texts() -> list[str]:
    """The licence texts Debian ships in /usr/share/common-licenses."""
    paths = sorted(p for p in glob.glob("/usr/share/common-licenses/*") if os.path.isfile(p))
    return [Path(p).read_text(errors="ignore") for p in paths]


def roff_to_text(source: str) -> str:
    """Crude roff-to-prose: drop request lines, strip escapes, keep paragraph breaks."""
    lines = []
    for line in source.splitlines():
        if line.startswith((".", "'")):
            lines.append("")
            continue
        for pattern, repl in _ROFF_ESCAPES:
            line = pattern.sub(repl, line)
        lines.append(line)
    return "\n".join(lines)


def man_texts(lang: str, word_cap: int | None = None) -> list[str]:
    """Manual pages of one language (``en`` = the untranslated pages), as prose."""
    root = "/usr/share/man" if lang == "en" else f"/usr/share/man/{lang}"
    texts: list[str] = []
    words = 0
    for section in MAN_SECTIONS:
        for path in sorted(glob.glob(f"{root}/{section}/*.gz")):
            try:
                with gzip.open(path, "rt", encoding="utf-8", errors="ignore") as fh:
                    text = roff_to_text(fh.read())
            except (OSError, EOFError):
                continue
            texts.append(text)
            words += len(text.split())
            if word_cap and words >= word_cap:
                return texts
    return texts


def mo_texts(lang: str) -> list[str]:
    """Translated messages of every gettext catalogue for `lang`, placeholders removed."""
    texts = []
    for path in sorted(glob.glob(f"/usr/share/locale/{lang}/LC_MESSAGES/*.mo")):
        try:
            with open(path, "rb") as fh:
                catalog = gettext.GNUTranslations(fh)._catalog
        except Exception:  # a broken catalogue is simply skipped
            continue
        messages = (catalog[k] for k in sorted(catalog, key=repr))
        texts.extend(_group_messages([m for m in messages if isinstance(m, str) and m]))
    return texts


def _group_messages(messages: list[str]) -> list[str]:
    """Clean gettext messages; run short ones (names, labels) together into list sentences."""
    out, short = [], []
    for message in messages:
        text = " ".join(_PLACEHOLDER.sub("", message).split()).rstrip(" .:")
        if not text:
            continue
        if len(text.split()) >= MIN_WORDS:
            out.append(text + ".")
            continue
        short.append(text)
        if sum(len(t.split()) for t in short) >= 10:
            out.append(", ".join(short) + ".")
            short = []
    return ["\n\n".join(out)]


def language_texts(lang: str) -> list[str]:
    """Every local text source for one language."""
    if lang == "en":
        return stdlib_texts() + license_texts() + man_texts("en", EN_WORD_CAP)
    return man_texts(lang) + mo_texts(lang)


def build_pools(seed: int) -> dict[str, dict[str, list[str]]]:
    """Per language, shuffled unique sentences split into ``index`` and ``negative`` pools."""
    seen: set[str] = set()
    pools = {}
    for lang in LANGS:
        unique = []
        for text in language_texts(lang):
            for sentence in split_sentences(text, lang):
                key = unicodedata.normalize("NFKC", sentence).casefold()
                if key not in seen:
                    seen.add(key)
                    unique.append(sentence)
        order = np.random.default_rng([seed, LANGS.index(lang)]).permutation(len(unique))
        shuffled = [unique[i] for i in order]
        pools[lang] = {
            "index": [s for i, s in enumerate(shuffled) if i % NEGATIVE_EVERY],
            "negative": shuffled[::NEGATIVE_EVERY],
        }
    # across languages too: catalogues of language and place names recur in many of them
    indexed = set().union(*(phrases(s) for pool in pools.values() for s in pool["index"]))
    for pool in pools.values():
        pool["negative"] = [s for s in pool["negative"] if not phrases(s) & indexed]
    return pools


def phrases(sentence: str, n: int = SHARED_PHRASE_WORDS) -> set[tuple[str, ...]]:
    """Every run of `n` consecutive words of `sentence` (case-folded)."""
    words = re.findall(r"\w+", unicodedata.normalize("NFKC", sentence).casefold())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def load_pools(cache: Path, seed: int) -> dict[str, dict[str, list[str]]]:
    """Build the pools once and keep them as JSON in `cache`."""
    path = cache / f"text-pools-seed{seed}-v{POOLS_VERSION}.json"
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    pools = build_pools(seed)
    cache.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(pools, ensure_ascii=False), encoding="utf-8")
    return pools


_SCRIPTS = {
    "ar": ("بتثجحخدذرزسشصضطظعغفقكلمنهوي", "اوي"),
    "fa": ("بپتجچحخدرزژسشفقکگلمنوهی", "اوی"),
    "ru": ("бвгдзклмнпрстфхцчшщ", "аеиоуыэюя"),
}
_LATIN = ("bcdfghjklmnprstvz", "aeiou")


def pseudo_sentence(lang: str, rng: np.random.Generator) -> str:
    """A pronounceable sentence of pseudo-words in the script of `lang` (fallback text)."""
    consonants, vowels = _SCRIPTS.get(lang, _LATIN)
    words = []
    for _ in range(int(rng.integers(6, 14))):
        syllables = int(rng.integers(1, 4))
        word = "".join(
            rng.choice(list(consonants)) + rng.choice(list(vowels))
            + (rng.choice(list(consonants)) if rng.random() < 0.3 else "")
            for _ in range(syllables)
        )
        words.append(word)
    return " ".join(words) + "."
