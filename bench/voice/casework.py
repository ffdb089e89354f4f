"""Voice in casework conditions: speaker-disjoint trials, conditions crossed (issue 14).

    .venv/bin/python bench/voice/casework.py --set dev       # tune on this
    .venv/bin/python bench/voice/casework.py --set heldout   # score once, at the end
    .venv/bin/python bench/voice/casework.py --set final     # untouched until the end

Every trial is a questioned clip against one speaker's reference. Questioned clips hold
3, 6, 15 or 30 s of speech and are made by this benchmark's own recipes (``RECIPES``,
not purport's rendering): clean; Opus 16 kbit/s; a telephone channel (band-pass, G.711
mu-law at 8 kHz); white or pink noise 10-20 dB below the active speech; noise 15-20 dB
then Opus; noise 15-20 dB, then the telephone channel, then Opus (a phone call passed on
as a voice note). References are 30 s of clean speech, as WAV or MP3 56 kbit/s. Four
TTS voices per set also speak a whole 20-minute message (clean, and through the phone
call recipe), rated against every reference of its fold.

Calibration is speaker-disjoint: the speakers are split into folds, and the trials of a
fold's speakers (questioned and reference alike) are rated by calibrations fitted only on
the other folds' speakers. Each method is rated on the same trials:

* ``legacy``: what purport did before issue 14: one calibration fitted on clean pairs of
  the calibration speakers (about 6 s), scores outside its range capped at the range end.
* ``conditions``: purport's per-condition calibration: the calibration speakers rendered
  by :func:`purport.voice.conditions.render_population` in every bucket, the bucket chosen
  from the questioned clip's *measured* quality, LRs bounded by the held-out ELUB.

Sources, reported separately: FSDD (4 real speakers; ``dev`` takes 0-24, ``heldout`` and
``final`` takes 25-49, packed anew) and TTS voices (espeak-ng and flite; each set has its
own voices). FSDD folds rotate through the three ways of splitting 4 speakers in 2+2, so
every pair of FSDD speakers meets in some fold's trials.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from scipy import signal

sys.path.insert(0, str(Path(__file__).resolve().parent))
import importlib  # noqa: E402

import corpus  # noqa: E402
from corpus import FSDD_SPEAKERS, read_wav, resample, seed_of  # noqa: E402

from purport import media  # noqa: E402
from purport.voice import conditions  # noqa: E402
from purport.voice.compare import rate  # noqa: E402
from purport.voice.embed import SR, Quality, embed_recording, load_encoder  # noqa: E402

cal_mod = importlib.import_module("purport.voice.calibrate")

HERE = Path(__file__).resolve().parent
DURATIONS = (3.0, 6.0, 15.0, 30.0)
RECIPES = ("clean", "opus16", "phone", "noise10-20", "noise15-20+opus16",
           "noise15-20+phone+opus16")
REFS = ("wav", "mp3")
TARGET_RECIPES = ("noise15-20+opus16", "noise15-20+phone+opus16")
WHOLE = 1200.0                   # seconds of a whole message (4 TTS voices per set)
WHOLE_VOICES = 4
WHOLE_RECIPES = ("clean", "noise15-20+phone+opus16")

SETS = {
    "dev": {"takes": range(0, 25), "seed": 0, "voices": [
        "espeak:en+m1", "espeak:en+m5", "espeak:en+f3", "espeak:en-us+m2",
        "espeak:en-gb-scotland+m6", "espeak:en-029+m4", "espeak:en-gb-x-gbclan+f1",
        "espeak:ar+m1", "espeak:ar+f2", "espeak:ar+m6", "espeak:fr+m5", "espeak:de+f4",
        "espeak:es+m6", "espeak:it+f3", "espeak:pt+m7", "espeak:nl+f1", "espeak:tr+m3",
        "espeak:ru+f5", "flite:kal", "flite:rms"]},
    "heldout": {"takes": range(25, 50), "seed": 1, "voices": [
        "espeak:en-gb-x-rp+m2", "espeak:en-us+f2", "espeak:en-gb-x-gbcwmd+m3",
        "espeak:en+klatt2", "espeak:en-029+f5", "espeak:en+Andy", "espeak:en+Annie",
        "espeak:ar+m3", "espeak:ar+f4", "espeak:ar+klatt3", "espeak:fr+m2", "espeak:de+m6",
        "espeak:es+f2", "espeak:it+m2", "espeak:pt+f4", "espeak:nl+m2", "espeak:tr+f1",
        "espeak:ru+m3", "flite:awb", "flite:slt"]},
    "final": {"takes": range(25, 50), "seed": 2, "voices": [
        "espeak:en+m2", "espeak:en-us+f5", "espeak:en-gb-scotland+f1", "espeak:en+klatt4",
        "espeak:en+david", "espeak:en+linda", "espeak:ar+m4", "espeak:ar+f1",
        "espeak:ar+klatt5", "espeak:fr+f2", "espeak:de+m1", "espeak:es+m2", "espeak:it+f1",
        "espeak:pt+m5", "espeak:nl+f3", "espeak:tr+m6", "espeak:ru+f2", "flite:kal16"]},
}
CLIPS = {"fsdd": {3.0: 6, 6.0: 4, 15.0: 2, 30.0: 1},
         "tts": {3.0: 4, 6.0: 3, 15.0: 2, 30.0: 2}}


# --- the benchmark's own channel recipes (independent of purport's render) -----------


def active_power(y: np.ndarray, sr: int) -> float:
    """Mean power of the 30-ms frames within 40 dB of the loudest (a P.56 stand-in)."""
    n = int(0.03 * sr)
    p = np.mean(y[: len(y) // n * n].astype(np.float64).reshape(-1, n) ** 2, axis=1)
    return float(p[p >= p.max() * 1e-4].mean())


def add_noise(y: np.ndarray, sr: int, rng: np.random.Generator, lo: float, hi: float):
    """White or pink (1/f, by FFT shaping) noise, ``lo``-``hi`` dB below the active level."""
    snr = rng.uniform(lo, hi)
    white = rng.standard_normal(len(y))
    if rng.random() < 0.5:
        spec = np.fft.rfft(white)
        f = np.fft.rfftfreq(len(y), 1 / sr)
        spec /= np.sqrt(np.maximum(f, 50.0))
        white = np.fft.irfft(spec, n=len(y))
    noise = white / np.sqrt(np.mean(white ** 2)) * math.sqrt(active_power(y, sr)
                                                              * 10 ** (-snr / 10))
    return (y + noise).astype(np.float32), snr


def telephone(y: np.ndarray, sr: int) -> np.ndarray:
    """300-3400 Hz (6th-order elliptic), G.711 mu-law at 8 kHz, back at ``sr``."""
    x = resample(y, sr, 8000)
    sos = signal.ellip(3, 0.5, 40, [300, 3400], btype="bandpass", fs=8000, output="sos")
    x = np.clip(signal.sosfilt(sos, x), -1, 1)
    mu = 255.0
    code = np.round(np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu) * 127) / 127
    x = np.sign(code) * (np.power(1 + mu, np.abs(code)) - 1) / mu
    return resample(x.astype(np.float32), 8000, sr)


def opus(y: np.ndarray, sr: int) -> np.ndarray:
    return media.codec_roundtrip(y, sr, codec="libopus", kbps=16, container="ogg", rate=48000)


def mp3(y: np.ndarray, sr: int) -> np.ndarray:
    return media.codec_roundtrip(y, sr, codec="libmp3lame", kbps=56, container="mp3",
                                 rate=22050)


def degrade(recipe: str, y: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """``y`` (at 16 kHz) through one of :data:`RECIPES`."""
    x = np.asarray(y, np.float32)
    if recipe.startswith("noise"):
        lo, hi = (float(v) for v in recipe.split("+")[0][5:].split("-"))
        x, _ = add_noise(x, sr, rng, lo, hi)
    if "phone" in recipe:
        x = telephone(x, sr)
    if "opus16" in recipe:
        x = opus(x, sr)
    peak = float(np.max(np.abs(x)))
    return (x * (0.99 / peak) if peak > 0.99 else x).astype(np.float32)


# --- clean sources -----------------------------------------------------------------------


def fsdd_takes(speaker: str, takes: range, rng: np.random.Generator) -> list[np.ndarray]:
    names = [f"{d}_{speaker}_{t}" for d in range(10) for t in takes]
    out = []
    for i in rng.permutation(len(names)):
        y, sr = read_wav(corpus.FSDD_DIR / f"{names[i]}.wav")
        out.append(resample(y, sr, SR))
    return out


def pack(takes: list[np.ndarray], seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Takes with 0.1-0.3 s gaps until they hold ``seconds`` of take audio; consumes them."""
    parts, held = [], 0.0
    while takes and held < seconds:
        t = takes.pop()
        parts += [np.zeros(int(rng.uniform(0.1, 0.3) * SR), np.float32), t]
        held += len(t) / SR
    return np.concatenate(parts) if held >= seconds * 0.95 else np.zeros(0, np.float32)


def tts_audio(voice: str, seconds: float, tag: str, seed: int) -> np.ndarray:
    """``seconds`` of speech content from ``voice`` (pauses kept; cut at 1.15 x seconds)."""
    rec = corpus.tts_recording(voice, tag, round(seconds * 1.15, 2), 0, seed=seed)
    return resample(rec.y, rec.sr, SR)


def sources(set_name: str) -> dict[str, dict]:
    """Per speaker: source, clean reference, clean questioned clips per duration, and a
    clean population recording (for when the speaker calibrates other folds' trials)."""
    spec = SETS[set_name]
    out = {}
    for spk in FSDD_SPEAKERS:
        rng = np.random.default_rng(seed_of("casework-fsdd", spec["seed"], spk))
        takes = fsdd_takes(spk, spec["takes"], rng)
        ref = pack(takes, 30.0, rng)
        rest = list(takes)
        clips = {}
        for d in DURATIONS:
            pool = list(rest)
            rng.shuffle(pool)
            clips[d] = [c for c in (pack(pool, d, rng) for _ in range(CLIPS["fsdd"][d]))
                        if len(c)]
        pool = list(rest)
        population = pack(pool, 75.0, rng)
        out[f"fsdd:{spk}"] = {"source": "fsdd", "reference": ref, "clips": clips,
                              "population": population if len(population) else pack(
                                  list(rest), 50.0, rng)}
    for voice in spec["voices"]:
        s = spec["seed"]
        clips = {d: [tts_audio(voice, d, f"q{d:g}-{i}", s) for i in range(CLIPS["tts"][d])]
                 for d in DURATIONS}
        if voice in spec["voices"][:WHOLE_VOICES]:
            clips[WHOLE] = [tts_audio(voice, WHOLE, "whole", s)]
        out[voice] = {"source": "tts", "reference": tts_audio(voice, 30.0, "ref", s),
                      "clips": clips, "population": tts_audio(voice, 75.0, "pop", s)}
    return out


# --- embedding with a cache ----------------------------------------------------------------


class Store:
    """Embeddings (vector + measured quality) by key, in one npz + json per set."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: dict[str, tuple[np.ndarray, dict]] = {}
        if path.with_suffix(".json").is_file():
            meta = json.loads(path.with_suffix(".json").read_text())
            with np.load(path.with_suffix(".npz")) as z:
                self.items = {k: (z[str(i)], meta[k]) for i, k in enumerate(meta)}
        self.dirty = False

    def get(self, key: str, make) -> tuple[np.ndarray, dict]:
        if key in self.items and "low_band_db" not in self.items[key][1]:
            vec, _ = self.items[key]
            self.items[key] = (vec, measure(make()))
            self.dirty = True
        if key not in self.items:
            y = make()
            e = embed_recording(y, sr=SR, encoder=ENCODER)
            self.items[key] = (e.vector, e.quality.__dict__)
            self.dirty = True
        return self.items[key]

    def save(self) -> None:
        if not self.dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self.items)
        buf = io.BytesIO()
        np.savez(buf, **{str(i): self.items[k][0] for i, k in enumerate(keys)})
        self.path.with_suffix(".npz").write_bytes(buf.getvalue())
        self.path.with_suffix(".json").write_text(json.dumps({k: self.items[k][1] for k in keys}))
        self.dirty = False


ENCODER = None


def measure(y: np.ndarray) -> dict:
    """purport's quality measures of ``y`` (at 16 kHz) without the embedding (for cached
    vectors whose quality predates a measure)."""
    from purport.voice.embed import level_gain, quality, speech_mask

    gain = level_gain(y)
    return quality(y, speech_mask(y, sr=SR, gain=gain), sr=SR, gain=gain).__dict__


def trial_embeddings(set_name: str, src: dict, store: Store) -> list[dict]:
    """Every reference and questioned clip of the set, embedded (bench recipes)."""
    seed = SETS[set_name]["seed"]
    rows = []
    for spk, s in src.items():
        for rv in REFS:
            vec, q = store.get(f"ref|{spk}|{rv}", lambda s=s, rv=rv: s["reference"] if rv == "wav"
                               else mp3(s["reference"], SR))
            rows.append({"speaker": spk, "source": s["source"], "side": "ref", "ref": rv,
                         "vector": vec, "quality": q})
        for d, clips in s["clips"].items():
            for i, clip in enumerate(clips):
                for recipe in (WHOLE_RECIPES if d == WHOLE else RECIPES):
                    rng = np.random.default_rng(seed_of("casework", seed, spk, d, i, recipe))
                    vec, q = store.get(f"q|{spk}|{d:g}|{i}|{recipe}",
                                       lambda clip=clip, recipe=recipe, rng=rng:
                                       degrade(recipe, clip, SR, rng))
                    rows.append({"speaker": spk, "source": s["source"], "side": "q",
                                 "duration": d, "recipe": recipe, "vector": vec,
                                 "quality": q})
        store.save()
    return rows


def code_hash() -> str:
    """Hash of the purport code that renders and embeds (the rendered-embedding cache key)."""
    import inspect

    h = hashlib.sha256()
    for fn in (conditions.render, conditions.render_like, conditions.population_reference,
               conditions.cut_to_speech,
               conditions.speech_power, conditions.render_population, media.codec_roundtrip):
        h.update(inspect.getsource(fn).encode())
    h.update(repr((conditions.VOICE_NOTE, conditions.REFERENCE_CODEC,
                   conditions.CLIPS_PER_RECORDING, conditions.ALL_BUCKETS)).encode())
    h.update((Path(conditions.__file__).parent / "embed.py").read_bytes())
    return h.hexdigest()[:12]


def rendered_population(set_name: str, src: dict, cache: Path) -> conditions.Rendered:
    """Every speaker of the set rendered by purport in every bucket (cached by code hash)."""
    path = cache / f"population-{code_hash()}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=True) as z:
            return conditions.Rendered(z["references"].item(), z["questioned"].item())
    population = {spk: [s["reference"], s["population"]] for spk, s in src.items()}
    t = time.time()
    rendered = conditions.render_population(
        population, encoder=ENCODER, seed=SETS[set_name]["seed"],
        progress=lambda i, n, spk: print(f"  population {i}/{n} {spk} "
                                         f"{time.time() - t:.0f} s", file=sys.stderr))
    np.savez(path, references=np.array(rendered.references, dtype=object),
             questioned=np.array(rendered.questioned, dtype=object))
    return rendered


# --- folds and methods ---------------------------------------------------------------------


def folds(speakers: list[str]) -> list[set[str]]:
    """Trial-speaker sets: for each of the 3 ways to split FSDD's 4 speakers 2+2, two folds,
    each with half the TTS voices (alternating, in the set's order)."""
    fsdd = [s for s in speakers if s.startswith("fsdd:")]
    tts = [s for s in speakers if not s.startswith("fsdd:")]
    out = []
    for k, partner in enumerate(fsdd[1:]):
        first = {fsdd[0], partner}
        halves = [set(tts[(k % 2)::2]), set(tts[1 - (k % 2)::2])]
        out.append(first | halves[0])
        out.append((set(fsdd) - first) | halves[1])
    return out


def legacy_calibration(rendered: conditions.Rendered, speakers: set[str]):
    """What purport did before: one clean fit (6 s questioned, clean references), range-capped."""
    pairs = rendered.pairs(conditions.Bucket(6.0, "wide", None).key, speakers)
    return cal_mod.calibrate(name="legacy", encoder="resemblyzer-ge2e", population="folds",
                             window_scores=pairs["scores"], window_same=pairs["same"], **pairs)


def quality_of(d: dict) -> Quality:
    return Quality(**d)


def reference_vector(src: dict, store: Store, spk: str, rv: str, quality: Quality,
                     recipe: str):
    """The reference of ``spk`` (version ``rv``) as purport compares it with a questioned
    clip of ``quality``: rendered like it when its channel is degraded
    (:func:`purport.voice.conditions.reference_rendering`), with the codec its file would
    carry (Opus 16 kbit/s for the Opus recipes), as ``purport voice compare`` does."""
    codec = conditions.codec_like("opus", 16000) if "opus" in recipe else None
    how = conditions.reference_rendering(quality, codec)
    if how is None:
        return None
    like = how[1]
    label = f"{spk}/{rv}"

    def make():
        ref = src[spk]["reference"]
        ref = ref if rv == "wav" else mp3(ref, SR)
        rng = np.random.default_rng(conditions.reference_seed(f"{label}/{like.tag}"))
        return conditions.render_like(ref, like, rng)

    return store.get(f"refr|{code_hash()}|{label}|{like.tag}", make)[0]


def score_set(rows: list[dict], rendered: conditions.Rendered, src: dict,
              store: Store) -> list[dict]:
    """Every trial of every fold under each method: one dict per trial."""
    speakers = sorted({r["speaker"] for r in rows})
    trials = []
    for f, trial_speakers in enumerate(folds(speakers)):
        calib_speakers = set(speakers) - trial_speakers
        cells = conditions.fit_cells(rendered, speakers=calib_speakers)
        table = cal_mod.Calibration(**{**legacy_calibration(rendered, calib_speakers).to_dict(),
                                       "cells": cells})
        legacy = legacy_calibration(rendered, calib_speakers)
        refs = [r for r in rows if r["side"] == "ref" and r["speaker"] in trial_speakers]
        qs = [r for r in rows if r["side"] == "q" and r["speaker"] in trial_speakers]
        for q in qs:
            quality = quality_of(q["quality"])
            for r in refs:
                if r["source"] != q["source"] or not q["vector"].size or not r["vector"].size:
                    continue
                score = float(q["vector"] @ r["vector"])
                rendered_ref = reference_vector(src, store, r["speaker"], r["ref"], quality,
                                                q["recipe"])
                if rendered_ref is None:
                    score_c, channel = score, conditions.CLEAN_CHANNEL
                else:
                    score_c = float(q["vector"] @ rendered_ref)
                    channel = conditions.bucket_of(quality)[0].channel
                llr_c, condition, _ = rate(score_c, quality, table, reference_channel=channel)
                trials.append({
                    "fold": f, "source": q["source"], "duration": q["duration"],
                    "recipe": q["recipe"], "ref": r["ref"], "q": q["speaker"],
                    "r": r["speaker"], "same": q["speaker"] == r["speaker"],
                    "score": score, "score_c": score_c, "net": quality.net_speech_seconds,
                    "legacy": legacy.llr(score) / cal_mod.LN10,
                    "conditions": None if llr_c is None else llr_c / cal_mod.LN10,
                    "bucket": condition.get("bucket")})
    return trials


def metrics(trials: list[dict], method: str) -> dict:
    """EER, Cllr, Cllr_min, misleading and strongly misleading rates, 'no LR' share."""
    same = np.array([t["same"] for t in trials])
    scores = np.array([t["score_c" if method == "conditions" else "score"] for t in trials])
    lr = np.array([np.nan if t[method] is None else t[method] for t in trials], float)
    given = ~np.isnan(lr)
    out = {"n_same": int(same.sum()), "n_diff": int((~same).sum()),
           "eer": cal_mod.eer(scores[same], scores[~same]) if same.any() and (~same).any()
           else None,
           "cllr_min": cal_mod.cllr_min(scores[same], scores[~same])
           if same.any() and (~same).any() else None,
           "no_lr": float(np.mean(~given))}
    l10 = np.where(given, lr, 0.0)  # "no LR" counts as LR 1 in the costs
    out["cllr"] = cal_mod.cllr(l10[same] * cal_mod.LN10, l10[~same] * cal_mod.LN10) \
        if same.any() and (~same).any() else None
    out["misleading_same"] = float(np.mean(l10[same] < 0)) if same.any() else None
    out["misleading_diff"] = float(np.mean(l10[~same] > 0)) if (~same).any() else None
    out["strong_same"] = float(np.mean(l10[same] < -2)) if same.any() else None
    out["strong_diff"] = float(np.mean(l10[~same] > 2)) if (~same).any() else None
    out["worst_same"] = float(l10[same].min()) if same.any() else None
    out["worst_diff"] = float(l10[~same].max()) if (~same).any() else None
    out["net_median"] = float(np.median([t["net"] for t in trials]))
    return out


def table(trials: list[dict]) -> list[dict]:
    cells = {}
    for t in trials:
        cells.setdefault((t["source"], t["duration"], t["recipe"], t["ref"]), []).append(t)
    rows = []
    for (source, d, recipe, ref), ts in sorted(cells.items()):
        rows.append({"source": source, "duration": d, "recipe": recipe, "ref": ref,
                     "legacy": metrics(ts, "legacy"), "conditions": metrics(ts, "conditions")})
    return rows


def main() -> None:
    global ENCODER
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", choices=sorted(SETS), default="dev")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--embed-only", action="store_true",
                    help="make and embed the trial set only (before any tuning)")
    args = ap.parse_args()
    ENCODER = load_encoder()
    cache = HERE / ".cache" / f"casework-{args.set}"
    t0 = time.time()
    src = sources(args.set)
    store = Store(cache / "trials")
    rows = trial_embeddings(args.set, src, store)
    print(f"trial set {args.set}: {len(rows)} embeddings, {time.time() - t0:.0f} s",
          file=sys.stderr)
    if args.embed_only:
        return
    rendered = rendered_population(args.set, src, cache)
    trials = score_set(rows, rendered, src, store)
    store.save()
    out = args.out or HERE / f"casework-{args.set}"
    out.mkdir(parents=True, exist_ok=True)
    (out / "trials.json").write_text(json.dumps(trials))
    result = {"set": args.set, "code": code_hash(), "wall_s": round(time.time() - t0),
              "cells": table(trials)}
    (out / "results.json").write_text(json.dumps(result, indent=1))
    print(f"wrote {out} in {time.time() - t0:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
