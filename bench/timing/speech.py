"""Speech for the questioned recordings: a pool of utterances, then tracks of any length.

The pool (cached in ``.cache/speech-pool-<seed>.npz``) holds, at 16 kHz:

* espeak-ng sentences in seven English accents with voice variants (+m1..+m7,
  +f1..+f4), speed ``-s 130-190`` and pitch ``-p 30-70``;
* flite sentences with the voices kal, kal16, awb, rms and slt;
* real speech: runs of 3-8 digits of one speaker of the Free Spoken Digit Dataset
  (``../shared/data/fsdd``, 8 kHz, upsampled).

Sentences come from the licences in ``/usr/share/common-licenses`` (plain local text).
A track is a random sequence of pool items with 0.15-0.8 s pauses, each item at a random
level within +-3 dB, the whole normalised to ``SPEECH_DBFS`` RMS.
"""

from __future__ import annotations

import glob
import re
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
from scipy import signal

SR = 16000
SPEECH_DBFS = -20.0
FSDD = Path(__file__).resolve().parents[3] / "shared" / "data" / "fsdd"
ESPEAK_VOICES = ("en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan",
                 "en-gb-x-gbcwmd")
ESPEAK_VARIANTS = ("", "+m1", "+m2", "+m3", "+m4", "+m5", "+m6", "+m7", "+f1", "+f2", "+f3",
                   "+f4")
FLITE_VOICES = ("kal", "kal16", "awb", "rms", "slt")


def sentences() -> list[str]:
    """Prose sentences (6-30 words) from the licences shipped with Debian."""
    out, seen = [], set()
    for path in sorted(glob.glob("/usr/share/common-licenses/*")):
        try:
            text = Path(path).read_text(errors="replace")
        except (IsADirectoryError, OSError):
            continue
        text = re.sub(r"\s+", " ", text)
        for s in re.split(r"(?<=[.!?])\s+", text):
            words = s.split()
            if 6 <= len(words) <= 30 and re.fullmatch(r"[A-Za-z0-9 ,;:'()\-.?!]+", s) \
                    and s not in seen:
                seen.add(s)
                out.append(s)
    return out


def _read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as w:
        sr, n, ch = w.getframerate(), w.getnframes(), w.getnchannels()
        y = np.frombuffer(w.readframes(n), dtype=np.int16).astype(np.float32) / 32768
    if ch > 1:
        y = y.reshape(-1, ch).mean(axis=1)
    return y, sr


def resample(y: np.ndarray, sr_in: int, sr_out: int = SR) -> np.ndarray:
    """Polyphase resampling between integer rates (float32)."""
    if sr_in == sr_out:
        return np.asarray(y, np.float32)
    g = np.gcd(sr_in, sr_out)
    return signal.resample_poly(y, sr_out // g, sr_in // g).astype(np.float32)


def _trim(y: np.ndarray, thresh: float = 1e-3) -> np.ndarray:
    idx = np.flatnonzero(np.abs(y) > thresh)
    return y[idx[0]:idx[-1] + 1] if len(idx) else y[:0]


def _tts(cmd: list[str], out: Path) -> np.ndarray | None:
    try:
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)
        y, sr = _read_wav(out)
    except (subprocess.SubprocessError, OSError, EOFError, wave.Error):
        return None
    y = _trim(resample(y, sr))
    return y if len(y) > SR // 2 else None


def build_pool(cache: Path, *, n_espeak: int = 400, n_flite: int = 120, n_fsdd: int = 120,
               seed: int = 0, log=print) -> dict[str, np.ndarray]:
    """The utterance pool: ``audio`` (int16, concatenated), ``start``, ``length``, ``source``."""
    path = cache / f"speech-pool-{seed}-{n_espeak}-{n_flite}-{n_fsdd}.npz"
    if path.is_file():
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    rng = np.random.default_rng(seed)
    pool_text = sentences()
    rng.shuffle(pool_text)
    items, sources = [], []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "u.wav"
        for i in range(n_espeak):
            voice = rng.choice(ESPEAK_VOICES) + rng.choice(ESPEAK_VARIANTS)
            y = _tts(["espeak-ng", "-v", voice, "-s", str(rng.integers(130, 191)), "-p",
                      str(rng.integers(30, 71)), "-w", str(out),
                      pool_text[i % len(pool_text)]], out)
            if y is not None:
                items.append(y)
                sources.append("espeak-ng")
        log(f"  speech pool: {len(items)} espeak-ng utterances")
        for i in range(n_flite):
            text = pool_text[(n_espeak + i) % len(pool_text)]
            y = _tts(["flite", "-voice", str(rng.choice(FLITE_VOICES)), "-t", text, "-o",
                      str(out)], out)
            if y is not None:
                items.append(y)
                sources.append("flite")
        log(f"  speech pool: + flite, {len(items)} utterances")
    files = sorted(FSDD.glob("*.wav"))
    speakers = sorted({f.name.split("_")[1] for f in files})
    for _ in range(n_fsdd):
        spk = rng.choice(speakers)
        mine = [f for f in files if f.name.split("_")[1] == spk]
        parts = []
        for f in rng.choice(mine, size=rng.integers(3, 9), replace=False):
            y, sr = _read_wav(f)
            parts += [resample(y, sr), np.zeros(int(rng.uniform(0.05, 0.3) * SR), np.float32)]
        items.append(np.concatenate(parts))
        sources.append("fsdd")
    log(f"  speech pool: + fsdd, {len(items)} utterances")
    lengths = np.array([len(y) for y in items])
    pool = {"audio": (np.clip(np.concatenate(items), -1, 1) * 32767).astype(np.int16),
            "start": np.r_[0, np.cumsum(lengths)[:-1]], "length": lengths,
            "source": np.array(sources)}
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, **pool)
    return pool


def track(pool: dict[str, np.ndarray], seconds: float, rng: np.random.Generator) -> np.ndarray:
    """A speech track of exactly ``seconds`` at ``SR`` and ``SPEECH_DBFS`` RMS."""
    n = int(round(seconds * SR))
    out = np.zeros(n, np.float32)
    pos = int(rng.uniform(0, 0.5) * SR)
    while pos < n:
        k = rng.integers(len(pool["length"]))
        a = pool["start"][k]
        y = pool["audio"][a:a + pool["length"][k]].astype(np.float32) / 32767
        y = y / (np.sqrt(np.mean(y ** 2)) + 1e-9) * 10 ** (rng.uniform(-3, 3) / 20)
        m = min(len(y), n - pos)
        out[pos:pos + m] = y[:m]
        pos += m + int(rng.uniform(0.15, 0.8) * SR)
    return out * (10 ** (SPEECH_DBFS / 20) / (np.sqrt(np.mean(out ** 2)) + 1e-12))
