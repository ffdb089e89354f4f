"""What an edits set holds, drawn from the seed: sessions (recording conditions) and cases.

A **session** is one recording made once: a voice from one speech recipe, a room, a
microphone/channel colour, a noise floor, a hum level and the grid-log second its first
sample was recorded at, a capture sample rate and codec, a gain. A **case** is a final
recording made from one session (``continuous``, ``cut``) or two (``spliced``: a piece
of another session inserted into a host, or replacing a stretch of it), then written in
its final codec and rate. Everything here is plain data (dicts); :mod:`render` makes
the audio. Nothing is random outside the seeded generators below.
"""

from __future__ import annotations

import numpy as np

RECIPES = ("espeak", "flite", "fsdd", "speechlike")
ESPEAK_VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc")
ESPEAK_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m7", "f1", "f2", "f3", "f4")
FLITE_VOICES = {"kal": (95, 125), "kal16": (95, 125), "awb": (95, 130), "rms": (85, 120),
                "slt": (150, 200)}
HUM_LEVELS = (-10.0, -20.0, -30.0, -40.0)
ROOMS = ("dry", "reverb")
MICS = ("flat", "lowpass", "phone", "highpass", "presence")
FLOORS = ("digital", "pink", "brown")
CAPTURE_CODECS = ("wav", "wav", "mp3_64k", "opus_24k")
FINAL_CODECS = ("wav", "mp3_64k", "opus_16k")
MIN_APART = 6 * 3600
"""A spliced piece of another session is recorded at least this far (s) in the log from
the host (the 43-h log: mostly another day)."""
FSDD_MAX = 330.0
"""Longest FSDD speech a case may read, all its sessions together, s."""
MIN_PIECE = 60.0
"""Shortest piece of a case in the ENF-timing subset, s."""


def draw_voice(recipe: str, rng: np.random.Generator, fsdd_speakers: list[str]) -> dict:
    """One speaker's voice in a recipe (the same in every session of a case)."""
    if recipe == "espeak":
        return {"recipe": "espeak", "name": f"{rng.choice(ESPEAK_VOICES)}+"
                f"{rng.choice(ESPEAK_VARIANTS)}", "lang": "en",
                "rate": float(rng.integers(135, 186)), "pitch": float(rng.integers(30, 71))}
    if recipe == "flite":
        name = str(rng.choice(sorted(FLITE_VOICES)))
        lo, hi = FLITE_VOICES[name]
        return {"recipe": "flite", "name": name, "lang": "en",
                "rate": round(float(rng.uniform(0.9, 1.15)), 3),
                "pitch": round(float(rng.uniform(lo, hi)), 1)}
    if recipe == "fsdd":
        return {"recipe": "fsdd", "name": str(rng.choice(fsdd_speakers)), "lang": "en"}
    return {"recipe": "speechlike", "name": f"seed{int(rng.integers(2 ** 31))}", "lang": "en"}


def draw_conditions(rng: np.random.Generator, *, hum_db: float | None) -> dict:
    """Room, microphone, noise floor, capture rate and codec, gain of one session."""
    room = str(rng.choice(ROOMS))
    mic = str(rng.choice(MICS))
    floor = str(rng.choice(FLOORS))
    return {
        "room": {"kind": room, "rt60": round(float(rng.uniform(0.25, 0.9)), 2)
                 if room == "reverb" else None},
        "mic": {"kind": mic, "cutoff_hz": {"lowpass": int(rng.integers(2800, 6001)),
                                            "highpass": int(rng.integers(80, 161)),
                                            "presence": int(rng.integers(1500, 3501))
                                            }.get(mic)},
        "floor": {"kind": floor, "dbfs": None if floor == "digital"
                  else round(float(rng.uniform(-60, -35)), 1)},
        "hum_db": hum_db,
        "capture_sr": int(rng.choice([8000, 16000, 16000])),
        "capture_codec": str(rng.choice(CAPTURE_CODECS)),
        "gain_db": round(float(rng.uniform(-6, 6)), 1),
    }


def other_conditions(base: dict, rng: np.random.Generator, *, hum_db: float | None,
                     change: str) -> dict:
    """Conditions of another session: ``change`` is ``time`` (same room, mic, floor and
    codec: only the time differs), or ``room`` (room, microphone and floor all drawn again,
    each forced to differ from the host's)."""
    if change == "time":
        out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
        out["hum_db"] = hum_db
        return out
    while True:
        out = draw_conditions(rng, hum_db=hum_db)
        if (out["room"]["kind"] != base["room"]["kind"] or out["room"]["kind"] == "reverb"
                and abs(out["room"]["rt60"] - base["room"]["rt60"]) > 0.25) \
                and out["mic"]["kind"] != base["mic"]["kind"] \
                and out["floor"]["kind"] != base["floor"]["kind"]:
            return out


def _length(rng: np.random.Generator, lo_min: float, hi_min: float) -> float:
    """Log-uniform length in seconds."""
    return round(float(np.exp(rng.uniform(np.log(lo_min * 60), np.log(hi_min * 60)))), 1)


def _offset(rng: np.random.Generator, log_seconds: int, seconds: float,
            away_from: float | None = None) -> float:
    """A fractional log second where a session of ``seconds`` fits."""
    while True:
        o = round(float(rng.uniform(30, log_seconds - seconds - 30)), 3)
        if away_from is None or abs(o - away_from) >= MIN_APART:
            return o


def scale_spec(scale: str) -> list[dict]:
    """The case groups of a scale: (group, kind, count, options)."""
    full = scale == "full"
    k = 1 if full else 0
    groups = [
        # ENF timing subset: hum, every piece >= 60 s
        {"group": "enf-continuous", "kind": "continuous", "n": 24 if full else 4, "hum": True,
         "minutes": (1, 10)},
        {"group": "enf-cut-short", "kind": "cut", "n": 12 if full else 2, "hum": True,
         "removed": (0.5, 30), "minutes": (2.2, 10)},
        {"group": "enf-cut-long", "kind": "cut", "n": 12 if full else 2, "hum": True,
         "removed": (60, 600), "minutes": (2.2, 10)},
        {"group": "enf-splice-time", "kind": "spliced", "n": 12 if full else 2, "hum": True,
         "change": "time", "insert": (65, 180), "minutes": (3.2, 10)},
        {"group": "enf-splice-room", "kind": "spliced", "n": 12 if full else 2, "hum": True,
         "change": "room", "insert": (65, 180), "minutes": (3.2, 10)},
        # joins only: short splices (10-60 s) with hum
        {"group": "splice-short", "kind": "spliced", "n": 6 if full else 1, "hum": True,
         "change": "room", "insert": (10, 59), "minutes": (1.5, 6)},
        # hum detection: 3-min continuous at -40 dB
        {"group": "humdet-40", "kind": "continuous", "n": 12 if full else 2, "hum": -40.0,
         "minutes": (3, 3)},
        # no hum
        {"group": "nohum-cut", "kind": "cut", "n": 8 if full else 1, "hum": False,
         "removed": (0.5, 30), "minutes": (1, 8)},
        {"group": "nohum-splice-room", "kind": "spliced", "n": 16 if full else 3, "hum": False,
         "change": "room", "insert": (10, 180), "minutes": (1.5, 8)},
        {"group": "nohum-continuous", "kind": "continuous", "n": 16 if full else 2,
         "hum": False, "minutes": (2, 12)},
        {"group": "fsdd-unedited", "kind": "continuous", "n": 8 if full else 1, "hum": False,
         "minutes": (1, 3), "recipe": "fsdd"},
    ]
    if k:
        groups.append({"group": "long", "kind": "mixed", "n": 4, "hum": True,
                       "minutes": (20, 30)})
    return groups


def draw_cases(seed: int, scale: str, log_seconds: int, fsdd_speakers: list[str]) -> list[dict]:
    """Every case of a set: its sessions, edit and final encoding (no audio)."""
    cases = []
    n_case = 0
    for gi, g in enumerate(scale_spec(scale)):
        rng = np.random.default_rng([seed, 101, gi])
        for i in range(g["n"]):
            n_case += 1
            kind = g["kind"]
            if kind == "mixed":
                kind = ("continuous", "cut", "spliced", "spliced")[i % 4]
            recipe = g.get("recipe") or RECIPES[(i + gi) % len(RECIPES)]
            if recipe == "fsdd" and g["minutes"][0] > 3 and kind != "continuous":
                recipe = "espeak"  # the FSDD takes are few: long FSDD cases are unedited only
            if g["hum"] is True:
                hum_db = HUM_LEVELS[i % len(HUM_LEVELS)]
            elif g["hum"] is False:
                hum_db = None
            else:
                hum_db = float(g["hum"])
            lo, hi = g["minutes"]
            if recipe == "fsdd":
                hi = min(hi, 5.0)
                lo = min(lo, hi)
            seconds = _length(rng, lo, hi)
            voice = draw_voice(recipe, rng, fsdd_speakers)
            host = {"voice": voice, **draw_conditions(rng, hum_db=hum_db)}
            final_codec = str(rng.choice(FINAL_CODECS))
            final_sr = int(rng.choice([8000, 16000]))
            case = {"id": f"e{n_case:03d}", "group": g["group"], "kind": kind,
                    "recipe": recipe, "hum_db": hum_db, "seed": int(rng.integers(2 ** 31)),
                    "final": {"codec": final_codec, "sr": final_sr}}
            timed = g["group"].startswith("enf") or g["group"] == "long"
            if kind == "continuous":
                host["seconds"] = seconds
                host["offset"] = _offset(rng, log_seconds, seconds) if hum_db is not None \
                    else None
                case["sessions"] = [host]
                case["edit"] = None
            elif kind == "cut":
                rlo, rhi = g.get("removed", (0.5, 30))
                if g["group"] == "long":
                    rlo, rhi = (60, 600) if i % 2 else (0.5, 30)
                removed = round(float(np.exp(rng.uniform(np.log(rlo), np.log(rhi)))), 2)
                margin = MIN_PIECE if timed else 10.0
                at = round(float(rng.uniform(margin + 5, seconds - margin - 5)), 2)
                host["seconds"] = round(seconds + removed, 1)
                host["offset"] = (_offset(rng, log_seconds, host["seconds"])
                                  if hum_db is not None else None)
                case["sessions"] = [host]
                case["edit"] = {"at": at, "removed": removed,
                                "where": "pause" if rng.random() < 0.5 else "mid-speech"}
            else:
                ilo, ihi = g.get("insert", (65, 180))
                insert = round(float(rng.uniform(ilo, ihi)), 1)
                margin = MIN_PIECE if timed else 10.0
                host_len = max(seconds - insert, 2 * margin + 12)
                at = round(float(rng.uniform(margin + 5, host_len - margin - 5)), 2)
                replace = round(float(rng.uniform(0.5, 20)), 2) if rng.random() < 0.4 else 0.0
                host["seconds"] = round(host_len + replace, 1)
                host["offset"] = (_offset(rng, log_seconds, host["seconds"])
                                  if hum_db is not None else None)
                change = g.get("change") or ("time" if i % 2 else "room")
                other = {"voice": voice, **other_conditions(host, rng, hum_db=hum_db,
                                                            change=change)}
                if change == "time":  # another time in the same place: another gain only
                    other["gain_db"] = round(host["gain_db"] + float(rng.uniform(-2, 2)), 1)
                from_ = round(float(rng.uniform(5, 60)), 2)
                other["seconds"] = round(from_ + insert + 5, 1)
                other["offset"] = (_offset(rng, log_seconds, other["seconds"],
                                           away_from=host["offset"])
                                   if hum_db is not None else None)
                case["sessions"] = [host, other]
                case["edit"] = {"at": at, "insert": insert, "from": from_, "replace": replace,
                                "change": change,
                                "where": "pause" if rng.random() < 0.5 else "mid-speech"}
            if recipe == "fsdd" and sum(s["seconds"] for s in case["sessions"]) > FSDD_MAX:
                # one FSDD speaker has 500 takes (about 6 min read): a longer case would
                # change speaker (or repeat takes) mid-recording; espeak-ng reads it instead
                voice = draw_voice("espeak", rng, fsdd_speakers)
                for s in case["sessions"]:
                    s["voice"] = voice
                case["recipe"] = "espeak"
            case["timed"] = bool(timed and hum_db is not None)
            cases.append(case)
    return cases
