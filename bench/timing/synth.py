"""Questioned recordings: speech + a hum that follows the grid log, then a channel.

Hum: the log's 1 Hz frequency path, interpolated to the audio rate (16 kHz) and
integrated to a phase; harmonics 1-6 of 50 Hz at ``h * phase + phi_h`` with seeded
amplitudes (fundamental 1; 2nd 0.1-0.5, 3rd 0.3-1.0, 4th 0.05-0.3, 5th 0.1-0.5, 6th
0.05-0.2: odd harmonics stronger, as from transformers and rectifiers). The hum level is
the hum's RMS over the speech track's RMS (speech at -20 dBFS, pauses included), in dB.

A splice joins the hum of two log times at a known instant: the second stretch starts
with an independent random phase (two recordings made at different times), the speech
runs on undisturbed, so only the hum betrays the join.

Every recording also has a -75 dBFS white noise floor, so pauses are not digital
silence. Channels (``CHAINS``) are applied to the mix and written to a file that purport
then decodes with ``purport.media.load``.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from gridlog import window
from scipy import fft, signal
from speech import SR, resample

HARMONIC_RANGES = {1: (1.0, 1.0), 2: (0.1, 0.5), 3: (0.3, 1.0), 4: (0.05, 0.3),
                   5: (0.1, 0.5), 6: (0.05, 0.2)}
FLOOR_DBFS = -75.0
NOMINAL = 50

#: channel name -> description (for the report)
CHAINS = {
    "wav": "16 kHz 16-bit PCM WAV, no processing",
    "mp3_64k": "MP3 (libmp3lame) 64 kbit/s CBR at 16 kHz",
    "opus_16k": "Opus (libopus) 16 kbit/s in Ogg, 48 kHz stream from 16 kHz input",
    "phone": "300-3400 Hz band-pass (Butterworth order 6) to 8 kHz, G.711 mu-law WAV",
    "noise": "pink noise 10 dB below the speech, 16 kHz WAV",
}


def hum(path_hz: np.ndarray, rng: np.random.Generator,
        amps: dict[int, float] | None = None) -> np.ndarray:
    """Unit-RMS hum following ``path_hz`` (fundamental frequency at every sample)."""
    phase = 2 * np.pi * np.cumsum(path_hz) / SR + rng.uniform(0, 2 * np.pi)
    amps = amps or harmonic_amps(rng)
    y = np.zeros(len(path_hz))
    for h, a in amps.items():
        y += a * np.cos(h * phase + rng.uniform(0, 2 * np.pi))
    return y / (np.sqrt(np.mean(y ** 2)) + 1e-12)


def harmonic_amps(rng: np.random.Generator) -> dict[int, float]:
    return {h: float(rng.uniform(lo, hi)) for h, (lo, hi) in HARMONIC_RANGES.items()}


def hum_track(log: np.ndarray, offsets: list[float], cuts: list[float], seconds: float,
              rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS hum of ``seconds``: part ``i`` (from ``cuts[i-1]`` to ``cuts[i]``) follows the
    log from ``offsets[i]``; one device (same harmonic amplitudes), a fresh phase per part."""
    amps = harmonic_amps(rng)
    edges = [0.0, *cuts, seconds]
    parts = []
    for i, off in enumerate(offsets):
        a, b = (int(round(e * SR)) for e in edges[i:i + 2])
        path = window(log, off, (b - a) / SR, SR)
        parts.append(hum(path, rng, amps))
    y = np.concatenate(parts)[: int(round(seconds * SR))]
    return y / (np.sqrt(np.mean(y ** 2)) + 1e-12)


def pink(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS pink (1/f power) noise, shaped in the frequency domain."""
    spec = fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec))
    spec[1:] /= np.sqrt(f[1:])
    spec[0] = 0
    y = fft.irfft(spec, n)
    return y / np.sqrt(np.mean(y ** 2))


def mix(speech: np.ndarray, hum_unit: np.ndarray | None, level_db: float | None,
        rng: np.random.Generator) -> np.ndarray:
    """Speech + hum at ``level_db`` re the speech RMS (None: no hum) + the noise floor."""
    y = speech.astype(np.float64)
    ref = np.sqrt(np.mean(y ** 2))
    if hum_unit is not None:
        y = y + hum_unit * ref * 10 ** (level_db / 20)
    return y + rng.standard_normal(len(y)) * 10 ** (FLOOR_DBFS / 20)


def apply_chain(y: np.ndarray, chain: str, path: Path, rng: np.random.Generator) -> Path:
    """Write ``y`` (16 kHz) through ``chain`` to ``path`` (suffix chosen here); the path."""
    if chain == "noise":
        ref = np.sqrt(np.mean(y ** 2))
        y = y + pink(len(y), rng) * ref * 10 ** (-10 / 20)
        chain = "wav"
    if chain == "wav":
        return _write(y, SR, path.with_suffix(".wav"), "wav", "pcm_s16le", None)
    if chain == "mp3_64k":
        return _write(y, SR, path.with_suffix(".mp3"), "mp3", "libmp3lame", 64000)
    if chain == "opus_16k":
        return _write(y, SR, path.with_suffix(".ogg"), "ogg", "libopus", 16000, rate=48000)
    if chain == "phone":
        sos = signal.butter(6, [300, 3400], btype="bandpass", fs=SR, output="sos")
        band = resample(signal.sosfilt(sos, y), SR, 8000)
        return _write(band, 8000, path.with_suffix(".wav"), "wav", "pcm_mulaw", None)
    raise ValueError(f"unknown chain {chain!r}")


def _write(y: np.ndarray, sr: int, path: Path, fmt: str, codec: str, bit_rate: int | None,
           rate: int | None = None) -> Path:
    rate = rate or sr
    peak = np.abs(y).max()
    if peak > 0.99:
        y = y * (0.99 / peak)
    pcm = (np.clip(y, -1, 1) * 32767).astype(np.int16)
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        if bit_rate:
            stream.bit_rate = bit_rate
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=rate)
        step = sr * 10
        for i in range(0, len(pcm), step):
            frame = av.AudioFrame.from_ndarray(pcm[None, i:i + step], format="s16",
                                               layout="mono")
            frame.sample_rate = sr
            for f in resampler.resample(frame):
                for p in stream.encode(f):
                    out.mux(p)
        for f in resampler.resample(None):
            for p in stream.encode(f):
                out.mux(p)
        for p in stream.encode(None):
            out.mux(p)
    return path
