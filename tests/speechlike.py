"""Seeded speech-like audio of any length, for tests that need long recordings without TTS.

Syllables of a glottal pulse train (a wandering F0 of 90-240 Hz) through three formant
resonators with per-syllable targets, with fricative noise bursts and pauses between
words and sentences: no two seeds share a stretch, so a long recording of one seed is
new material against another seed, as fresh speech is.
"""

from __future__ import annotations

import numpy as np
from scipy import signal


def _resonator(f: float, bw: float, sr: int) -> tuple[np.ndarray, np.ndarray]:
    r = np.exp(-np.pi * bw / sr)
    return np.array([1.0 - r]), np.array([1.0, -2 * r * np.cos(2 * np.pi * f / sr), r * r])


def _syllable(rng: np.random.Generator, sr: int, f0: float) -> np.ndarray:
    n = int(rng.uniform(0.08, 0.28) * sr)
    t = np.arange(n) / sr
    contour = f0 * (1 + rng.uniform(-0.15, 0.15) * t / t[-1])
    phase = np.cumsum(contour / sr)
    pulses = np.diff(np.floor(phase), prepend=0.0)
    src = signal.lfilter([1.0], [1.0, -0.97], pulses)
    out = np.zeros(n)
    for lo, hi, bw in ((250, 900, 80), (800, 2400, 120), (2000, 3400, 180)):
        b, a = _resonator(rng.uniform(lo, hi), bw, sr)
        out += signal.lfilter(b, a, src)
    if rng.random() < 0.35:  # a fricative onset
        k = int(rng.uniform(0.03, 0.08) * sr)
        b, a = signal.butter(2, rng.uniform(2500, 3800) / (sr / 2), "high")
        out[:k] += signal.lfilter(b, a, rng.standard_normal(k)) * 0.3 * np.std(out)
    env = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.015)
    return out * env * rng.uniform(0.5, 1.0)


def speech(seconds: float, *, seed: int, sr: int = 16000, silence: str = "room") -> np.ndarray:
    """``seconds`` of speech-like audio, peak about 0.5; ``silence`` is "room" (a quiet noise
    floor between words) or "digital" (exact zeros)."""
    rng = np.random.default_rng(seed)
    total = int(seconds * sr)
    parts, n = [], 0
    f0 = rng.uniform(90, 240)
    while n < total:
        word = [_syllable(rng, sr, f0 * rng.uniform(0.9, 1.1)) for _ in range(rng.integers(1, 4))]
        gap = rng.uniform(0.3, 0.9) if rng.random() < 0.12 else rng.uniform(0.04, 0.15)
        parts += word + [np.zeros(int(gap * sr))]
        n += sum(len(w) for w in word) + int(gap * sr)
    y = np.concatenate(parts)[:total]
    y = 0.5 * y / (np.max(np.abs(y)) + 1e-9)
    if silence == "room":
        y = y + 10 ** (-55 / 20) * rng.standard_normal(len(y))
    return y.astype(np.float32)
