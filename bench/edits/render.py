"""Audio for the edits set: sessions rendered whole, then cut, spliced and encoded.

A session (see :mod:`recipes`) is rendered at 16 kHz in this order:

1. speech of the session's length from its recipe, active speech at -26 dBFS
   (bench/cases: espeak-ng, flite, FSDD; tests/speechlike: seeded formant speech);
2. room: dry, or convolved with a synthetic impulse response (a direct path, 5-25 ms of
   pre-delay, then exponentially decaying Gaussian noise reaching -60 dB at the RT60);
3. mains hum (bench/timing ``synth.hum``: 50 Hz and harmonics 2-6 with seeded
   amplitudes) following the real grid log from the session's offset, its RMS
   ``hum_db`` under the RMS of the dry speech track (pauses included, as bench/timing);
4. noise floor: none (digital silence) or pink / brown room tone at -60..-35 dBFS;
5. microphone/channel colour: flat; low-pass (Butterworth order 6 at 2.8-6 kHz);
   telephone band-pass 300-3400 Hz (order 4); high-pass (order 2 at 80-160 Hz); presence
   peak (+6 dB, Q 1, at 1.5-3.5 kHz);
6. gain of +-6 dB; capture: resampled to the capture rate (8 or 16 kHz) and through
   the capture codec (WAV, MP3 64k, Opus 24k) by FFmpeg, decoded back to 16 kHz.

A case is then cut from its sessions' decoded audio and written once more, in its final
codec and rate (WAV, MP3 64k or Opus 16k voice note at 8 or 16 kHz): a final MP3 or Opus
is a re-encoding after the edit.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from lib import SR, audio, cases_plan, gridlog, speech, speechlike, synth
from scipy import signal

from purport import media

ACTIVE_DBFS = cases_plan.SPEECH_DBFS


# --- speech -------------------------------------------------------------------------------


class Speaker:
    """Speech supplies of one case: one Texts and one FSDD take list, so no sentence or
    take is read twice in the case."""

    def __init__(self, sentences: dict[str, list[str]], seed: int) -> None:
        self.texts = speech.Texts(sentences, seed)
        self.fsdd = speech.Fsdd(seed)
        self.reader = speech.Reader(self.texts, self.fsdd, np.random.default_rng([seed, 11]))
        self.seed = seed
        self.n = 0

    def read(self, voice: dict, seconds: float) -> np.ndarray:
        """Exactly ``seconds`` of speech in ``voice`` at ACTIVE_DBFS (clean, 16 kHz)."""
        n = int(round(seconds * SR))
        self.n += 1
        if voice["recipe"] == "speechlike":
            y = speechlike.speech(seconds + 1, seed=int(voice["name"][4:]) + 7919 * self.n,
                                  sr=SR, silence="digital")[:n]
            return audio.gain(y, ACTIVE_DBFS - audio.active_dbfs(y))
        v = cases_plan.Voice(recipe=voice["recipe"], name=voice["name"], lang=voice["lang"],
                             rate=voice.get("rate", 0.0), pitch=voice.get("pitch", 0.0))
        parts, total = [], 0
        while total < n:
            sp = self.reader.read(v, min(600.0, (n - total) / SR + 20), "fresh")
            if len(sp.y) < SR:
                raise RuntimeError(f"speech supply ran out for {v.label()}")
            parts.append(sp.y)
            parts.append(np.zeros(int(self.reader.rng.uniform(0.4, 1.0) * SR), np.float32))
            total += len(sp.y) + len(parts[-1])
        y = np.concatenate(parts)[:n]
        return audio.gain(y, ACTIVE_DBFS - audio.active_dbfs(y))


# --- the chain ----------------------------------------------------------------------------


def impulse_response(rt60: float, rng: np.random.Generator) -> np.ndarray:
    """Unit direct path, a pre-delay, an exponential noise tail down 60 dB at ``rt60`` s."""
    n = int(rt60 * SR)
    pre = int(rng.uniform(0.005, 0.025) * SR)
    t = np.arange(n) / SR
    tail = rng.standard_normal(n) * np.exp(-6.908 * t / rt60)
    # direct-to-reverberant ratio about 0 dB for rt60 0.5 s, lower for longer rooms
    tail *= 1.0 / np.sqrt(np.sum(tail ** 2) + 1e-12) * np.sqrt(rt60 / 0.5)
    ir = np.zeros(pre + n)
    ir[0] = 1.0
    ir[pre:] += tail
    return ir


def room(y: np.ndarray, spec: dict, rng: np.random.Generator) -> np.ndarray:
    if spec["kind"] == "dry":
        return y
    wet = signal.fftconvolve(y, impulse_response(spec["rt60"], rng))[: len(y)]
    return (wet * np.sqrt(np.mean(y ** 2) / (np.mean(wet ** 2) + 1e-20))).astype(np.float32)


def brown(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS brown (1/f^2) noise: leaky integrated white noise, high-passed at 20 Hz."""
    y = signal.lfilter([1.0], [1.0, -0.999], rng.standard_normal(n))
    y = signal.sosfilt(signal.butter(2, 20, "highpass", fs=SR, output="sos"), y)
    return (y / (np.sqrt(np.mean(y ** 2)) + 1e-12)).astype(np.float32)


def floor(n: int, spec: dict, rng: np.random.Generator) -> np.ndarray:
    if spec["kind"] == "digital":
        return np.zeros(n, np.float32)
    unit = audio.pink(n, rng) if spec["kind"] == "pink" else brown(n, rng)
    return audio.gain(unit, spec["dbfs"])


def mic(y: np.ndarray, spec: dict) -> np.ndarray:
    kind, fc = spec["kind"], spec.get("cutoff_hz")
    if kind == "flat":
        return y
    if kind == "lowpass":
        sos = signal.butter(6, fc, "lowpass", fs=SR, output="sos")
    elif kind == "phone":
        sos = signal.butter(4, [300, 3400], "bandpass", fs=SR, output="sos")
    elif kind == "highpass":
        sos = signal.butter(2, fc, "highpass", fs=SR, output="sos")
    else:  # presence: a +6 dB peaking filter (RBJ cookbook), Q 1
        a_ = 10 ** (6 / 40)
        w0 = 2 * np.pi * fc / SR
        alpha = np.sin(w0) / 2
        b = [1 + alpha * a_, -2 * np.cos(w0), 1 - alpha * a_]
        a = [1 + alpha / a_, -2 * np.cos(w0), 1 - alpha / a_]
        return signal.lfilter(b, a, y).astype(np.float32)
    return signal.sosfilt(sos, y).astype(np.float32)


ENCODINGS = {
    "wav": ("wav", None), "mp3_64k": ("mp3", 64), "opus_24k": ("opus", 24),
    "opus_16k": ("opus", 16),
}


def encoding(codec: str, sr: int) -> cases_plan.Encoding:
    fmt, kbps = ENCODINGS[codec]
    return cases_plan.Encoding(fmt=fmt, kbps=kbps, sr=sr)


def through(y: np.ndarray, codec: str, sr: int) -> np.ndarray:
    """``y`` (16 kHz) written at ``sr`` in ``codec`` by FFmpeg and decoded back to 16 kHz,
    cut or padded to its length."""
    if codec == "wav" and sr == SR:
        return np.clip(y, -1, 1).astype(np.float32)
    enc = encoding(codec, sr)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"x{enc.suffix}"
        audio.encode(y, path, enc)
        out = media.load(path, sr=SR).y
    if len(out) >= len(y):
        return out[: len(y)]
    return np.pad(out, (0, len(y) - len(out)))


def session(spec: dict, speaker: Speaker, log: np.ndarray, rng: np.random.Generator
            ) -> tuple[np.ndarray, np.ndarray]:
    """One session rendered and captured: (audio at 16 kHz, speech activity per 10 ms)."""
    dry = speaker.read(spec["voice"], spec["seconds"])
    act = audio.activity(dry)
    y = room(dry, spec["room"], rng)
    if spec["hum_db"] is not None:
        ref = float(np.sqrt(np.mean(dry.astype(np.float64) ** 2)))
        path = gridlog.window(log, spec["offset"], len(y) / SR, SR)
        y = y + (synth.hum(path, rng) * ref * 10 ** (spec["hum_db"] / 20)).astype(np.float32)
    y = y + floor(len(y), spec["floor"], rng)
    y = mic(y, spec["mic"])
    y, _ = audio.peak_guard(audio.gain(y, spec["gain_db"]), 0.95)
    return through(y, spec["capture_codec"], spec["capture_sr"]), act


def write_final(y: np.ndarray, path: Path, codec: str, sr: int) -> Path:
    """The case file: ``path`` with the codec's suffix."""
    enc = encoding(codec, sr)
    out = path.with_suffix(enc.suffix)
    y, _ = audio.peak_guard(y, 0.99)
    audio.encode(y, out, enc)
    return out


def point(act: np.ndarray, t: float, where: str, lo: float, hi: float) -> float:
    """An edit point near ``t`` inside [lo, hi]: the middle of the nearest pause (``pause``),
    or the nearest 10-ms frame inside speech with speech 50 ms either side
    (``mid-speech``)."""
    if where == "pause":
        best, at = None, t
        for a, b in audio.pauses(act, 0.25):
            mid = (a + b) / 2
            if lo <= mid <= hi and (best is None or abs(mid - t) < best):
                best, at = abs(mid - t), mid
        return round(at, 3)
    inside = np.flatnonzero(act[5:-5] & act[:-10] & act[10:]) + 5
    cand = inside[(inside / 100 >= lo) & (inside / 100 <= hi)]
    if not cand.size:
        return round(t, 3)
    return round(float(cand[np.argmin(np.abs(cand / 100 - t))] / 100) + 0.005, 3)


def in_pause(act: np.ndarray, t: float) -> bool:
    i = int(t * 100)
    return bool(0 <= i < len(act) and not act[max(0, i - 3):i + 4].any())
