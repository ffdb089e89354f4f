"""Channel: the bandwidth changes mid-recording (a stretch with another low-pass cutoff,
or one that was at a lower sample rate before it was resampled with the rest).

Pure: mono ``y`` at ``sr`` (or its :class:`~purport.edits.frames.Frames`) in,
:class:`Candidate` out. The long-term average spectrum (mean power of 250-Hz bands) of
the speech frames in the ``WINDOW`` s before and after each time, less the recording's
room tone in each band, gives each side's bandwidth: the last band above 1.5 kHz whose
speech stands ``EXCESS_DB`` over the room tone and within ``RANGE_DB`` of its strongest
band (a codec's or resampler's leakage far below the speech is no bandwidth). Where the
two sides' bandwidths differ, the strength is how far the wider side's speech stands
above the narrower side's in the bands between the two cutoffs (mean dB); equal
bandwidths give 0, so the speaker's own changes of spectrum below the cutoff (another
vowel, a fricative) count for nothing. A piece that passed through an 8-kHz telephone
channel or an 8-kHz file has nothing above 4 kHz; one from a low-rate codec stops at its
low-pass. Bandwidth
estimation from spectral edges in this way is standard in codec and resampling
forensics (e.g. Yang, Shi & Huang 2010 on fake-quality MP3 via the cut-off frequency).
"""

from __future__ import annotations

import numpy as np

from purport.edits.base import Candidate, Detector
from purport.edits.frames import BAND_HZ, Frames, analyse, peaks, window_sums
from purport.edits.frames import HOP as FRAME_HOP

WINDOW = 10.0       # seconds either side
HOP = 0.5           # seconds between tested times
MIN_SPEECH = 2.0    # seconds of speech frames needed on each side
LOW_EDGE_HZ = 1500.0  # bandwidths below this are not told apart
EXCESS_DB = 10.0    # speech this far above the room tone in a band counts as in band,
RANGE_DB = 40.0     # if it is also within this of the speech's strongest band

BANDWIDTH = Detector(
    name="bandwidth", family="channel", unit="dB (the wider side's speech over the "
    "narrower's, between their cutoffs)", threshold=18.0,
    meaning="the speech's bandwidth changes here: a stretch with another low-pass cutoff "
            "or sample rate, as when a piece from another channel or file is spliced in")
DETECTORS = (BANDWIDTH,)


def _cutoff(excess: np.ndarray, level: np.ndarray, lo: int) -> np.ndarray:
    """Per row: the last band (at or above ``lo``) whose speech stands ``EXCESS_DB`` above
    the room tone and within ``RANGE_DB`` of the speech's strongest band, or ``lo - 1``
    when none does."""
    top = level.max(axis=1, keepdims=True)
    above = (excess[:, lo:] >= EXCESS_DB) & (level[:, lo:] >= top - RANGE_DB)
    last = above.shape[1] - 1 - np.argmax(above[:, ::-1], axis=1)
    return np.where(above.any(axis=1), lo + last, lo - 1)


def step_scores(frames: Frames) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(grid times, strength in dB, signed strength (negative: less band after), edge in
    Hz): each side's speech bandwidth (the last band whose long-term speech power stands
    ``EXCESS_DB`` above the recording's room tone there) and, between the two sides'
    cutoffs, how far the wider side's speech stands above the narrower side's (mean dB
    over those bands). Equal bandwidths give 0."""
    t = frames.t
    nb = min(frames.n_bands_used, frames.bands.shape[1])
    lo = int(LOW_EDGE_HZ // BAND_HZ)
    if not len(t) or t[-1] < 2 * WINDOW or nb <= lo + 1:
        z = np.zeros(0)
        return z, z, z, z
    grid = np.arange(WINDOW, t[-1] - WINDOW + 1e-9, HOP)
    x = 10 ** (frames.bands[:, :nb].astype(np.float64) / 10)  # power: the loud frames
    nl, sl, _, nr, sr_, _ = window_sums(x, frames.speech, t, grid, WINDOW)  # count most
    need = MIN_SPEECH / FRAME_HOP
    ok = (nl >= need) & (nr >= need)
    pause = frames.pause
    noise = np.median(x[pause], axis=0) if pause.sum() >= 10 else np.percentile(x, 10, axis=0)
    noise = noise + 1e-12

    def excess(total: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        speech = np.maximum(total / np.maximum(count, 1)[:, None] - noise, 1e-3 * noise)
        return 10 * np.log10(speech / noise), 10 * np.log10(speech)

    (el, ll), (er, lr) = excess(sl, nl), excess(sr_, nr)
    cl, cr = _cutoff(el, ll, lo), _cutoff(er, lr, lo)
    a = np.minimum(cl, cr) + 1
    b = np.maximum(cl, cr) + 1
    wider_left = cl > cr
    diff = np.where(wider_left[:, None], el - er, er - el)
    c = np.concatenate([np.zeros((len(grid), 1)), np.cumsum(diff, axis=1)], axis=1)
    rows = np.arange(len(grid))
    span = np.maximum(b - a, 1)
    mean = (c[rows, np.minimum(b, nb)] - c[rows, np.minimum(a, nb)]) / span
    strength = np.where(ok & (b > a), np.maximum(mean, 0.0), 0.0)
    signed = np.where(wider_left, -strength, strength)
    return grid, strength, signed, a * BAND_HZ


def bandwidth(y: np.ndarray | None = None, *, sr: int | None = None,
              frames: Frames | None = None, source_sr: int | None = None,
              threshold: float | None = None) -> list[Candidate]:
    """Times where the speech's bandwidth changes (give ``y`` and ``sr``, or ``frames``)."""
    threshold = BANDWIDTH.threshold if threshold is None else threshold
    if frames is None:
        frames = analyse(y, sr=sr, source_sr=source_sr)
    grid, strength, signed, edge = step_scores(frames)
    out = []
    for i in peaks(strength, HOP, threshold, WINDOW):
        way = "less" if signed[i] < 0 else "more"
        out.append(Candidate(
            time=round(float(grid[i]), 2), detector=BANDWIDTH.name, family="channel",
            strength=round(float(strength[i]), 1),
            detail=f"after this point the speech has {abs(signed[i]):.0f} dB {way} energy "
                   f"above {edge[i] / 1000:.2f} kHz than before (over its room tone): "
                   f"{BANDWIDTH.meaning}"))
    return out
