"""Fit purport's default voice calibration (run by a maintainer; the product never reads
../shared/data or calls a synthesiser).

    .venv/bin/python scripts/fit_default_calibration.py ../shared/data/fsdd

Population: the four real FSDD speakers (English digits, 8 kHz) and synthetic voices from
espeak-ng (several languages and variants) and flite (Debian packages ``espeak-ng`` and
``flite``). Each speaker gives a reference (about 30 s of speech) and a longer recording
that :func:`purport.voice.conditions.render_population` cuts into questioned clips and
renders in every condition bucket; each bucket gets its own fit, held-out validation and
LR bounds. Writes src/purport/voice/data/default_calibration.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

from purport import media
from purport.voice import calibrate, load_encoder
from purport.voice.conditions import Bucket, fit_cells, render_population
from purport.voice.embed import SR

OUT = Path(__file__).resolve().parents[1] / "src" / "purport" / "voice" / "data"
FSDD_SPEAKERS = ["jackson", "nicolas", "theo", "yweweler"]
ESPEAK = ["en", "en-us", "en+m3", "en+f2", "en-gb-x-rp", "ar", "ar+m2", "fr", "fr+f3", "de",
          "de+m4", "es", "es+f4", "fa", "tr", "ru", "it+m1", "nl", "pt+f1", "hi"]
FLITE = ["kal", "awb", "rms", "slt"]
WORDS = ("people city river market morning evening council letter promise winter summer "
         "bridge village engineer teacher station garden window history village harbour "
         "journey doctor answer question message brother sister mountain desert road "
         "school office minister report number family country border soldier farmer "
         "weather season valley forest island machine factory company problem reason").split()


def sentences(seed: int, n_words: int) -> str:
    rng = np.random.default_rng(seed)
    out, left = [], n_words
    while left > 0:
        k = int(min(left, rng.integers(7, 12)))
        out.append("The " + " ".join(rng.choice(WORDS, size=k)) + ".")
        left -= k
    return " ".join(out)


def fsdd_recordings(fsdd: Path) -> dict[str, list[np.ndarray]]:
    """Per speaker: a reference of takes 0-14 (about 30-40 s), and the other takes."""
    def take(p: Path) -> np.ndarray:
        with wave.open(str(p)) as w:
            y = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768
        return media.resample(y, orig_sr=8000, target_sr=SR)

    gap = np.zeros(int(0.15 * SR), np.float32)
    out = {}
    for spk in FSDD_SPEAKERS:
        def joined(takes: range, spk: str = spk) -> np.ndarray:
            return np.concatenate([part for t in takes for d in range(10)
                                   for part in (take(fsdd / f"{d}_{spk}_{t}.wav"), gap)])
        out[f"fsdd:{spk}"] = [joined(range(0, 14)), joined(range(14, 50))]
    return out


def tts_recordings(tmp: Path) -> dict[str, list[np.ndarray]]:
    """Per voice: a reference read from one text (about 35 s) and a recording of another
    (about 90 s)."""
    out = {}
    for i, voice in enumerate(ESPEAK + FLITE):
        recs = []
        for j, n_words in enumerate((100, 250)):
            text = sentences(1000 + 7 * i + j, n_words)
            wav = tmp / f"{i}_{j}.wav"
            if voice in FLITE:
                cmd = ["flite", "-voice", voice, "-t", text, "-o", str(wav)]
            else:
                cmd = ["espeak-ng", "-v", voice, "-s", str(150 + 10 * j), "-w", str(wav), text]
            subprocess.run(cmd, check=True, capture_output=True)
            recs.append(media.load(wav, sr=SR).y)
        out[("flite:" if voice in FLITE else "espeak:") + voice] = recs
    return out


def main(fsdd: Path) -> None:
    encoder = load_encoder()
    with tempfile.TemporaryDirectory() as tmp:
        population = fsdd_recordings(fsdd) | tts_recordings(Path(tmp))
    t0 = time.time()
    rendered = render_population(
        population, encoder=encoder,
        progress=lambda i, n, s: print(f"{i}/{n} {s} {time.time() - t0:.0f} s", file=sys.stderr))
    cells = fit_cells(rendered)
    whole = rendered.pairs(Bucket(6.0, "wide", None).key)
    windows = rendered.pairs(Bucket(3.0, "wide", None).key)
    n_tts = len(ESPEAK) + len(FLITE)
    cal = calibrate(
        name="purport-default-v3", encoder=encoder.name,
        population=(f"4 real speakers (FSDD: English digits, 8 kHz, male) and {n_tts} "
                    "synthetic voices (espeak-ng and flite, several languages); references "
                    "about 30 s, questioned clips of 3, 6, 15 and 30 s of speech"),
        notes=("A demonstration calibration, not a relevant population for any real case: "
               "only 4 real speakers, all male, one language and channel; the synthetic "
               "voices are variants of two engines, some nearly alike, unlike any real "
               "population. Fit your own with `purport voice calibrate --population DIR "
               "--name NAME [--conditions QUESTIONED]` on speakers, language and recording "
               "conditions like the case's."),
        rendering=("questioned side: clean speech cut to the bucket's net speech, band-"
                   "limited to 300-3400 Hz at 8 kHz when narrow, white noise at the bucket's "
                   "ratio to the speech frames' power, then Opus 16 kbit/s when degraded; "
                   "reference side: up to 30 s of speech through MP3 64 kbit/s"),
        cells=cells, scores=whole["scores"], same=whole["same"],
        pair_speakers=whole["pair_speakers"], window_scores=windows["scores"],
        window_same=windows["same"])
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "default_calibration.json").write_text(json.dumps(cal.to_dict(), indent=1) + "\n")
    print(json.dumps(cal.summary(), indent=2))
    for key, c in sorted(cells.items()):
        print(f"{key:24} cllr {c['cllr']:.3f} eer {c['eer']:.3f} bounds "
              f"{c['llr_min'] / 2.3026:+.2f} {c['llr_max'] / 2.3026:+.2f} useful {c['useful']}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/fsdd"))
