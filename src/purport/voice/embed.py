"""Speaker embeddings behind a small protocol, speech activity, windows and quality measures.

The default encoder is Resemblyzer's GE2E network (Wan et al. 2018), whose weights ship
inside the ``resemblyzer`` package, so nothing is downloaded. Another encoder whose
weights a user holds locally (ECAPA-TDNN, WeSpeaker...) plugs in through
``PURPORT_VOICE_ENCODER=package.module:factory``: the factory returns an object with
``name``, ``sr`` and ``embed(y) -> unit vector``.
"""

from __future__ import annotations

import importlib
import math
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol, runtime_checkable

import numpy as np
from scipy import signal

from purport.errors import ParameterError

SR = 16000
VAD_FRAME = 0.03            # seconds per VAD decision (webrtcvad takes 10, 20 or 30 ms)
WINDOW = 3.0                # seconds of speech per window embedding
HOP = 1.5                   # seconds between window starts
MIN_WINDOW_SPEECH = 1.5     # seconds of speech a window needs to be embedded
BLOCK_FRAMES = 2000         # VAD frames (60 s) per block of level, VAD and quality work
PARTIAL_BATCH = 32          # GE2E partials per forward pass (the fastest size on one core)
PARTIAL_RATE = 1.3          # GE2E partials per second of speech (1.6 s each; Resemblyzer's)
PARTIAL_MIN_COVERAGE = 0.75


@runtime_checkable
class Encoder(Protocol):
    """What purport needs of a speaker encoder."""

    name: str
    sr: int

    def embed(self, y: np.ndarray) -> np.ndarray:
        """Unit-length embedding (1-D float32) of speech ``y`` at ``sr``."""
        ...


class ResemblyzerEncoder:
    """GE2E speaker encoder from the resemblyzer package (256-d, 16 kHz), on the CPU."""

    name = "resemblyzer-ge2e"
    sr = SR

    def __init__(self) -> None:
        import torch

        with warnings.catch_warnings():  # webrtcvad still imports pkg_resources
            warnings.simplefilter("ignore")
            from resemblyzer import VoiceEncoder

        # one thread: a second one gains at most 1.7x on an idle 2-core machine and makes
        # the LSTM 3-20x slower when the other core is busy (OpenMP threads spin-wait)
        torch.set_num_threads(1)
        self._encoder = VoiceEncoder("cpu", verbose=False)

    def embed(self, y: np.ndarray) -> np.ndarray:
        return self.embed_partials(y)[0]

    def embed_partials(self, y) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One pass over ``y``: whole embedding, 1.6-s partial embeddings, partial centres.

        GE2E embeds an utterance as the mean of overlapping partials anyway; keeping
        them gives every window's embedding without running the network again. The
        same partials as Resemblyzer's ``embed_utterance``, computed ``PARTIAL_BATCH`` at a
        time from their own stretch of mel frames: memory does not grow with ``y``
        (an ndarray, or anything with ``len()`` and slicing, such as :class:`Speech`).
        """
        import torch

        n = len(y)
        wav_slices, mel_slices = self._encoder.compute_partial_slices(
            n, PARTIAL_RATE, PARTIAL_MIN_COVERAGE)
        length = max(n, wav_slices[-1].stop)  # Resemblyzer pads y with zeros to here
        parts = []
        for i in range(0, len(mel_slices), PARTIAL_BATCH):
            batch = mel_slices[i:i + PARTIAL_BATCH]
            j0, mel = _mel_frames(y, batch[0].start, batch[-1].stop, length)
            mels = np.stack([mel[sl.start - j0:sl.stop - j0] for sl in batch])
            with torch.no_grad():
                parts.append(self._encoder(torch.from_numpy(mels)).numpy())
        partials = np.concatenate(parts)
        e = partials.mean(axis=0)
        e = e / np.linalg.norm(e, 2)
        centres = np.array([(sl.start + min(sl.stop, n)) / 2 for sl in wav_slices])
        return ((e / max(np.linalg.norm(e), 1e-9)).astype(np.float32),
                np.asarray(partials, dtype=np.float32), centres)


def _mel_frames(y, j0: int, j1: int, length: int) -> tuple[int, np.ndarray]:
    """Resemblyzer's mel frames ``j0`` to ``j1 - 1`` of ``y`` zero-padded to ``length``
    samples, from that stretch and two frames either side only: (first frame's index,
    frames x mel channels). The frames are those of the whole signal's spectrogram
    (centred frames; the context is wider than half an FFT window)."""
    from resemblyzer import audio, hparams

    hop = int(hparams.sampling_rate * hparams.mel_window_step / 1000)
    s, e = max(0, (j0 - 2) * hop), min(length, (j1 + 2) * hop)
    seg = np.zeros(e - s, np.float32)
    if min(e, len(y)) > s:
        seg[: min(e, len(y)) - s] = y[s:min(e, len(y))]
    first = s // hop
    return first, audio.wav_to_mel_spectrogram(seg)[: j1 - first]


@lru_cache(maxsize=4)
def load_encoder(spec: str | None = None) -> Encoder:
    """The encoder named by ``spec`` or ``$PURPORT_VOICE_ENCODER`` (``module:factory``).

    With neither, Resemblyzer's GE2E, loaded once per process.
    """
    spec = spec or os.environ.get("PURPORT_VOICE_ENCODER")
    if not spec or spec == ResemblyzerEncoder.name:
        return ResemblyzerEncoder()
    module_name, _, attr = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attr or "encoder")
    except (ImportError, AttributeError) as exc:
        raise ParameterError(f"cannot load voice encoder {spec!r}: {exc}") from exc
    encoder = factory()
    if not isinstance(encoder, Encoder):
        raise ParameterError(f"{spec!r} did not return an encoder with name, sr and embed()")
    return encoder


def speech_mask(y: np.ndarray, *, sr: int = SR, aggressiveness: int = 2,
                gain: float = 1.0) -> np.ndarray:
    """Speech / non-speech per ``VAD_FRAME`` (WebRTC's VAD) of ``y * gain``, smoothed over
    90 ms; a block of frames at a time (no 16-bit copy of the whole signal)."""
    with warnings.catch_warnings():  # webrtcvad still imports pkg_resources
        warnings.simplefilter("ignore")
        import webrtcvad

    if sr not in (8000, 16000, 32000, 48000):
        raise ParameterError(f"speech detection needs 8, 16, 32 or 48 kHz, not {sr}")
    n = int(VAD_FRAME * sr)
    vad = webrtcvad.Vad(aggressiveness)
    raw = np.zeros(len(y) // n, dtype=bool)
    for f0, block in _frame_blocks(y, n, gain):
        pcm = (np.clip(block, -1, 1) * 32767).astype("<i2").tobytes()
        for i in range(len(block) // n):
            raw[f0 + i] = vad.is_speech(pcm[2 * i * n:2 * (i + 1) * n], sr)
    if len(raw) < 3:
        return raw
    smooth = np.convolve(raw.astype(float), np.ones(3) / 3, mode="same") >= 0.5
    return smooth


def _scaled(y: np.ndarray, gain: float) -> np.ndarray:
    """``y * gain`` as float32 (``y`` itself when the gain is 1)."""
    return y if gain == 1.0 else (y * np.float64(gain)).astype(np.float32)


def _frame_blocks(y: np.ndarray, n: int, gain: float = 1.0, *, frames: int | None = None
                  ) -> Iterator[tuple[int, np.ndarray]]:
    """(first frame, samples) of ``y * gain`` for ``BLOCK_FRAMES`` whole ``n``-sample frames
    at a time, up to ``frames`` frames (all whole frames by default)."""
    total = len(y) // n if frames is None else frames
    for f0 in range(0, total, BLOCK_FRAMES):
        f1 = min(total, f0 + BLOCK_FRAMES)
        yield f0, _scaled(y[f0 * n:f1 * n], gain)


def frame_power(y: np.ndarray, n: int, *, gain: float = 1.0, frames: int | None = None
                ) -> np.ndarray:
    """Mean square (float64) of each whole ``n``-sample frame of ``y * gain``, in blocks."""
    total = len(y) // n if frames is None else frames
    out = np.empty(total, dtype=np.float64)
    for f0, block in _frame_blocks(y, n, gain, frames=total):
        out[f0:f0 + len(block) // n] = np.mean(
            block.reshape(-1, n).astype(np.float64) ** 2, axis=1)
    return out


def _peak(y: np.ndarray, gain: float = 1.0) -> float:
    """Largest absolute sample of ``y * gain``, a block at a time."""
    step = BLOCK_FRAMES * 480
    return max((float(np.max(np.abs(_scaled(y[a:a + step], gain))))
                for a in range(0, len(y), step)), default=0.0)


def _clipped_count(y: np.ndarray, gain: float = 1.0) -> int:
    step = BLOCK_FRAMES * 480
    return sum(int(np.count_nonzero(np.abs(_scaled(y[a:a + step], gain)) >= 0.99))
               for a in range(0, len(y), step))


@dataclass(frozen=True)
class Quality:
    """How much and how clean the speech is: what a likelihood ratio's reliability rests on."""

    duration: float
    net_speech_seconds: float
    snr_db: float | None        # speech-frame power over non-speech-frame power
    clipped_fraction: float     # samples at or beyond 0.99 full scale
    warnings: list[str]
    bandwidth_hz: float | None = None   # highest frequency the speech stands out at
    low_band_db: float | None = None    # 60-200 Hz against 300-3000 Hz (a phone cuts it)


def quality(y: np.ndarray, mask: np.ndarray, *, sr: int = SR, gain: float = 1.0) -> Quality:
    """Net speech, an SNR estimate and clipping of ``y * gain``, with the warnings they call
    for (computed block by block: no float64 copy of the signal)."""
    n = int(VAD_FRAME * sr)
    power = frame_power(y, n, gain=gain, frames=len(mask))
    net = float(mask.sum() * VAD_FRAME)
    snr = None
    if mask.any() and (~mask).sum() >= 10:
        noise = np.percentile(power[~mask], 50) + 1e-12
        snr = float(10 * math.log10(np.mean(power[mask]) / noise + 1e-12))
    clipped = _clipped_count(y, gain) / len(y) if len(y) else 0.0
    band, low = band_edges(y, mask, sr=sr)
    warnings = []
    if net < 10:
        warnings.append(f"only {net:.1f} s of net speech (under 10 s): the comparison is weak; "
                        "check that the calibration was fitted on speech this short")
    if snr is not None and snr < 20:
        warnings.append(f"noisy speech (speech-to-noise about {snr:.0f} dB): the encoder tells "
                        "voices apart poorly in noise (bench/voice: EER about 19 % at 10 dB) and "
                        "a calibration fitted on clean speech can then mislead")
    if clipped > 0.001:
        warnings.append(f"clipping ({clipped:.2%} of samples at full scale)")
    return Quality(duration=len(y) / sr, net_speech_seconds=round(net, 2),
                   snr_db=None if snr is None else round(snr, 1),
                   clipped_fraction=round(clipped, 5), warnings=warnings,
                   bandwidth_hz=band, low_band_db=low)


BAND_FRAME = 512            # samples per spectrum frame for the bandwidth measure
BAND_FRAMES = 1500          # speech (and non-speech) frames it averages at most
BAND_SMOOTH = 250.0         # Hz over which the long-term spectra are smoothed


def band_edges(y: np.ndarray, mask: np.ndarray, *, sr: int = SR
               ) -> tuple[float | None, float | None]:
    """(bandwidth, low band) of the speech frames' long-term spectrum.

    Bandwidth: the highest frequency (Hz) at which the spectrum is within 50 dB of its
    strongest band: a telephone channel gives about 3.5-4.5 kHz, speech recorded at 8 kHz
    about 4-5 kHz, wideband speech 7-8 kHz. Noise added after the channel fills the band
    in, and the recording then counts as noisy, not narrow. Low band: the power at 60-200
    Hz over that at 300-3000 Hz, in dB: -13 to +7 dB for natural voices, -24 to -33 dB
    behind a telephone's 300-Hz high-pass.

    From up to ``BAND_FRAMES`` evenly spaced speech frames (``BAND_FRAME`` samples from
    each VAD frame's start), smoothed over ``BAND_SMOOTH`` Hz.
    """
    n = int(VAD_FRAME * sr)
    speech = np.flatnonzero(mask)
    speech = speech[np.linspace(0, len(speech) - 1, min(len(speech), BAND_FRAMES)).astype(int)] \
        if len(speech) else speech
    starts = speech * n
    starts = starts[starts + BAND_FRAME <= len(y)]
    if len(starts) < 10:
        return None, None
    raw = np.zeros(BAND_FRAME // 2 + 1)
    window = np.hanning(BAND_FRAME)
    for i in range(0, len(starts), 100):  # 100 frames at a time: memory stays flat
        block = np.stack([np.asarray(y[s:s + BAND_FRAME], np.float64)
                          for s in starts[i:i + 100]])
        raw += np.sum(np.abs(np.fft.rfft(block * window, axis=1)) ** 2, axis=0)
    raw /= len(starts)
    freqs = np.fft.rfftfreq(BAND_FRAME, 1 / sr)
    mid = raw[(freqs >= 300) & (freqs <= 3000)].sum()
    low = raw[(freqs >= 60) & (freqs <= 200)].sum()
    low_db = round(float(10 * np.log10((low + 1e-20) / (mid + 1e-20))), 1) if mid > 0 else None
    k = max(1, int(round(BAND_SMOOTH / (sr / BAND_FRAME))))
    spec = np.convolve(raw, np.ones(k) / k, mode="same")
    standing = (spec > 1e-5 * spec.max()) & (freqs >= 200)
    if not standing.any():
        return None, low_db
    return float(round(freqs[np.flatnonzero(standing)[-1]], -1)), low_db


def to_rate(y: np.ndarray, sr: int, target: int = SR) -> np.ndarray:
    """Mono float32 at ``target`` (polyphase resampling)."""
    y = np.asarray(y, dtype=np.float32)
    if sr == target:
        return y
    g = math.gcd(int(sr), int(target))
    return signal.resample_poly(y, target // g, int(sr) // g).astype(np.float32)


TARGET_DBFS = -26.0


def normalize_level(y: np.ndarray) -> np.ndarray:
    """Scale the active part of the signal to ``TARGET_DBFS`` RMS (peaks kept below 1).

    Speaker embeddings and the voice detector both depend on absolute level; a quiet copy
    of the same voice must not look like another speaker.
    """
    if len(y) == 0:
        return y
    gain = level_gain(y)
    return y if gain == 1.0 else _scaled(np.asarray(y, dtype=np.float32), gain)


def level_gain(y: np.ndarray) -> float:
    """The gain :func:`normalize_level` applies, from 10-ms frame powers computed a block at
    a time (an hour at 16 kHz is never copied to float64)."""
    n = 480
    power = frame_power(y, n) if len(y) >= n else np.mean(np.asarray(y, np.float64) ** 2)[None]
    active = power[power > 1e-7]  # ignore digital silence (below -70 dBFS)
    if len(active) == 0:
        return 1.0
    gain = float(10 ** (TARGET_DBFS / 20) / np.sqrt(np.mean(active)))
    peak = _peak(y)
    return min(gain, 0.99 / peak) if peak > 0 else gain


def windows(mask: np.ndarray) -> list[tuple[float, float, np.ndarray]]:
    """(start, end, frame mask) of overlapping windows that hold enough speech.

    A window covers ``WINDOW`` seconds of speech (pauses skipped), so its embedding
    always rests on the same amount of voice.
    """
    speech = np.flatnonzero(mask)
    per = int(round(WINDOW / VAD_FRAME))
    hop = int(round(HOP / VAD_FRAME))
    out = []
    if len(speech) == 0:
        return out
    starts = range(0, max(len(speech) - per, 0) + 1, hop)
    for s in starts:
        chosen = speech[s:s + per]
        if len(chosen) * VAD_FRAME < MIN_WINDOW_SPEECH:
            continue
        out.append((float(chosen[0] * VAD_FRAME), float((chosen[-1] + 1) * VAD_FRAME), chosen))
    return out


@dataclass(frozen=True)
class Embedded:
    """A recording's voice: whole-recording and per-window embeddings, and its quality."""

    encoder: str
    vector: np.ndarray                  # (d,) unit vector of all speech
    window_times: np.ndarray            # (n, 2) start, end seconds
    window_vectors: np.ndarray          # (n, d) unit vectors
    quality: Quality


def embed_recording(y: np.ndarray, *, sr: int, encoder: Encoder | None = None) -> Embedded:
    """Speech activity, quality and embeddings of a whole recording and of its windows.

    Runs on one core: BLAS threads that would spin idle on the others are held to one.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _embed_recording(y, sr=sr, encoder=encoder or load_encoder())


class Speech:
    """The speech frames of ``y`` (``n`` samples each, scaled by ``gain``) end to end.

    Behaves as that 1-D float32 array for ``len()``, slicing and ``np.asarray`` without
    building it: a stretch is gathered from ``y`` when it is read, so an hour of speech
    is not held twice.
    """

    def __init__(self, y: np.ndarray, frames: np.ndarray, n: int, gain: float = 1.0) -> None:
        self._rows = y[: (int(frames[-1]) + 1) * n].reshape(-1, n) if len(frames) else \
            np.zeros((0, n), np.float32)
        self._frames, self._n, self._gain = frames, n, gain

    def __len__(self) -> int:
        return len(self._frames) * self._n

    def __getitem__(self, index: slice) -> np.ndarray:
        a, b, stride = index.indices(len(self))
        if stride != 1:
            raise ParameterError("speech samples are read in contiguous stretches")
        if b <= a:
            return np.zeros(0, np.float32)
        f0, f1 = a // self._n, -(-b // self._n)
        block = self._rows[self._frames[f0:f1]].reshape(-1)
        return _scaled(block[a - f0 * self._n:b - f0 * self._n], self._gain)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = self[0:len(self)]
        return out if dtype is None else out.astype(dtype)


def _embed_recording(y: np.ndarray, *, sr: int, encoder: Encoder) -> Embedded:
    x = to_rate(y, sr, encoder.sr)  # y itself when it is float32 at the encoder's rate
    gain = level_gain(x)
    if encoder.sr == SR:
        mask = speech_mask(x, sr=SR, gain=gain)
    else:
        at_vad_rate = to_rate(y, sr, SR)
        mask = speech_mask(at_vad_rate, sr=SR, gain=level_gain(at_vad_rate))
        del at_vad_rate
    n = int(VAD_FRAME * encoder.sr)
    mask = mask[: len(x) // n]
    q = quality(x, mask, sr=encoder.sr, gain=gain)
    speech_frames = np.flatnonzero(mask)
    speech = Speech(x, speech_frames, n, gain)
    d = None
    times, vectors = [], []
    if len(speech) < int(0.5 * encoder.sr):
        whole = np.zeros(0, np.float32)
    elif hasattr(encoder, "embed_partials"):
        whole, partials, centres = encoder.embed_partials(speech)
        d = len(whole)
        # partial centres in speech time -> speech-frame positions -> windows of frames
        centre_frame = np.floor(centres / n).astype(np.int64)  # ascending
        for start, end, chosen in windows(mask):
            lo = np.searchsorted(speech_frames, chosen[0])
            hi = np.searchsorted(speech_frames, chosen[-1], side="right")
            inside = slice(np.searchsorted(centre_frame, lo), np.searchsorted(centre_frame, hi))
            if inside.stop > inside.start:
                v = partials[inside].mean(axis=0)
                times.append((start, end))
                vectors.append((v / max(np.linalg.norm(v), 1e-9)).astype(np.float32))
    else:
        whole = encoder.embed(np.asarray(speech))
        d = len(whole)
        rows = x[: len(mask) * n].reshape(-1, n)
        for start, end, chosen in windows(mask):
            times.append((start, end))
            vectors.append(encoder.embed(_scaled(rows[chosen].reshape(-1), gain)))
    return Embedded(
        encoder=encoder.name, vector=whole,
        window_times=np.array(times, dtype=np.float64).reshape(-1, 2),
        window_vectors=np.array(vectors, dtype=np.float32).reshape(len(vectors), d or 0)
        if vectors else np.zeros((0, d or 0), np.float32),
        quality=q)
