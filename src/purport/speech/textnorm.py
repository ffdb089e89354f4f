"""One spelling for search: what a transcript's text and a search phrase are both reduced
to, so that spelling variants find each other.

Arabic: diacritics (harakat, shadda, sukun, dagger alef) and tatweel are dropped; the alef
forms (أ إ آ ٱ) become ا, alef maqsura ى becomes ي, ta marbuta ة becomes ه, hamza seats ؤ ئ
become و ي, Persian/Urdu ی ک become ي ك; Arabic-Indic digits become 0-9. Every script:
Unicode NFKC, lower case, punctuation to spaces. Latin accents are left to the full-text
index (SQLite's ``remove_diacritics``).
"""

from __future__ import annotations

import re
import unicodedata

ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
ARABIC_LETTERS = str.maketrans({
    "\u0623": "\u0627", "\u0625": "\u0627", "\u0622": "\u0627", "\u0671": "\u0627",  # alef
    "\u0649": "\u064a",  # alef maqsura -> ya
    "\u0629": "\u0647",  # ta marbuta -> ha
    "\u0624": "\u0648", "\u0626": "\u064a",  # hamza on waw / ya
    "\u06cc": "\u064a", "\u06a9": "\u0643",  # Persian ya, kaf
    **{chr(0x0660 + i): str(i) for i in range(10)},  # Arabic-Indic digits
    **{chr(0x06F0 + i): str(i) for i in range(10)},  # Eastern Arabic-Indic digits
})
NOT_WORD = re.compile(r"[^\w]+")


def normalize(text: str) -> str:
    """``text`` in the one spelling search uses (words separated by single spaces)."""
    t = unicodedata.normalize("NFKC", text)
    t = ARABIC_MARKS.sub("", t).translate(ARABIC_LETTERS).lower()
    return " ".join(NOT_WORD.sub(" ", t).split())


def fts5_phrase(phrase: str) -> str:
    """A phrase query for SQLite FTS5 over normalised text (every word, in order)."""
    words = normalize(phrase).split()
    return '"' + " ".join(w.replace('"', '""') for w in words) + '"' if words else ""
