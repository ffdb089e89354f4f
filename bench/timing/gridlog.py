"""A long 1 Hz grid log stitched from the real ENF-WHU mains recordings.

Each of the 60 reference files (50 Hz grid, Wuhan, 400 Hz, 5-20 min) is reduced to its
frequency track with purport's own extractor, ``enf.extract(y, sr=400, nominal=50)``
(10.9 h of real grid dynamics in all). The benchmark log is longer than that and must
not repeat itself, or a questioned window would fit two places equally well. Every
track is used in four shapes that a mean-removed correlation cannot confuse:

* ``fwd``: as recorded;
* ``rev``: time-reversed;
* ``mir``: mirrored about 50 Hz (``100 - f``): every rise becomes a fall;
* ``revmir``: both.

(An offset-shifted copy is *not* used for the accuracy log: placement removes the mean,
so a shifted copy would match exactly as well as the original.) The 4 x 60 segments are
chained in a seeded order that keeps the grid continuous: after each segment, the next
is drawn at random from the five unused ones whose first value is closest to the
current last value, and what step remains is faded out over the new segment's first
``FADE`` seconds (a linear ramp from the step to zero), so no junction jumps.

For the speed test only, :func:`tiled` repeats that log with small constant offsets to
any length (30 days): repeats do not matter when only the time is measured.
"""

from __future__ import annotations

import datetime as dt
import glob
import json
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from purport.timing import enf, grid

WHU = Path(__file__).resolve().parents[3] / "shared" / "data" / "enf-whu-ref"
START = dt.datetime(2024, 3, 4, 0, 0, 0, tzinfo=dt.UTC)
FADE = 60
SPIKE = 0.008
SPIKE_PAD = 3
SHAPES = ("fwd", "rev", "mir", "revmir")


@dataclass(frozen=True)
class Log:
    """The benchmark log and where each segment sits in it (for reports)."""

    log: grid.GridLog
    segments: list[dict]      # file, shape, start (index), length, step (Hz faded out)

    @property
    def freq(self) -> np.ndarray:
        return self.log.freq


def read_whu(path: str | Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16) / 32768.0


def whu_tracks(cache: Path, log=print) -> dict[str, np.ndarray]:
    """File name -> 1 Hz frequency track (cached in ``.cache/whu-tracks.npz``)."""
    path = cache / "whu-tracks.npz"
    if path.is_file():
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    bridged = {}
    files = sorted(glob.glob(str(WHU / "*_ref.wav")))
    if not files:
        raise SystemExit(f"no ENF-WHU reference files in {WHU}")
    tracks = {}
    for f in files:
        tr = enf.extract(read_whu(f), sr=400, nominal=50)
        freq = tr.freq
        if np.isnan(freq).any():  # never seen on these files; keep the log gap-free anyway
            good = np.isfinite(freq)
            freq = np.interp(np.arange(len(freq)), np.flatnonzero(good), freq[good])
        tracks[Path(f).name] = despike(freq)
        bridged[Path(f).name] = int((tracks[Path(f).name] != freq).sum())
    log(f"  WHU: {len(tracks)} tracks, {sum(map(len, tracks.values())) / 3600:.2f} h")
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, **tracks)
    (cache / "whu-despiked.json").write_text(json.dumps(bridged))
    return tracks


def despiked_seconds(cache: Path) -> int:
    """How many seconds of the WHU tracks :func:`despike` replaced."""
    path = cache / "whu-despiked.json"
    return sum(json.loads(path.read_text()).values()) if path.is_file() else -1


def despike(f: np.ndarray) -> np.ndarray:
    """Bridge the glitches of the reference recordings by linear interpolation.

    A few WHU files hold a dropout or click (the 400 Hz mains signal's envelope dips for a
    few samples); the 8 s window that sees it returns a frequency up to 50 mHz off for
    some seconds, which the grid did not do. Values more than ``SPIKE`` Hz from the
    15-second running median, and the ``SPIKE_PAD`` seconds either side, are replaced.
    """
    res = np.abs(f - ndimage.median_filter(f, 15, mode="nearest"))
    bad = ndimage.binary_dilation(res > SPIKE, iterations=SPIKE_PAD)
    if not bad.any() or bad.all():
        return f
    good = np.flatnonzero(~bad)
    return np.interp(np.arange(len(f)), good, f[good])


def shape(f: np.ndarray, how: str) -> np.ndarray:
    if how in ("rev", "revmir"):
        f = f[::-1]
    if how in ("mir", "revmir"):
        f = 100.0 - f
    return np.asarray(f, np.float64)


def build(tracks: dict[str, np.ndarray], *, seed: int = 0,
          shapes: tuple[str, ...] = SHAPES) -> Log:
    """The stitched log (see the module docstring), seeded."""
    rng = np.random.default_rng(seed)
    pieces = [(name, how, shape(f, how)) for name, f in sorted(tracks.items())
              for how in shapes]
    order = list(rng.permutation(len(pieces)))
    first = order.pop(0)
    chain, segments = [pieces[first][2]], []
    segments.append({"file": pieces[first][0], "shape": pieces[first][1], "start": 0,
                     "length": len(pieces[first][2]), "step": 0.0})
    pos = len(chain[0])
    while order:
        last = chain[-1][-1]
        gaps = np.array([abs(pieces[i][2][0] - last) for i in order])
        pick = order.pop(int(rng.choice(np.argsort(gaps)[:5])))
        name, how, f = pieces[pick]
        step = float(f[0] - last - (chain[-1][-1] - chain[-1][-2]))  # keep the slope too
        ramp = np.zeros(len(f))
        n = min(FADE, len(f))
        ramp[:n] = step * (1 - np.arange(n) / n)
        chain.append(f - ramp)
        segments.append({"file": name, "shape": how, "start": pos, "length": len(f),
                         "step": round(step, 5)})
        pos += len(f)
    return Log(grid.GridLog(START, np.concatenate(chain)), segments)


def tiled(base: grid.GridLog, seconds: int, seed: int = 1) -> grid.GridLog:
    """``base`` repeated (each copy shifted by a few mHz) to ``seconds`` values: timing only."""
    rng = np.random.default_rng(seed)
    reps = -(-seconds // len(base.freq))
    parts = [base.freq + rng.normal(0, 0.003) for _ in range(reps)]
    return grid.GridLog(base.start, np.concatenate(parts)[:seconds])


def window(log: np.ndarray, offset: float, seconds: float, sr: int) -> np.ndarray:
    """The grid frequency at audio rate for a recording whose first sample is at log time
    ``offset`` (s): log value ``i`` describes second ``[i, i+1)``, i.e. time ``i + 0.5``;
    linear interpolation between those centres."""
    t = offset + np.arange(int(round(seconds * sr))) / sr
    return np.interp(t, np.arange(len(log)) + 0.5, log)
