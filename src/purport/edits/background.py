"""Background: the room tone in the pauses changes at a time (another room, microphone,
noise floor or hum level on either side of a join).

Pure: mono ``y`` at ``sr`` (or its :class:`~purport.edits.frames.Frames`) in,
:class:`Candidate` out. The pause frames (within 6 dB of the local floor, 20 dB under
the speech, in runs of 0.15 s or more) of the ``WINDOW`` s before and after each time
(every ``HOP`` s) are compared band by band:
the median level of eight bands (0-250 Hz, where hum sits, up to 6-8 kHz) on each side,
their difference less twice its standard error (the frames' own robust spread, inflated
for overlapping and correlated frames), and the strength is the root mean square of those
shrunk differences in dB: a change of level or of spectral shape of the room tone, that
the pauses on each side agree on. A change-point test in the spirit of the
noise-floor inconsistency methods of audio forensics (e.g. Pan, Zhang & Lyu 2012,
"Detecting splicing in digital audios using local noise level estimation"; Malik 2013 on
reverberation and background): the strongest time within a window is kept, and how often
it passes the threshold in unedited speech is measured (``false_alarms.json``).

Reverberation (:func:`reverb`): the early decay rate (dB/s) of each speech offset
(:func:`decays`), compared between the ``REVERB_WINDOW`` s before and after each time
(median log rates, difference over a MAD-based standard error): a piece from a larger
room or a more distant microphone dies away more slowly (Malik 2013 uses reverberation
in this way). Offsets are few where reverberation fills the gaps between words, so this
test needs long stretches and has little power on short ones.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from purport.edits.base import Candidate, Detector
from purport.edits.frames import BAND_HZ, Frames, analyse, peaks
from purport.edits.frames import HOP as FRAME_HOP

WINDOW = 12.0       # seconds either side
HOP = 0.5           # seconds between tested times
MIN_PAUSE = 0.5     # seconds of pause frames needed on each side
EDGES_HZ = (0, 250, 500, 1000, 2000, 3000, 4000, 6000, 8000)
INFLATE = 4.0       # variance inflation for overlapping, correlated frames
SHRINK = 2.0        # standard errors taken off each band's difference
MIN_RUN = 0.15      # seconds: shorter dips are not pauses
BELOW_SPEECH_DB = 20.0  # a pause lies this far under the loudest speech near it
SPEECH_SPAN = 5.0   # seconds either side searched for that speech
SAME_PAUSE = 1.0    # seconds: a change between pauses closer than this is a point

ROOM_TONE = Detector(
    name="room_tone", family="background", unit="dB (RMS over 8 bands of the change in the "
    "pauses' level, less 2 standard errors)", threshold=7.0,
    meaning="the room tone in the pauses changes here (level or spectrum, hum included): "
            "the pieces on either side may come from another room, microphone or session")
REVERB = Detector(
    name="reverb", family="background", unit="z of the change in the speech's decay rate",
    threshold=5.0,
    meaning="the speech dies away at another rate here (reverberation): the pieces on "
            "either side may come from rooms of other sizes or microphones at other "
            "distances")
DETECTORS = (ROOM_TONE, REVERB)
DECAY_MIN_DROP = 15.0   # dB an offset must fall from speech before the next onset
DECAY_MAX = 0.8         # seconds an offset may take
REVERB_WINDOW = 30.0    # seconds either side
REVERB_HOP = 1.0        # seconds between tested times
MIN_OFFSETS = 6         # speech offsets needed on each side


def coarse_bands(frames: Frames) -> np.ndarray:
    """(n_frames, n) dB of the bands of ``EDGES_HZ`` that lie below the source's top."""
    fine = 10 ** (frames.bands.astype(np.float64) / 10)
    cols = []
    for lo, hi in zip(EDGES_HZ[:-1], EDGES_HZ[1:], strict=True):
        if hi > frames.top_hz + 1:
            break
        a, b = int(lo // BAND_HZ), int(hi // BAND_HZ)
        if b > fine.shape[1]:
            break
        cols.append(10 * np.log10(fine[:, a:b].sum(axis=1) + 1e-12))
    return np.stack(cols, axis=1) if cols else np.zeros((len(fine), 0))


def pauses(frames: Frames) -> np.ndarray:
    """Pause frames that hold room tone only: near the local floor, ``BELOW_SPEECH_DB``
    under the loud speech around them, in runs of at least ``MIN_RUN`` s (the dips between
    syllables, filled with reverberation and breath, are shorter)."""
    n = len(frames.level)
    if not n:
        return np.zeros(0, bool)
    span = 2 * int(SPEECH_SPAN / FRAME_HOP) + 1
    loud = ndimage.maximum_filter1d(
        ndimage.uniform_filter1d(frames.level, 5, mode="nearest"), span, mode="nearest")
    cand = frames.pause & (frames.level <= loud - BELOW_SPEECH_DB)
    labels, _ = ndimage.label(cand)
    sizes = np.bincount(labels)
    ok = sizes >= int(MIN_RUN / FRAME_HOP)
    ok[0] = False
    return ok[labels]


def change_scores(frames: Frames) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(grid times, strength, median level change in dB) of the room-tone change test.

    Each side's room tone is the median, band by band, of its :func:`pauses` (robust to
    tails of speech and reverberation that reach into a pause); its standard error is
    1.25 x the frames' MAD-based spread over the square root of their number, inflated
    by ``INFLATE`` for overlapping, correlated frames.
    """
    t = frames.t
    if not len(t) or t[-1] < 2 * WINDOW:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    grid = np.arange(WINDOW, t[-1] - WINDOW + 1e-9, HOP)
    x = coarse_bands(frames)
    keep = np.flatnonzero(pauses(frames))
    xp, tp = x[keep], t[keep]
    lo = np.searchsorted(tp, grid - WINDOW)
    mid = np.searchsorted(tp, grid)
    hi = np.searchsorted(tp, grid + WINDOW)
    need = int(MIN_PAUSE / FRAME_HOP)
    strength = np.zeros(len(grid))
    level = np.zeros(len(grid))
    if not x.shape[1]:
        return grid, strength, level

    def side(a: int, b: int) -> np.ndarray | None:
        return xp[a:b] if b - a >= need else None

    for i in range(len(grid)):
        left, right = side(lo[i], mid[i]), side(mid[i], hi[i])
        if left is None or right is None:
            continue
        ml, mr = np.median(left, axis=0), np.median(right, axis=0)
        sl = 1.4826 * np.median(np.abs(left - ml), axis=0)
        sr_ = 1.4826 * np.median(np.abs(right - mr), axis=0)
        se = 1.25 * np.sqrt(INFLATE * (sl ** 2 / len(left) + sr_ ** 2 / len(right)))
        diff = mr - ml
        shrunk = np.maximum(np.abs(diff) - SHRINK * se, 0.0)
        strength[i] = float(np.sqrt(np.mean(shrunk ** 2)))
        level[i] = float(np.median(diff))
    return grid, strength, level


def locate(frames: Frames, t: float) -> tuple[float, float | None]:
    """Where in ``t`` +- ``WINDOW`` the room tone changes: the split of the pause frames
    there that best separates their levels (CUSUM, Page 1954), along the direction in
    which the two sides' bands differ. The medians' test finds that a change happened
    nearby; this says between which two pauses: (time, None) when they are under
    ``SAME_PAUSE`` s apart (the middle of that gap), else (end of the last pause before,
    start of the first after): the join lies in the speech between."""
    keep = np.flatnonzero(pauses(frames) & (np.abs(frames.t - t) <= WINDOW))
    if len(keep) < 4:
        return t, None
    x = coarse_bands(frames)[keep]
    tt = frames.t[keep]
    before = tt < t
    if before.all() or not before.any():
        return t, None
    u = np.median(x[~before], axis=0) - np.median(x[before], axis=0)
    u = u / (np.linalg.norm(u) + 1e-12)
    z = x @ u
    n = len(z)
    j = np.arange(1, n)
    c = np.cumsum(z)[:-1]
    stat = np.abs(c / j - (z.sum() - c) / (n - j)) * np.sqrt(j * (n - j) / n)
    k = int(np.argmax(stat)) + 1
    a, b = float(tt[k - 1] + FRAME_HOP), float(tt[k] - FRAME_HOP)
    if b - a < SAME_PAUSE:
        return (a + b) / 2, None
    return a, b


def decays(frames: Frames) -> tuple[np.ndarray, np.ndarray]:
    """(times, decay rates in dB/s) of the speech offsets: where the level after a speech
    frame falls by at least ``DECAY_MIN_DROP`` dB before it rises again (within
    ``DECAY_MAX`` s), the slope of a line fitted to the fall between 3 dB under its start
    and 3 dB over its lowest (the early decay, as Schroeder's method reads a room's;
    reverberation slows it)."""
    level = frames.level.astype(np.float64)
    speech = frames.speech
    n, reach = len(level), int(DECAY_MAX / FRAME_HOP)
    times, rates = [], []
    i = 0
    while i < n - 2:
        if not (speech[i] and not speech[i + 1]):
            i += 1
            continue
        j = i + 1  # follow the fall until the level rises again (the next onset)
        while j + 1 < min(n, i + reach) and level[j + 1] <= level[j] + 1.0:
            j += 1
        seg = level[i:j + 1]
        low = int(np.argmin(seg))
        if seg[0] - seg[low] < DECAY_MIN_DROP:
            i = j
            continue
        seg = seg[:low + 1]
        keep = (seg <= seg[0] - 3.0) & (seg >= seg[-1] + 3.0)
        if keep.sum() >= 3:
            tt = np.flatnonzero(keep) * FRAME_HOP
            slope = -float(np.polyfit(tt, seg[keep], 1)[0])
        else:  # gone within a frame or two: as fast as the frames can tell
            slope = (seg[0] - seg[-1]) / (max(low, 1) * FRAME_HOP)
        if slope > 0:
            times.append(float(frames.t[i]))
            rates.append(slope)
        i = j
    return np.asarray(times), np.asarray(rates)


def reverb(y: np.ndarray | None = None, *, sr: int | None = None,
           frames: Frames | None = None, source_sr: int | None = None,
           threshold: float | None = None) -> list[Candidate]:
    """Times where the speech's decay rate (reverberation) changes: the median log decay
    rate of the offsets ``REVERB_WINDOW`` s before and after each time, their difference
    over its standard error (MAD-based)."""
    threshold = REVERB.threshold if threshold is None else threshold
    if frames is None:
        frames = analyse(y, sr=sr, source_sr=source_sr)
    t, rate = decays(frames)
    if len(t) < 2 * MIN_OFFSETS or not len(frames.t):
        return []
    x = np.log(rate)
    grid = np.arange(REVERB_WINDOW, frames.t[-1] - REVERB_WINDOW + 1e-9, REVERB_HOP)
    lo = np.searchsorted(t, grid - REVERB_WINDOW)
    mid = np.searchsorted(t, grid)
    hi = np.searchsorted(t, grid + REVERB_WINDOW)
    z = np.zeros(len(grid))
    ratio = np.ones(len(grid))
    for i in np.flatnonzero((mid - lo >= MIN_OFFSETS) & (hi - mid >= MIN_OFFSETS)):
        left, right = x[lo[i]:mid[i]], x[mid[i]:hi[i]]
        ml, mr = np.median(left), np.median(right)
        sl = 1.4826 * np.median(np.abs(left - ml))
        sr_ = 1.4826 * np.median(np.abs(right - mr))
        se = 1.25 * np.sqrt(sl ** 2 / len(left) + sr_ ** 2 / len(right)) + 1e-3
        z[i] = abs(mr - ml) / se
        ratio[i] = float(np.exp(mr - ml))
    out = []
    for i in peaks(z, REVERB_HOP, threshold if threshold is not None else np.inf,
                   REVERB_WINDOW):
        before = float(np.exp(np.median(x[lo[i]:mid[i]])))
        after = before * ratio[i]
        # where between the offsets the rate changes: the split that best separates them
        # (CUSUM), the candidate the stretch between the last offset before and the first
        # after
        seg, ts = x[lo[i]:hi[i]], t[lo[i]:hi[i]]
        k = np.arange(1, len(seg))
        c = np.cumsum(seg)[:-1]
        stat = np.abs(c / k - (seg.sum() - c) / (len(seg) - k)) * np.sqrt(
            k * (len(seg) - k) / len(seg))
        split = int(np.argmax(stat)) + 1
        at, end = float(ts[split - 1]), float(ts[split])
        out.append(Candidate(
            time=round(at, 1), end=round(end, 1), detector=REVERB.name, family="background",
            strength=round(float(z[i]), 1),
            detail=f"the speech dies away at {before:.0f} dB/s before and {after:.0f} dB/s "
                   f"after this point ({z[i]:.1f}x its standard error): {REVERB.meaning}"))
    return out


def room_tone(y: np.ndarray | None = None, *, sr: int | None = None,
              frames: Frames | None = None, source_sr: int | None = None,
              threshold: float | None = None) -> list[Candidate]:
    """Times where the pauses' room tone changes (give ``y`` and ``sr``, or ``frames``)."""
    threshold = ROOM_TONE.threshold if threshold is None else threshold
    if frames is None:
        frames = analyse(y, sr=sr, source_sr=source_sr)
    grid, strength, level = change_scores(frames)
    out = []
    for i in peaks(strength, HOP, threshold, WINDOW):
        at, end = locate(frames, float(grid[i]))
        out.append(Candidate(
            time=round(at, 2), end=None if end is None else round(end, 2),
            detector=ROOM_TONE.name, family="background",
            strength=round(float(strength[i]), 2),
            detail=f"room tone in the pauses {level[i]:+.1f} dB after this point "
                   f"(spectral change {strength[i]:.1f} dB RMS over bands, beyond its "
                   f"noise): {ROOM_TONE.meaning}"))
    return out
