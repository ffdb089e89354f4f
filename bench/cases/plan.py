"""What a case set holds, drawn from the seed: the archive's releases and the questioned cases.

A plan is plain data (frozen dataclasses): voices, backgrounds, encodings, and for every
case the timeline of parts it is built from, fresh speech or a piece of a release with its
speed, tempo or pitch change. :mod:`generate` renders it; nothing here touches audio, so the
whole set can be read (and tested) before a second of speech is synthesised.

Two scales: ``small`` (about 30 min of archive, five 7-15 min cases, about 1 h of fresh
speech: minutes to make and run) and ``full`` (seven releases of 5-20 min, messages of 8-60
min, at least 10 h of fresh speech for the false-span rate).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

SR = 16000
"""Every signal is made at this rate; the encoder resamples to the file's own rate."""
SPEECH_DBFS = -26.0
"""Active-speech RMS of every recording before its random gain, dBFS."""
MAX_GAIN_DB = 15.0
"""Recordings and cases get a random gain of up to this many dB either way."""

ESPEAK_EN = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc")
ESPEAK_OTHER = ("fr", "de", "es", "ru", "tr", "it", "pt", "nl")
ESPEAK_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m7", "f1", "f2", "f3", "f4", "klatt",
                   "Alex", "Andy", "Gene", "Hugo", "david", "edward", "norbert")
FLITE_VOICES = {"kal": (95, 125), "kal16": (95, 125), "awb": (95, 130), "rms": (85, 120),
                "slt": (150, 200)}
"""Flite voice -> range of its target mean F0 in Hz."""
RELEASE_KINDS = ("address", "sermon", "statement", "lecture", "message", "speech")
FSDD_FRESH_CAP = 150.0
"""Longest stretch of fresh FSDD digits in one place, s (the unused takes are few)."""
HARD_CUT_SHARE = 0.35
"""Share of excerpts cut where the plan says, not moved into a pause."""
SPEAKER = "Speaker Bench"
"""The fictional speaker every release belongs to (and every case claims to be)."""


@dataclass(frozen=True)
class Voice:
    """One speech recipe with its settings: the same Voice reads any text the same way."""

    recipe: str  # "espeak" | "flite" | "fsdd"
    name: str  # espeak voice ("en-us+m3"), flite voice ("slt") or FSDD speaker ("jackson")
    lang: str
    rate: float = 0.0  # espeak words per minute; flite duration stretch
    pitch: float = 0.0  # espeak pitch 0-99; flite mean F0, Hz

    def label(self) -> str:
        """Short human name, e.g. ``espeak en-us+m3 s160 p45``."""
        if self.recipe == "fsdd":
            return f"fsdd {self.name}"
        if self.recipe == "espeak":
            return f"espeak {self.name} s{self.rate:.0f} p{self.pitch:.0f}"
        return f"flite {self.name} x{self.rate:.2f} f0 {self.pitch:.0f}"


@dataclass(frozen=True)
class Background:
    """What lies under the speech: a pink-noise room tone and mains hum, both optional.

    Levels are relative to the recording's active speech (dB below it), so a quiet
    recording keeps its signal-to-noise ratio when its gain changes.
    """

    floor_db: float | None = None  # room tone, dB below speech; None = digital silence
    hum_hz: float | None = None  # 50 or 60; None = no hum
    hum_db: float = 30.0  # hum, dB below speech

    def label(self) -> str:
        """E.g. ``floor -38 dB, hum 50 Hz -27 dB`` or ``digital silence``."""
        parts = ["digital silence" if self.floor_db is None else f"floor -{self.floor_db:.0f} dB"]
        if self.hum_hz:
            parts.append(f"hum {self.hum_hz:.0f} Hz -{self.hum_db:.0f} dB")
        return ", ".join(parts)


@dataclass(frozen=True)
class Encoding:
    """How a file is written: format, bit rate (kbit/s) and sample rate."""

    fmt: str  # "mp3" | "m4a" | "opus" | "vorbis" | "wav"
    kbps: int | None
    sr: int

    @property
    def suffix(self) -> str:
        """File name ending: Opus voice notes and Vorbis both live in Ogg."""
        return {"opus": ".ogg", "vorbis": ".ogg"}.get(self.fmt, "." + self.fmt)

    def label(self) -> str:
        """E.g. ``opus 16k`` or ``wav 16 kHz``."""
        if self.kbps is None:
            return f"{self.fmt} {self.sr / 1000:g} kHz"
        return f"{self.fmt} {self.kbps}k"


@dataclass(frozen=True)
class Release:
    """One archive recording of the speaker."""

    index: int
    name: str
    date: str
    voice: Voice
    seconds: float
    background: Background
    gain_db: float
    encoding: Encoding


@dataclass(frozen=True)
class Fresh:
    """Speech that is in no archive recording (new sentences, or unused FSDD takes)."""

    voice: Voice
    seconds: float


@dataclass(frozen=True)
class Piece:
    """A piece of a release re-used in a case.

    ``position`` (0-1) says where in the release the piece starts; the cut points are
    snapped to pauses when the piece is rendered. A ``reupload`` takes the whole release
    less ``trim_start`` / ``trim_end`` seconds. ``transform`` is ``none``, ``speed``
    (resampling: tempo and pitch by ``factor``), ``tempo`` (sox tempo) or ``pitch`` (sox
    pitch); ``level_db`` is the piece's level against the fresh speech around it. With
    ``snap`` the cut points move to the middle of the nearest pause (an editor's cut);
    without, they fall where they fall, often inside a word (a hard cut, whose boundary the
    audio shows exactly).
    """

    release: int
    seconds: float
    position: float
    kind: str  # excerpt-short | excerpt | speed | tempo | pitch | compilation | reupload
    transform: str = "none"
    factor: float = 1.0
    level_db: float = 0.0
    trim_start: float = 0.0
    trim_end: float = 0.0
    snap: bool = True


@dataclass(frozen=True)
class Repeat:
    """A copy-paste edit: ``seconds`` of the case, from about ``source_at`` s, pasted again
    about ``gap`` s after the end of the original (both snapped to pauses)."""

    source_at: float
    seconds: float
    gap: float


@dataclass(frozen=True)
class Case:
    """One questioned message: its parts in order, and how it is finished and written."""

    name: str
    kind: str  # excerpts | deep-speed | modified | compilation | reupload | self-repeat | fresh
    parts: tuple[Fresh | Piece, ...]
    background: Background
    gain_db: float
    encoding: Encoding
    repeat: Repeat | None = None
    joins: tuple[float, float] = (0.3, 1.2)  # silence between parts, s (background only)


@dataclass(frozen=True)
class SetPlan:
    """The whole set: seed, scale, archive and cases."""

    seed: int
    scale: str
    speaker: str
    releases: tuple[Release, ...]
    cases: tuple[Case, ...]
    fresh_voices: tuple[Voice, ...] = field(default_factory=tuple)


# --- drawing voices, backgrounds, encodings -----------------------------------------------


def draw_voice(recipe: str, rng: np.random.Generator, fsdd_speaker: str = "jackson") -> Voice:
    """A voice of one recipe family: espeak-en, espeak-ar, espeak-other, flite or fsdd."""
    if recipe == "fsdd":
        return Voice("fsdd", fsdd_speaker, "en")
    if recipe == "flite":
        name = str(rng.choice(sorted(FLITE_VOICES)))
        lo, hi = FLITE_VOICES[name]
        return Voice("flite", name, "en", round(float(rng.uniform(0.9, 1.15)), 3),
                     round(float(rng.uniform(lo, hi)), 1))
    if recipe == "espeak-en":
        base, lang = str(rng.choice(ESPEAK_EN)), "en"
    elif recipe == "espeak-ar":
        base, lang = "ar", "ar"
    else:
        base = lang = str(rng.choice(ESPEAK_OTHER))
    variant = str(rng.choice(ESPEAK_VARIANTS))
    return Voice("espeak", f"{base}+{variant}", lang, float(rng.integers(135, 186)),
                 float(rng.integers(30, 71)))


def draw_background(rng: np.random.Generator) -> Background:
    """Digital silence or a room tone 25-45 dB under the speech; hum at 50, 60 Hz or none."""
    floor = None if rng.random() < 0.35 else round(float(rng.uniform(25, 45)), 1)
    u = rng.random()
    hum = None if u < 0.4 else (50.0 if u < 0.75 else 60.0)
    return Background(floor, hum, round(float(rng.uniform(22, 40)), 1))


def draw_gain(rng: np.random.Generator) -> float:
    """A random level change within +-MAX_GAIN_DB."""
    return round(float(rng.uniform(-MAX_GAIN_DB, MAX_GAIN_DB)), 1)


ARCHIVE_FORMATS = (Encoding("mp3", 128, 44100), Encoding("m4a", 96, 44100),
                   Encoding("vorbis", 96, 44100), Encoding("wav", None, 16000),
                   Encoding("opus", 48, 48000), Encoding("mp3", 64, 22050),
                   Encoding("wav", None, 22050))
"""The first four (mp3, m4a, ogg, wav) are in every archive; the rest fill larger ones."""


def voice_note(rng: np.random.Generator, lo: int = 16, hi: int = 32) -> Encoding:
    """An Opus voice note at a bit rate between lo and hi kbit/s (steps of 8)."""
    return Encoding("opus", int(rng.choice(np.arange(lo, hi + 1, 8))), 48000)


def mp3_upload(rng: np.random.Generator) -> Encoding:
    """An MP3 re-upload at 64-128 kbit/s."""
    return Encoding("mp3", int(rng.choice([64, 96, 128])), 44100)


def m4a_upload(rng: np.random.Generator) -> Encoding:
    """An AAC (m4a) re-upload at 64-128 kbit/s."""
    return Encoding("m4a", int(rng.choice([64, 96, 128])), 44100)


# --- the archive --------------------------------------------------------------------------


def draw_releases(rng: np.random.Generator, scale: str, fsdd_speaker: str) -> list[Release]:
    """The speaker's releases: every recipe, every archive format, dates 2014-2023."""
    if scale == "small":
        recipes = ["espeak-en", "flite", "fsdd", "espeak-ar"]
        minutes = (6.5, 10.0)
        fsdd_minutes = 4.5
    else:
        recipes = ["espeak-en", "flite", "fsdd", "espeak-ar", "flite", "espeak-other",
                   "espeak-en"]
        minutes = (5.0, 20.0)
        fsdd_minutes = 5.5
    recipes = [recipes[i] for i in rng.permutation(len(recipes))]
    formats = ([ARCHIVE_FORMATS[i] for i in rng.permutation(4)]
               + [ARCHIVE_FORMATS[4 + i] for i in rng.permutation(len(ARCHIVE_FORMATS) - 4)])
    start = dt.date(2014, 1, 1).toordinal()
    days = sorted(int(d) for d in rng.choice(3650, size=len(recipes), replace=False))
    releases = []
    for i, recipe in enumerate(recipes):
        date = dt.date.fromordinal(start + days[i]).isoformat()
        kind = RELEASE_KINDS[int(rng.integers(len(RELEASE_KINDS)))]
        seconds = 60 * (fsdd_minutes if recipe == "fsdd" else float(rng.uniform(*minutes)))
        releases.append(Release(
            index=i, name=f"speaker_{date}_{kind}{formats[i % len(formats)].suffix}",
            date=date, voice=draw_voice(recipe, rng, fsdd_speaker), seconds=round(seconds, 1),
            background=draw_background(rng), gain_db=draw_gain(rng),
            encoding=formats[i % len(formats)]))
    return releases


# --- the cases ----------------------------------------------------------------------------


class CaseDrawer:
    """Draws case timelines against a list of releases (one rng, in a fixed order)."""

    def __init__(self, rng: np.random.Generator, releases: list[Release],
                 other_voices: list[Voice]) -> None:
        """`other_voices` read fresh speech too: voices that are not in the archive."""
        self.rng = rng
        self.releases = releases
        self.other_voices = other_voices
        self.turn = int(rng.integers(len(releases)))

    def next_release(self, exclude: set[int] = frozenset()) -> int:
        """Releases in turn, so every one is re-used somewhere; `exclude` skipped."""
        for _ in range(len(self.releases)):
            self.turn = (self.turn + 1) % len(self.releases)
            if self.turn not in exclude:
                return self.turn
        raise ValueError("no release left to draw")

    def fresh_voice(self, near: int | None = None) -> Voice:
        """The speaker's own voice (a release's) mostly; another voice a fifth of the time.

        Next to a piece of release `near`, half the time that release's voice, so the
        boundary is between the same voice reading other words.
        """
        if near is not None and self.rng.random() < 0.5:
            return self.releases[near].voice
        if self.rng.random() < 0.2:
            return self.other_voices[int(self.rng.integers(len(self.other_voices)))]
        tts = [r.voice for r in self.releases if r.voice.recipe != "fsdd"]
        return tts[int(self.rng.integers(len(tts)))]

    def piece(self, kind: str, seconds: tuple[float, float], transform: str = "none",
              factor: tuple[float, float] = (1.0, 1.0), exclude: set[int] = frozenset()
              ) -> Piece:
        """A piece of the next release: length, place in the release, change and level."""
        release = self.next_release(exclude)
        length = min(float(self.rng.uniform(*seconds)), 0.8 * self.releases[release].seconds)
        f = float(self.rng.uniform(*factor)) if transform != "none" else 1.0
        return Piece(release=release, seconds=round(length, 1),
                     position=round(float(self.rng.uniform(0.02, 0.95)), 3), kind=kind,
                     transform=transform, factor=round(f, 4),
                     level_db=round(float(self.rng.uniform(-6, 6)), 1),
                     snap=bool(self.rng.random() >= HARD_CUT_SHARE))

    def embed(self, pieces: list[Piece], total: float, at: list[float] | None = None
              ) -> tuple[Fresh | Piece, ...]:
        """Fresh speech around `pieces` so the message lasts about `total` s.

        ``at`` gives each piece's start as a share of the message (0 = the very start,
        1 = the very end); by default they are spread at random.
        """
        fresh_total = max(0.0, total - sum(p.seconds * _time_factor(p) for p in pieces))
        if at is None:
            at = sorted(float(x) for x in self.rng.uniform(0.03, 0.97, len(pieces)))
        parts: list[Fresh | Piece] = []
        used = 0.0
        for piece, share in zip(pieces, at, strict=True):
            before = max(0.0, share * fresh_total - used)
            if before >= 5.0:
                parts.extend(self.fresh(before, piece.release, last=True))
                used += before
            parts.append(piece)
        if fresh_total - used >= 5.0:
            parts.extend(self.fresh(fresh_total - used, pieces[-1].release))
        return tuple(parts)

    def fresh(self, seconds: float, near: int | None = None, last: bool = False
              ) -> list[Fresh]:
        """Fresh speech of about `seconds` in a drawn voice (see :meth:`fresh_voice`).

        FSDD has only about 25 min of takes the archive does not use, so an FSDD stretch
        is capped at FSDD_FRESH_CAP s and the rest is read by a synthetic voice; `last`
        puts the FSDD stretch at the end (next to a piece that follows).
        """
        voice = self.fresh_voice(near)
        if voice.recipe != "fsdd" or seconds <= FSDD_FRESH_CAP + 5.0:
            return [Fresh(voice, round(seconds, 1))]
        rest = Fresh(self.fresh_voice(), round(seconds - FSDD_FRESH_CAP, 1))
        if rest.voice.recipe == "fsdd":
            rest = Fresh(self.releases[0].voice if self.releases[0].voice.recipe != "fsdd"
                         else self.releases[1].voice, rest.seconds)
        capped = Fresh(voice, FSDD_FRESH_CAP)
        return [rest, capped] if last else [capped, rest]

    def fresh_only(self, name: str, seconds: float, encoding: Encoding) -> Case:
        """A message with nothing re-used: one to three voices in turn."""
        n = int(self.rng.integers(1, 4))
        cuts = np.sort(self.rng.uniform(0.15, 0.85, n - 1)) if n > 1 else np.array([])
        bounds = [0.0, *cuts.tolist(), 1.0]
        parts = tuple(part for a, b in zip(bounds[:-1], bounds[1:], strict=True)
                      for part in self.fresh(seconds * (b - a)))
        return Case(name, "fresh", parts, draw_background(self.rng), draw_gain(self.rng), encoding)

    def case(self, name: str, kind: str, parts: tuple[Fresh | Piece, ...], encoding: Encoding,
             repeat: Repeat | None = None, joins: tuple[float, float] = (0.3, 1.2)) -> Case:
        """A case with a drawn background and gain."""
        return Case(name, kind, parts, draw_background(self.rng), draw_gain(self.rng), encoding,
                    repeat, joins)

    def reupload(self, name: str, encoding: Encoding, tempo: float | None,
                 exclude: set[int] = frozenset()) -> Case:
        """A whole release, a few seconds trimmed off each end, re-encoded (maybe tempo)."""
        release = self.next_release(exclude)
        piece = Piece(release=release, seconds=self.releases[release].seconds, position=0.0,
                      kind="reupload", transform="tempo" if tempo else "none",
                      factor=tempo or 1.0, level_db=0.0,
                      trim_start=round(float(self.rng.uniform(2, 8)), 2),
                      trim_end=round(float(self.rng.uniform(1, 5)), 2))
        return self.case(name, "reupload", (piece,), encoding, joins=(0.0, 0.0))

    def compilation(self, name: str, n: int, seconds: tuple[float, float],
                    encoding: Encoding) -> Case:
        """``n`` pieces from different releases back to back, maybe after a short intro."""
        pieces: list[Fresh | Piece] = []
        used: set[int] = set()
        for _ in range(n):
            piece = self.piece("compilation", seconds, exclude=used)
            used.add(piece.release)
            pieces.append(piece)
        if self.rng.random() < 0.5:
            pieces[:0] = self.fresh(float(self.rng.uniform(10, 25)))
        return self.case(name, "compilation", tuple(pieces), encoding, joins=(0.2, 1.5))

    def self_repeat(self, name: str, seconds: float, encoding: Encoding) -> Case:
        """Fresh speech in one voice with a 45-s passage pasted again minutes later."""
        source_at = float(self.rng.uniform(60, seconds / 3))
        gap = float(self.rng.uniform(120, min(360, seconds - source_at - 90)))
        voice = self.fresh_voice()
        while voice.recipe == "fsdd":
            voice = self.fresh_voice()
        return self.case(name, "self-repeat", (Fresh(voice, round(seconds, 1)),), encoding,
                         repeat=Repeat(round(source_at, 1), 45.0, round(gap, 1)))


def _time_factor(piece: Piece) -> float:
    """Query duration / reference duration of a piece's change."""
    return 1.0 / piece.factor if piece.transform in ("speed", "tempo") else 1.0


def small_cases(d: CaseDrawer) -> list[Case]:
    """Five 7-15 min cases and about 35 min of fresh-only speech (about 1 h fresh in all)."""
    rng = d.rng
    short = [d.piece("excerpt-short", (20, 40)) for _ in range(3)]
    s01 = d.case("s01-short-excerpts", "excerpts",
                 d.embed(short, 60 * float(rng.uniform(12, 14)),
                         at=[0.0, float(rng.uniform(0.3, 0.5)), float(rng.uniform(0.6, 0.9))]),
                 voice_note(rng, 16, 16))
    changed = [d.piece("pitch", (60, 90), "pitch", (1.04, 1.08)),
               d.piece("tempo", (60, 90), "tempo", (0.90, 0.95)),
               d.piece("speed", (45, 75), "speed", (1.05, 1.10))]
    s02 = d.case("s02-modified", "modified", d.embed(changed, 60 * float(rng.uniform(10, 12))),
                 m4a_upload(rng))
    s03 = d.compilation("s03-compilation", 3, (120, 200), mp3_upload(rng))
    s04 = d.reupload("s04-reupload-tempo", voice_note(rng, 32, 32), 0.97)
    s05 = d.self_repeat("s05-self-repeat", 60 * float(rng.uniform(8, 10)), voice_note(rng, 24, 24))
    fresh = [d.fresh_only(f"s{6 + i:02d}-fresh", 60 * float(rng.uniform(16, 19)), enc)
             for i, enc in enumerate((mp3_upload(rng), voice_note(rng)))]
    return [s01, s02, s03, s04, s05, *fresh]


FULL_FRESH_HOURS = 10.3
"""Fresh speech the full set holds in all (cases' fresh parts plus fresh-only messages)."""


def full_cases(d: CaseDrawer) -> list[Case]:
    """Every case kind at full length, then fresh-only messages up to FULL_FRESH_HOURS."""
    rng = d.rng
    short = [d.piece("excerpt-short", (20, 40)) for _ in range(5)]
    c01 = d.case("c01-hour-short-excerpts", "excerpts",
                 d.embed(short, 60 * float(rng.uniform(58, 62))), voice_note(rng, 16, 24))
    deep = [d.piece("speed", (180, 180), "speed", (1.03, 1.03))]
    c02 = d.case("c02-deep-speed", "deep-speed",
                 d.embed(deep, 60 * float(rng.uniform(45, 47)),
                         at=[float(rng.uniform(0.6, 0.72))]), mp3_upload(rng))
    tempo_pitch = [d.piece("excerpt", (120, 300)),
                   d.piece("tempo", (60, 150), "tempo", (0.90, 0.95)),
                   d.piece("pitch", (60, 120), "pitch", (1.04, 1.10)),
                   d.piece("tempo", (45, 90), "tempo", (1.05, 1.10))]
    c03 = d.case("c03-tempo-pitch", "modified",
                 d.embed(tempo_pitch, 60 * float(rng.uniform(18, 24))), m4a_upload(rng))
    speed_pitch = [d.piece("speed", (90, 150), "speed", (0.90, 0.94)),
                   d.piece("speed", (60, 120), "speed", (1.06, 1.10)),
                   d.piece("pitch", (45, 90), "pitch", (0.90, 0.96)),
                   d.piece("excerpt-short", (20, 40))]
    c04 = d.case("c04-speed-pitch", "modified",
                 d.embed(speed_pitch, 60 * float(rng.uniform(14, 18)),
                         at=[0.2, 0.45, 0.7, 1.0]), voice_note(rng, 24, 32))
    c05 = d.compilation("c05-compilation", int(rng.integers(3, 5)), (60, 240), mp3_upload(rng))
    c06 = d.reupload("c06-reupload-tempo", voice_note(rng, 32, 32), 0.97)
    c07 = d.reupload("c07-reupload", m4a_upload(rng), None, exclude={c06.parts[0].release})
    c08 = d.self_repeat("c08-self-repeat", 60 * float(rng.uniform(10, 14)), voice_note(rng, 24, 24))
    cases = [c01, c02, c03, c04, c05, c06, c07, c08]
    fresh = sum(p.seconds for c in cases for p in c.parts if isinstance(p, Fresh))
    encoders = (mp3_upload, voice_note, m4a_upload)
    i = 0
    while fresh < FULL_FRESH_HOURS * 3600:
        seconds = 60 * float(rng.uniform(35, 60))
        cases.append(d.fresh_only(f"f{i + 1:02d}-fresh", seconds, encoders[i % 3](rng)))
        fresh += seconds
        i += 1
    return cases


def draw_set(seed: int, scale: str, fsdd_speakers: list[str]) -> SetPlan:
    """The whole plan for `seed` at `scale` ("small" or "full")."""
    if scale not in ("small", "full"):
        raise ValueError(f"scale must be small or full, not {scale!r}")
    rng = np.random.default_rng([seed, 20_261_212])
    fsdd_speaker = fsdd_speakers[int(rng.integers(len(fsdd_speakers)))]
    releases = draw_releases(rng, scale, fsdd_speaker)
    archive_voices = {r.voice for r in releases}
    others = []
    other_fsdd = [s for s in fsdd_speakers if s != fsdd_speaker] or [fsdd_speaker]
    for recipe in ("espeak-en", "flite", "espeak-other", "espeak-en", "flite", "fsdd"):
        voice = draw_voice(recipe, rng, other_fsdd[int(rng.integers(len(other_fsdd)))])
        if voice not in archive_voices:
            others.append(voice)
    drawer = CaseDrawer(rng, releases, others)
    cases = small_cases(drawer) if scale == "small" else full_cases(drawer)
    return SetPlan(seed, scale, SPEAKER, tuple(releases), tuple(cases), tuple(others))
