"""Fit purport's default voice calibration (run by a maintainer; the product never reads
../shared/data or calls a synthesiser).

    .venv/bin/python scripts/fit_default_calibration.py ../shared/data/fsdd

Population: the four real FSDD speakers (English digits, 8 kHz; recordings of about 6 s
made of disjoint takes) and synthetic voices from espeak-ng (several languages and
variants) and flite (Debian packages ``espeak-ng`` and ``flite``), each voice reading
different sentences. Writes src/purport/voice/data/default_calibration.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

from purport import media
from purport.voice import calibrate, embed_recording, load_encoder, population_scores

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


def sentences(seed: int, n: int) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        words = rng.choice(WORDS, size=rng.integers(7, 12))
        out.append("The " + " ".join(words) + ".")
    return out


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    signal = media.load(path, sr=16000)
    return signal.y, signal.sr


def fsdd_recordings(fsdd: Path) -> dict[str, list[tuple[np.ndarray, int]]]:
    def take(p: Path) -> np.ndarray:
        with wave.open(str(p)) as w:
            return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768

    out = {}
    for spk in FSDD_SPEAKERS:
        recs = []
        for start in range(0, 48, 4):  # 12 recordings of 4 takes x a few digits (about 6 s)
            parts = []
            for t in range(start, start + 4):
                for d in (t % 10, (t + 3) % 10, (t + 7) % 10):
                    parts += [take(fsdd / f"{d}_{spk}_{t}.wav"), np.zeros(1200, np.float32)]
            recs.append((np.concatenate(parts), 8000))
        out[f"fsdd:{spk}"] = recs
    return out


def tts_recordings(tmp: Path) -> dict[str, list[tuple[np.ndarray, int]]]:
    out = {}
    for i, voice in enumerate(ESPEAK + FLITE):
        recs = []
        for j, text in enumerate(sentences(1000 + i, 6)):
            wav = tmp / f"{i}_{j}.wav"
            if voice in FLITE:
                cmd = ["flite", "-voice", voice, "-t", text, "-o", str(wav)]
            else:
                cmd = ["espeak-ng", "-v", voice, "-s", str(150 + 10 * (j % 3)), "-w", str(wav),
                       text]
            subprocess.run(cmd, check=True, capture_output=True)
            recs.append(read_wav(wav))
        out[("flite:" if voice in FLITE else "espeak:") + voice] = recs
    return out


def main(fsdd: Path) -> None:
    encoder = load_encoder()
    with tempfile.TemporaryDirectory() as tmp:
        population = fsdd_recordings(fsdd) | tts_recordings(Path(tmp))
    vectors, speakers, windows = [], [], []
    for speaker, recs in population.items():
        for y, sr in recs:
            e = embed_recording(y, sr=sr, encoder=encoder)
            if e.vector.size:
                vectors.append(e.vector)
                speakers.append(speaker)
                windows.append(e.window_vectors)
    pairs = population_scores(vectors, speakers, windows)
    n_tts = len(ESPEAK) + len(FLITE)
    cal = calibrate(
        name="purport-default-v2", encoder=encoder.name,
        population=(f"4 real speakers (FSDD: English digits, 8 kHz, male) and {n_tts} "
                    "synthetic voices (espeak-ng and flite, several languages), about 6 s "
                    "per recording"),
        notes=("A demonstration calibration, not a relevant population for any real case: "
               "only 4 real speakers, all male, one language and channel; the synthetic "
               "voices are variants of two engines, some nearly alike, unlike any real "
               "population. Fit your own with "
               "`purport voice calibrate --population DIR --name NAME` on speakers, "
               "language and recording conditions like the case's."),
        **pairs)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "default_calibration.json").write_text(json.dumps(cal.to_dict(), indent=2) + "\n")
    print(json.dumps(cal.summary(), indent=2))


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/fsdd"))
