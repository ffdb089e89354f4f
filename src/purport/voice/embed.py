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

        torch.set_num_threads(1)  # one core: steadier and as fast for short inputs
        self._encoder = VoiceEncoder("cpu", verbose=False)

    def embed(self, y: np.ndarray) -> np.ndarray:
        e = self._encoder.embed_utterance(np.asarray(y, dtype=np.float32))
        return (e / max(np.linalg.norm(e), 1e-9)).astype(np.float32)

    def embed_partials(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One pass over ``y``: whole embedding, 1.6-s partial embeddings, partial centres.

        GE2E embeds an utterance as the mean of overlapping partials anyway; keeping
        them gives every window's embedding without running the network again.
        """
        e, partials, slices = self._encoder.embed_utterance(
            np.asarray(y, dtype=np.float32), return_partials=True)
        centres = np.array([(sl.start + min(sl.stop, len(y))) / 2 for sl in slices])
        return ((e / max(np.linalg.norm(e), 1e-9)).astype(np.float32),
                np.asarray(partials, dtype=np.float32), centres)


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


def speech_mask(y: np.ndarray, *, sr: int = SR, aggressiveness: int = 2) -> np.ndarray:
    """Speech / non-speech per ``VAD_FRAME`` (WebRTC's VAD), smoothed over 90 ms."""
    with warnings.catch_warnings():  # webrtcvad still imports pkg_resources
        warnings.simplefilter("ignore")
        import webrtcvad

    if sr not in (8000, 16000, 32000, 48000):
        raise ParameterError(f"speech detection needs 8, 16, 32 or 48 kHz, not {sr}")
    n = int(VAD_FRAME * sr)
    pcm = (np.clip(y, -1, 1) * 32767).astype("<i2")
    frames = len(pcm) // n
    vad = webrtcvad.Vad(aggressiveness)
    raw = np.array([vad.is_speech(pcm[i * n:(i + 1) * n].tobytes(), sr) for i in range(frames)],
                   dtype=bool)
    if len(raw) < 3:
        return raw
    smooth = np.convolve(raw.astype(float), np.ones(3) / 3, mode="same") >= 0.5
    return smooth


@dataclass(frozen=True)
class Quality:
    """How much and how clean the speech is: what a likelihood ratio's reliability rests on."""

    duration: float
    net_speech_seconds: float
    snr_db: float | None        # speech-frame power over non-speech-frame power
    clipped_fraction: float     # samples at or beyond 0.99 full scale
    warnings: list[str]


def quality(y: np.ndarray, mask: np.ndarray, *, sr: int = SR) -> Quality:
    """Net speech, an SNR estimate and clipping, with the warnings they call for."""
    n = int(VAD_FRAME * sr)
    frames = y[: len(mask) * n].reshape(-1, n) if len(mask) else np.zeros((0, n), np.float32)
    power = np.mean(frames.astype(np.float64) ** 2, axis=1) if len(frames) else np.zeros(0)
    net = float(mask.sum() * VAD_FRAME)
    snr = None
    if mask.any() and (~mask).sum() >= 10:
        noise = np.percentile(power[~mask], 50) + 1e-12
        snr = float(10 * math.log10(np.mean(power[mask]) / noise + 1e-12))
    clipped = float(np.mean(np.abs(y) >= 0.99)) if len(y) else 0.0
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
                   clipped_fraction=round(clipped, 5), warnings=warnings)


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
    n = 480
    frames = y[: len(y) // n * n].reshape(-1, n) if len(y) >= n else y[None, :]
    power = np.mean(frames.astype(np.float64) ** 2, axis=1)
    active = power[power > 1e-7]  # ignore digital silence (below -70 dBFS)
    if len(active) == 0:
        return y
    gain = 10 ** (TARGET_DBFS / 20) / np.sqrt(np.mean(active))
    peak = float(np.max(np.abs(y)))
    gain = min(gain, 0.99 / peak) if peak > 0 else gain
    return (y * gain).astype(np.float32)


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


def _embed_recording(y: np.ndarray, *, sr: int, encoder: Encoder) -> Embedded:
    x = normalize_level(to_rate(y, sr, encoder.sr))
    mask = speech_mask(normalize_level(to_rate(y, sr, SR)), sr=SR)
    n = int(VAD_FRAME * encoder.sr)
    mask = mask[: len(x) // n]
    q = quality(x, mask, sr=encoder.sr)
    frames = x[: len(mask) * n].reshape(-1, n)
    speech = frames[mask].reshape(-1)
    d = None
    times, vectors = [], []
    if len(speech) < int(0.5 * encoder.sr):
        whole = np.zeros(0, np.float32)
    elif hasattr(encoder, "embed_partials"):
        whole, partials, centres = encoder.embed_partials(speech)
        d = len(whole)
        # partial centres in speech time -> speech-frame positions -> windows of frames
        centre_frame = np.floor(centres / n).astype(np.int64)
        speech_frames = np.flatnonzero(mask)
        for start, end, chosen in windows(mask):
            lo = np.searchsorted(speech_frames, chosen[0])
            hi = np.searchsorted(speech_frames, chosen[-1], side="right")
            inside = (centre_frame >= lo) & (centre_frame < hi)
            if inside.any():
                v = partials[inside].mean(axis=0)
                times.append((start, end))
                vectors.append((v / max(np.linalg.norm(v), 1e-9)).astype(np.float32))
    else:
        whole = encoder.embed(speech)
        d = len(whole)
        for start, end, chosen in windows(mask):
            times.append((start, end))
            vectors.append(encoder.embed(frames[chosen].reshape(-1)))
    return Embedded(
        encoder=encoder.name, vector=whole,
        window_times=np.array(times, dtype=np.float64).reshape(-1, 2),
        window_vectors=np.array(vectors, dtype=np.float32).reshape(len(vectors), d or 0)
        if vectors else np.zeros((0, d or 0), np.float32),
        quality=q)
