"""The join itself: digital silence inside a recording, clicks, DC steps.

Pure functions over mono ``y`` at ``sr``; each returns :class:`Candidate` objects whose
strength is at or above ``threshold`` (the detector's calibrated threshold by default).

- **digital silence** (:func:`digital_silence`): 10-ms frames far below the recording's
  own noise floor (exact zeros, held samples, or ``DEAD_DB`` below the 10th percentile of
  the frames' levels), at least ``MIN_DEAD`` s long, away from the ends. A microphone
  never records digital silence; an editor that pastes silence, or cuts and pads, does.
  A recording whose floor is itself digital (noise-gated, synthetic) is not searched.
- **click** (:func:`clicks`): waveform discontinuities. The signal is whitened by linear
  prediction (order ``LPC_ORDER`` fitted on each 0.5-s block, Hann-windowed
  autocorrelation): speech becomes a train of glottal pulses over noise, and a step or a
  broken waveform at a join becomes one isolated spike. A sample's score is its residual
  over the largest residual within ``CLICK_SPAN`` s either side (outside 1 ms):
  glottal pulses have neighbours of their size one pitch period away, a click has none.
- **DC step** (:func:`dc_steps`): the mean of the pauses' samples (the DC offset) before
  and after a time, over ``DC_WINDOW`` s either side, in units of the offsets' own
  spread; two pieces recorded with different offsets differ there.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg, ndimage
from scipy import signal as sps

from purport.edits.base import Candidate, Detector
from purport.edits.frames import peaks, window_sums

DEAD_FRAME = 0.01     # seconds
DEAD_DB = 30.0        # dB below the recording's floor
MIN_DEAD = 0.02       # seconds of dead frames for a candidate
EDGE = 0.25           # seconds at either end not searched (fades, encoder padding)
MAX_DEAD_SHARE = 0.2  # a recording more dead than this has a digital floor: not searched
LPC_ORDER = 16
LPC_BLOCK = 0.5       # seconds
CLICK_SPAN = 0.02     # seconds either side
CLICK_GUARD = 0.001   # seconds either side left out of the neighbourhood
CLICK_MERGE = 0.05    # seconds: spikes closer than this are one click
DC_WINDOW = 5.0       # seconds either side
DC_BLOCK = 0.05       # seconds per DC estimate
DC_HOP = 0.25         # seconds between tested times
CHUNK = 60.0          # seconds of audio scored at a time (clicks)
CHUNK_FRAMES = 4096   # frames or blocks summarised at a time

DIGITAL_SILENCE = Detector(
    name="digital_silence", family="join", unit="dB below the recording's noise floor",
    threshold=40.0,
    meaning="the audio drops to digital silence (or far below the room tone) inside the "
            "recording: silence pasted in, or a cut padded with zeros")
CLICK = Detector(
    name="click", family="join", unit="spike over its neighbourhood (LPC residual)",
    threshold=6.0,
    meaning="an isolated spike in the prediction residual: a broken waveform, as where "
            "two pieces are butted together off a zero crossing")
DC_STEP = Detector(
    name="dc_step", family="join", unit="step in DC offset over its spread",
    threshold=8.0,
    meaning="the DC offset of the pauses differs before and after: pieces from "
            "recorders or sessions with other offsets")
DETECTORS = (DIGITAL_SILENCE, CLICK, DC_STEP)


def digital_silence(y: np.ndarray, *, sr: int, threshold: float | None = None
                    ) -> list[Candidate]:
    """Stretches of digital silence (or far below the floor) inside the recording."""
    threshold = DIGITAL_SILENCE.threshold if threshold is None else threshold
    step = int(DEAD_FRAME * sr)
    n = len(y) // step
    if n < 10:
        return []
    held = np.zeros(n, bool)
    rms = np.zeros(n)
    for a in range(0, n, CHUNK_FRAMES):  # a chunk at a time: memory stays flat
        b = min(n, a + CHUNK_FRAMES)
        frames = np.asarray(y[a * step:b * step], dtype=np.float64).reshape(b - a, step)
        held[a:b] = np.all(frames == frames[:, :1], axis=1)  # exact zeros or a held sample
        rms[a:b] = np.sqrt(np.mean(frames ** 2, axis=1))
    rms[held] = 0.0
    db = 20 * np.log10(np.maximum(rms, 1e-7))
    live = ~held & (db > -135)
    if live.sum() < 10:
        return []
    floor = float(np.percentile(db[live], 10))
    drop = np.where(held, 140.0, floor - db)
    drop = np.minimum(drop, 140.0)
    dead = drop >= min(threshold, DEAD_DB)
    edge = int(EDGE / DEAD_FRAME)
    dead[:edge] = dead[n - edge:] = False
    if dead.mean() > MAX_DEAD_SHARE:
        return []
    labels, count = ndimage.label(dead)
    out = []
    for sl in ndimage.find_objects(labels):
        a, b = sl[0].start, sl[0].stop
        if (b - a) * DEAD_FRAME < MIN_DEAD - 1e-9:
            continue
        strength = float(np.median(drop[a:b]))
        if strength < threshold:
            continue
        what = "exact zeros or held samples" if held[a:b].mean() > 0.5 else \
            f"{strength:.0f} dB below the room tone"
        out.append(Candidate(
            time=round(a * DEAD_FRAME, 3), end=round(b * DEAD_FRAME, 3),
            detector=DIGITAL_SILENCE.name, family="join", strength=round(strength, 1),
            detail=f"{(b - a) * DEAD_FRAME * 1000:.0f} ms of {what} inside the recording "
                   f"(its floor is {floor:.0f} dBFS): {DIGITAL_SILENCE.meaning}"))
    return out


def lpc_residual(y: np.ndarray, *, sr: int, order: int = LPC_ORDER) -> np.ndarray:
    """Prediction residual of ``y``: each ``LPC_BLOCK`` s filtered by the inverse of the
    all-pole model fitted to it (autocorrelation method on a Hann-windowed stretch that
    overlaps its neighbours by half a block)."""
    y = np.asarray(y, dtype=np.float64)
    block = int(LPC_BLOCK * sr)
    out = y.copy()
    n = -(-len(y) // block)
    if n == 0 or len(y) <= 2 * order:
        return out
    padded = np.pad(y, (block // 2, 2 * block))
    frames = np.lib.stride_tricks.sliding_window_view(padded, 2 * block)[::block][:n]
    hann = np.hanning(2 * block)
    r = np.empty((n, order + 1))
    for c in range(0, n, 64):  # 64 blocks at a time: memory stays flat on long audio
        w = frames[c:c + 64] * hann
        r[c:c + 64] = np.stack([np.einsum("ij,ij->i", w[:, : 2 * block - k], w[:, k:])
                                for k in range(order + 1)], axis=1)
    for i in range(n):
        a, b = i * block, min(len(y), (i + 1) * block)
        if r[i, 0] <= 1e-12:
            continue
        ri = r[i].copy()
        ri[0] *= 1.0 + 1e-6  # white-noise correction keeps the solve well-posed
        coef = linalg.solve_toeplitz(ri[:order], -ri[1:order + 1])
        p = max(0, a - order)
        out[a:b] = sps.lfilter(np.concatenate([[1.0], coef]), [1.0], y[p:b])[a - p:]
    return out


def click_scores(y: np.ndarray, *, sr: int) -> np.ndarray:
    """Per sample: |residual| over the largest |residual| within ``CLICK_SPAN`` s either
    side outside ``CLICK_GUARD`` s (0 where the neighbourhood is digital silence)."""
    r = np.abs(lpc_residual(y, sr=sr))
    span, guard = int(CLICK_SPAN * sr), int(CLICK_GUARD * sr)
    size = span - guard
    # the max of r[n-span .. n-guard-1] and of r[n+guard+1 .. n+span]
    left = ndimage.maximum_filter1d(r, size, origin=(size - 1) // 2, mode="constant")
    left = np.concatenate([np.zeros(guard + 1), left[: len(r) - guard - 1]])
    right = ndimage.maximum_filter1d(r, size, origin=-(size // 2), mode="constant")
    right = np.concatenate([right[guard + 1:], np.zeros(guard + 1)])
    near = np.maximum(left, right)
    level = max(float(np.percentile(r, 99)), 1e-9)
    # a spike in digital silence has no neighbours: rate it against the recording's level
    return r / np.maximum(near, 0.05 * level)


def clicks(y: np.ndarray, *, sr: int, threshold: float | None = None) -> list[Candidate]:
    """Isolated spikes in the prediction residual: candidate butt joins.

    Scored ``CHUNK`` s at a time (with half an LPC block either side), so memory stays
    flat on long recordings."""
    threshold = CLICK.threshold if threshold is None else threshold
    n = len(y)
    edge, chunk, margin = int(EDGE * sr), int(CHUNK * sr), int(LPC_BLOCK * sr)
    hits: list[tuple[int, float]] = []
    for a in range(0, n, chunk):
        s0, e0 = max(0, a - margin), min(n, a + chunk + margin)
        score = click_scores(y[s0:e0], sr=sr)[a - s0:a - s0 + min(chunk, n - a)]
        for i in np.flatnonzero(score >= threshold):
            if edge <= a + i < n - edge:
                hits.append((a + int(i), float(score[i])))
    out: list[Candidate] = []
    merge = int(CLICK_MERGE * sr)
    groups: list[list[tuple[int, float]]] = []
    for h in hits:
        if groups and h[0] - groups[-1][-1][0] <= merge:
            groups[-1].append(h)
        else:
            groups.append([h])
    for g in groups:
        best, value = max(g, key=lambda h: h[1])
        out.append(Candidate(
            time=round(best / sr, 4), detector=CLICK.name, family="join",
            strength=round(value, 2),
            detail=f"residual spike {value:.1f}x the largest within "
                   f"{CLICK_SPAN * 1000:.0f} ms: {CLICK.meaning}"))
    return out


def dc_steps(y: np.ndarray, *, sr: int, threshold: float | None = None) -> list[Candidate]:
    """Steps in the DC offset of the quiet blocks."""
    threshold = DC_STEP.threshold if threshold is None else threshold
    step = int(DC_BLOCK * sr)
    n = len(y) // step
    if n * DC_BLOCK < 2 * DC_WINDOW:
        return []
    mean, spread = np.zeros(n), np.zeros(n)
    for a in range(0, n, CHUNK_FRAMES):  # a chunk at a time: memory stays flat
        b = min(n, a + CHUNK_FRAMES)
        blocks = np.asarray(y[a * step:b * step], dtype=np.float64).reshape(b - a, step)
        mean[a:b], spread[a:b] = blocks.mean(axis=1), blocks.std(axis=1)
    quiet = spread <= 2.0 * np.percentile(spread, 10)  # pauses: the DC is not speech's
    t = (np.arange(n) + 0.5) * DC_BLOCK
    grid = np.arange(DC_WINDOW, n * DC_BLOCK - DC_WINDOW + 1e-9, DC_HOP)
    nl, sl, ql, nr, sr_, qr = window_sums(mean[:, None], quiet, t, grid, DC_WINDOW)
    nl, nr, sl, sr_, ql, qr = nl, nr, sl[:, 0], sr_[:, 0], ql[:, 0], qr[:, 0]
    ok = (nl >= 10) & (nr >= 10)
    with np.errstate(invalid="ignore", divide="ignore"):
        ml, mr = sl / nl, sr_ / nr
        var = ((ql - nl * ml ** 2) + (qr - nr * mr ** 2)) / np.maximum(nl + nr - 2, 1)
        noise = float(np.median(spread[quiet])) / np.sqrt(step)
        se = np.sqrt(np.maximum(var, noise ** 2 + 1e-14) * (1 / nl + 1 / nr))
        z = np.where(ok, np.abs(mr - ml) / se, 0.0)
    z = np.nan_to_num(z)
    out = []
    for i in peaks(z, DC_HOP, threshold, DC_WINDOW):
        out.append(Candidate(
            time=round(float(grid[i]), 2), detector=DC_STEP.name, family="join",
            strength=round(float(z[i]), 1),
            detail=f"DC offset {ml[i] * 1e3:+.2f}e-3 before, {mr[i] * 1e3:+.2f}e-3 after "
                   f"({z[i]:.0f}x its spread): {DC_STEP.meaning}"))
    return out
