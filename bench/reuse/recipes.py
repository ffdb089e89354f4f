"""Corpus recipes: independent ways of making the benchmark's archive, each with its own seed.

A matcher tuned on one synthetic corpus can look excellent on snippets of that corpus and
fall apart on another. Each recipe here changes what the first one held constant:

* ``base``: the original corpus (corpus.py before recipes): espeak-ng in 8 English accents
  and 10 other languages, flite, one recording per FSDD speaker; pauses as synthesised
  (espeak's are 0.3 s of digital zeros), every recording at -20 dBFS RMS.
* ``silence``: other espeak variants, wider pitch, a third of the espeak recordings fast
  (``-s 220-340``), fast flite; every pause rewritten as *digital silence* (exact zeros)
  of 0.15-0.6 s or, one time in three, 0.8-2.5 s; each recording at a random level
  (-15 to +15 dB around -20 dBFS RMS, hard-clipped where it goes over full scale).
* ``room``: slow flite and other espeak variants; FSDD real speech *mixed into* the TTS
  recordings (runs of digits at sentence pauses, at their own level); a room-tone floor
  (pink or brown noise at -50 to -35 dBFS) over every recording and, on 60 % of them,
  mains hum (50 or 60 Hz with harmonics, -35 to -20 dBFS).

All randomness is drawn from ``[seed, recording id, stream]`` generators, so a recipe's
corpus is a function of its seed, and a smaller corpus is a prefix of a larger one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SR = 16000


@dataclass(frozen=True)
class Recipe:
    """How to make a corpus: voices, FSDD use and what happens to each recording after TTS.

    Ranges are (low, high) of a uniform draw; ``None`` switches the step off.
    """

    name: str
    seed: int
    summary: str
    lang_weights: dict[str, float]
    espeak_en: tuple[str, ...]
    espeak_variants: tuple[str, ...]
    espeak_speed: tuple[int, int]           # words per minute
    espeak_pitch: tuple[int, int]           # 0-99
    flite_voices: dict[str, tuple[float, float]]  # voice -> range of mean F0, Hz
    flite_stretch: tuple[float, float]      # duration stretch (below 1: faster)
    fsdd: str = "recordings"                # "recordings" | "mixed" | "none"
    fast_share: float = 0.0                 # share of espeak recordings at fast_speed
    fast_speed: tuple[int, int] = (220, 340)
    digital_pauses: bool = False
    gain_db: tuple[float, float] | None = None
    room_tone_dbfs: tuple[float, float] | None = None
    hum_share: float = 0.0
    hum_dbfs: tuple[float, float] = (-35.0, -20.0)
    fsdd_split: str = "by-take"             # "by-take": takes 0-39 indexed, 40-49 negative;
                                            # "shuffled": a seeded 40/10 split of take numbers


ESPEAK_EN = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc",
             "en-gb-x-gbcwmd", "en-gb-x-gbclan")
BASE_VARIANTS = ("", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
                 "klatt", "klatt2", "klatt3", "Alex", "Andy", "Annie", "Denis", "Gene",
                 "Hugo", "benjamin", "david", "edward", "linda", "steph", "norbert", "victor")
"""The espeak-ng variants of the base recipe; the other recipes use none of them."""
SILENCE_VARIANTS = ("adam", "Alicia", "Andrea", "antonio", "aunty", "belinda", "boris",
                    "caleb", "Diogo", "ed", "edward2", "Gene2", "gustave", "Henrique", "iven",
                    "iven2", "Jacky", "john", "kaukovalta", "Lee")
ROOM_VARIANTS = ("klatt4", "klatt5", "klatt6", "m8", "grandma", "grandpa", "marcelo",
                 "Marco", "Mario", "max", "Michael", "michel", "miguel", "Mike", "Nguyen",
                 "pablo", "paul", "pedro", "quincy", "rob", "robert", "sandro", "shelby",
                 "travis", "iven3", "iven4")

RECIPES: dict[str, Recipe] = {r.name: r for r in (
    Recipe(
        name="base", seed=0,
        summary="espeak-ng (8 English accents, 10 languages) and flite at ordinary rates, "
                "one recording per FSDD speaker, pauses as synthesised, -20 dBFS RMS",
        lang_weights={"espeak-en": 0.30, "flite-en": 0.20, "ar": 0.20, "fa": 0.03,
                      "fr": 0.05, "de": 0.05, "es": 0.05, "it": 0.03, "pt": 0.03, "nl": 0.02,
                      "ru": 0.02, "tr": 0.02},
        espeak_en=ESPEAK_EN, espeak_variants=BASE_VARIANTS, espeak_speed=(130, 200),
        espeak_pitch=(25, 75),
        flite_voices={"kal": (95, 125), "kal16": (95, 125), "awb": (95, 130),
                      "rms": (85, 120), "slt": (150, 200)},
        flite_stretch=(0.85, 1.2)),
    Recipe(
        name="silence", seed=1,
        summary="other espeak variants at -s 140-260 (a third fast, -s 220-340), wide "
                "pitch, fast flite; every pause digital silence (exact zeros) of 0.15-2.5 s; "
                "random level per recording (+-15 dB, clipped at full scale); no FSDD",
        lang_weights={"espeak-en": 0.40, "flite-en": 0.15, "ar": 0.10, "fr": 0.06,
                      "de": 0.06, "es": 0.06, "ru": 0.05, "it": 0.03, "pt": 0.03, "nl": 0.03,
                      "tr": 0.02, "fa": 0.01},
        espeak_en=ESPEAK_EN, espeak_variants=SILENCE_VARIANTS, espeak_speed=(140, 260),
        espeak_pitch=(10, 90),
        flite_voices={"kal": (85, 140), "awb_time": (85, 140), "rms": (75, 130),
                      "slt": (140, 230), "kal16": (85, 140)},
        flite_stretch=(0.65, 1.0), fsdd="none", fast_share=1 / 3, digital_pauses=True,
        gain_db=(-15.0, 15.0)),
    Recipe(
        name="room", seed=2,
        summary="slow flite and other espeak variants (-s 120-190); FSDD real speech mixed "
                "into the TTS recordings; room tone (pink/brown, -50 to -35 dBFS) on every "
                "recording, mains hum (50/60 Hz + harmonics, -35 to -20 dBFS) on 60 %",
        lang_weights={"flite-en": 0.35, "espeak-en": 0.25, "ar": 0.10, "de": 0.05,
                      "fr": 0.05, "es": 0.05, "ru": 0.05, "it": 0.02, "pt": 0.02, "nl": 0.02,
                      "tr": 0.02, "fa": 0.02},
        espeak_en=ESPEAK_EN, espeak_variants=ROOM_VARIANTS, espeak_speed=(120, 190),
        espeak_pitch=(20, 80),
        flite_voices={"kal": (90, 135), "awb": (90, 140), "awb_time": (90, 140),
                      "rms": (80, 125), "slt": (145, 215)},
        flite_stretch=(1.0, 1.35), fsdd="mixed", room_tone_dbfs=(-50.0, -35.0),
        hum_share=0.6, fsdd_split="shuffled"),
)}


def get(name: str) -> Recipe:
    """The recipe called `name` (a clear error listing the others otherwise)."""
    if name not in RECIPES:
        raise SystemExit(f"error: unknown recipe {name!r}; choose from {sorted(RECIPES)}")
    return RECIPES[name]


# --- the finishing steps -----------------------------------------------------------------


def draw_finish(recipe: Recipe, rng: np.random.Generator) -> dict:
    """The random settings of one recording's finishing steps (stored in its plan)."""
    out: dict = {"seed": int(rng.integers(1 << 31))}
    if recipe.gain_db:
        out["gain_db"] = round(float(rng.uniform(*recipe.gain_db)), 2)
    if recipe.room_tone_dbfs:
        out["room_tone"] = str(rng.choice(["pink", "brown"]))
        out["room_tone_dbfs"] = round(float(rng.uniform(*recipe.room_tone_dbfs)), 2)
    if recipe.hum_share and rng.random() < recipe.hum_share:
        out["hum_hz"] = int(rng.choice([50, 60]))
        out["hum_dbfs"] = round(float(rng.uniform(*recipe.hum_dbfs)), 2)
    return out


def frame_db(y: np.ndarray, frame: int = SR // 100) -> np.ndarray:
    """Power of each 10-ms frame in dB re the loudest frame (0 = loudest, -inf = zeros)."""
    n = len(y) // frame
    if n == 0:
        return np.zeros(0)
    p = np.mean(np.square(y[:n * frame].reshape(n, frame), dtype=np.float64), axis=1)
    with np.errstate(divide="ignore"):
        return 10 * np.log10(p / max(float(p.max()), 1e-20))


def pauses(y: np.ndarray, *, min_s: float = 0.12, floor_db: float = -45.0,
           frame: int = SR // 100) -> list[tuple[int, int]]:
    """Sample ranges ``[start, end)`` of the runs of frames ``floor_db`` below the loudest
    frame that last at least `min_s` (the pauses of a synthesised recording)."""
    quiet = frame_db(y, frame) < floor_db
    edges = np.flatnonzero(np.diff(np.r_[0, quiet.view(np.int8), 0]))
    runs = edges.reshape(-1, 2)
    return [(int(a) * frame, int(b) * frame) for a, b in runs if (b - a) * frame >= min_s * SR]


def digital_pauses(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Every pause replaced by exact zeros of a new length: 0.15-0.6 s, or (one in three)
    0.8-2.5 s. 10 ms of the original is kept at each side, so words keep their tails."""
    keep = SR // 100
    out, pos = [], 0
    for a, b in pauses(y):
        out.append(y[pos:a + keep])
        long = rng.random() < 1 / 3
        seconds = rng.uniform(0.8, 2.5) if long else rng.uniform(0.15, 0.6)
        out.append(np.zeros(int(seconds * SR), dtype=np.float32))
        pos = b - keep
    out.append(y[pos:])
    return np.concatenate(out).astype(np.float32)


def insert_runs(y: np.ndarray, runs: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Put each run of other speech (FSDD digits) into a pause of `y`, at a level within
    6 dB of the TTS speech, with a quarter to half a second of the pause either side."""
    slots = pauses(y, min_s=0.2)
    if not slots or not runs:
        return y
    voiced = y[np.abs(y) > 1e-4]
    level = float(np.sqrt(np.mean(voiced**2))) if voiced.size else 0.1
    chosen = sorted(rng.choice(len(slots), size=min(len(runs), len(slots)), replace=False))
    out, pos = [], 0
    for slot, run in zip(chosen, runs, strict=False):
        mid = (slots[slot][0] + slots[slot][1]) // 2
        run_voiced = run[np.abs(run) > 1e-4]
        run_level = float(np.sqrt(np.mean(run_voiced**2))) if run_voiced.size else 1.0
        gain = level / max(run_level, 1e-6) * 10 ** (rng.uniform(-6, 6) / 20)
        gap = np.zeros(int(rng.uniform(0.25, 0.5) * SR), dtype=np.float32)
        out += [y[pos:mid], gap, (run * gain).astype(np.float32), gap]
        pos = mid
    out.append(y[pos:])
    return np.concatenate(out).astype(np.float32)


def coloured_noise(n: int, colour: str, rng: np.random.Generator) -> np.ndarray:
    """Pink (1/f power) or brown (1/f^2 power) noise, flat below 20 Hz, unit RMS."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.maximum(np.fft.rfftfreq(n, 1 / SR), 20.0)
    noise = np.fft.irfft(spectrum / (f ** (0.5 if colour == "pink" else 1.0)), n)
    return noise / max(float(np.sqrt(np.mean(noise**2))), 1e-20)


def hum(n: int, freq: float, rng: np.random.Generator, harmonics: int = 12) -> np.ndarray:
    """Mains hum: `freq` and its harmonics (odd ones stronger, 1/k fall-off, random
    phases), unit RMS."""
    t = np.arange(n) / SR
    out = np.zeros(n)
    for k in range(1, harmonics + 1):
        amp = (1.0 if k % 2 else 0.5) / k
        out += amp * np.sin(2 * np.pi * freq * k * t + rng.uniform(0, 2 * np.pi))
    return out / max(float(np.sqrt(np.mean(out**2))), 1e-20)


def finish(y: np.ndarray, settings: dict) -> tuple[np.ndarray, dict]:
    """Room tone, hum and level change of a normalised recording (-20 dBFS RMS), as drawn by
    :func:`draw_finish`; returns the audio and facts for the manifest (clipped share)."""
    y = y.astype(np.float64)
    if "room_tone" in settings:
        rng = np.random.default_rng([settings["seed"], 1])
        floor = coloured_noise(len(y), settings["room_tone"], rng)
        y = y + floor * 10 ** (settings["room_tone_dbfs"] / 20)
    if "hum_hz" in settings:
        rng = np.random.default_rng([settings["seed"], 2])
        y = y + hum(len(y), settings["hum_hz"], rng) * 10 ** (settings["hum_dbfs"] / 20)
    if "gain_db" in settings:
        y = y * 10 ** (settings["gain_db"] / 20)
    clipped = float(np.mean(np.abs(y) >= 1.0)) if y.size else 0.0
    return np.clip(y, -1.0, 1.0).astype(np.float32), {"clipped_share": round(clipped, 5)}
