"""Electrical network frequency (ENF): the mains hum's frequency, second by second.

A recorder near mains wiring picks up hum at the grid frequency (50 or 60 Hz) and its
harmonics; the grid frequency wanders by tens of millihertz in a way that is the same
across a whole synchronous grid, and operators log it. This module extracts that
wander from a recording (Grigoras 2005; Hajj-Ahmad, Garg & Wu 2012 for combining
harmonics by their SNR):

- long windows (``WINDOW`` s, one per second) with a Hann taper and zero padding,
  a peak search near each harmonic and quadratic interpolation of the log spectrum;
- each harmonic's estimate divided by its order and weighted by its local SNR, so
  codecs or small speakers that remove the fundamental still leave a trace;
- speech and music are broadband and move quickly; the long windows average them
  down and the SNR weights discount frames where they cover a harmonic;
- presence: a real ENF trace is stable (the grid's inertia) and stands above its band;
  a trace made of noise peaks jumps about. Estimates from windows that share no samples
  (``WINDOW`` s apart) are compared: without hum each is a peak of speech or noise
  anywhere in the search band, so two agree within ``AGREE_HZ`` only by chance
  (``P_CHANCE``); hum is declared present when far more pairs agree than chance allows
  (binomial test at ``PRESENCE_ALPHA`` per nominal). Gaps (frames with no usable peak)
  count as disagreement. The test and its measured false-alarm rate are stated with the
  result.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy import fft, signal, stats

SR = 1000                  # analysis rate: harmonics up to 500 Hz
WINDOW = 8.0               # seconds per frequency estimate
HOP = 1.0                  # one value per second
N_FFT = 1 << 15            # zero padding: 0.03 Hz bins before interpolation
SEARCH = 0.25              # Hz either side of each nominal harmonic (per unit order)
HARMONICS = {50: (1, 2, 3, 4, 5, 6), 60: (1, 2, 3, 4, 5)}
#: presence test: median |second-to-second change| of the trace below this (Hz) and
#: median combined SNR above MIN_SNR_DB. See bench/timing for the false-alarm rate. A sanity
#: bound beside the stability test, which carries the chance rate: 6 mHz/s refused 3-min
#: recordings of hum at -40 dB whose stability no no-hum recording comes near (chance
#: probability 8e-6; the lowest of 48 no-hum recordings in bench/edits dev-full: 0.22)
MAX_ROUGHNESS = 0.010
MIN_SNR_DB = 3.0
NOISE_PEAK_DB = 8.0        # a band's highest bin over its median in pure noise, about
AGREE_HZ = 0.02            # a harmonic's estimate (divided by its order) this near the rest
#: presence, stability test: share of estimates ``WINDOW`` s apart (disjoint windows) that
#: agree within AGREE_HZ, against the chance of that for two independent peaks uniform in
#: the search band (+-SEARCH, in frequency over order)
P_CHANCE = 2 * (AGREE_HZ / (2 * SEARCH)) - (AGREE_HZ / (2 * SEARCH)) ** 2
PRESENCE_ALPHA = 0.01      # per nominal tested (50 and 60 Hz: at most 2 % in all)


@dataclass(frozen=True)
class Trace:
    """An ENF trace: frequency per second (NaN where unusable) and its per-second SNR."""

    t: np.ndarray            # seconds, centre of each window
    freq: np.ndarray         # Hz
    snr_db: np.ndarray       # combined SNR of the harmonics used
    nominal: int             # 50 or 60
    harmonics: tuple[int, ...]
    harmonic_snr_db: dict[int, float]
    roughness: float         # median |diff| of freq, Hz
    present: bool
    stability: float = 0.0   # share of estimates WINDOW s apart that agree within AGREE_HZ
    chance_probability: float = 1.0  # of that stability (or more) from no hum (binomial)

    def __len__(self) -> int:
        return len(self.freq)


BLOCK = 1 << 16            # analysis-rate samples per block of work: memory stays flat
FRAME_BLOCK = 128          # spectrum frames per block (128 x 16385 complex: 34 MB)


def to_analysis_rate(y: np.ndarray, sr: int) -> np.ndarray:
    """Mono float64 at ``SR`` (polyphase resampling), ``BLOCK`` output samples at a time.

    The same values as one ``resample_poly`` over the whole of ``y``, without a float64
    copy of ``y`` at its own rate (an hour at 16 kHz would be 460 MB).
    """
    if sr == SR:
        return np.asarray(y, dtype=np.float64)
    g = np.gcd(int(sr), SR)
    return resample_blocks(y, up=SR // g, down=int(sr) // g)


def resample_blocks(y: np.ndarray, *, up: int, down: int, block: int = BLOCK) -> np.ndarray:
    """``signal.resample_poly(y, up, down)`` in float64, ``block`` output samples at a time.

    Each block is resampled from its stretch of ``y`` plus a margin wider than the filter
    (``resample_poly``'s is ``10 * max(up, down)`` input samples either side), starting
    on a multiple of ``down`` so that its outputs fall on the whole signal's grid.
    """
    n = len(y)
    n_out = -(-n * up // down)
    out = np.empty(n_out, dtype=np.float64)
    margin = down * (10 * max(up, down) // up // down + 2)
    step = block * down  # input samples per block: ``block * up`` outputs
    for a in range(0, n, step):
        s, e = max(0, a - margin), min(n, a + step + margin)
        part = signal.resample_poly(np.asarray(y[s:e], dtype=np.float64), up, down)
        k0, k1 = a * up // down, min(n_out, (a + step) * up // down)
        skip = k0 - s * up // down
        out[k0:k1] = part[skip:skip + k1 - k0]
    return out


def _frame_blocks(x: np.ndarray) -> Iterator[np.ndarray]:
    """Hann-tapered ``WINDOW``-s frames every ``HOP`` s, ``FRAME_BLOCK`` frames at a time."""
    n = int(WINDOW * SR)
    if len(x) < n:
        return
    hop = int(HOP * SR)
    frames = np.lib.stride_tricks.sliding_window_view(x, n)[::hop]  # a view: no copy
    taper = signal.get_window("hann", n)
    for i in range(0, len(frames), FRAME_BLOCK):
        yield frames[i:i + FRAME_BLOCK] * taper


def _harmonic_track(spec_db: np.ndarray, freqs: np.ndarray, centre: float, half: float):
    """Peak frequency (interpolated) and SNR (dB) near ``centre`` in every frame."""
    band = np.flatnonzero((freqs >= centre - half) & (freqs <= centre + half))
    wide = np.flatnonzero((freqs >= centre - 4 * half) & (freqs <= centre + 4 * half))
    sub = spec_db[:, band]
    k0 = np.argmax(sub, axis=1)
    k = np.clip(k0, 1, len(band) - 2)
    rows = np.arange(len(sub))
    a, b, c = sub[rows, k - 1], sub[rows, k], sub[rows, k + 1]
    denom = a - 2 * b + c
    delta = np.where(np.abs(denom) > 1e-12, 0.5 * (a - c) / np.where(denom == 0, 1, denom), 0)
    delta = np.clip(delta, -0.5, 0.5)
    df = freqs[1] - freqs[0]
    f = freqs[band][k] + delta * df
    floor = np.median(spec_db[:, wide], axis=1)
    # a maximum on the band's edge is a slope (speech or rumble rising out of the band),
    # not a peak: it would pin the "frequency" to the edge, a stable trace from no hum
    edge = (k0 == 0) | (k0 == len(band) - 1)
    return f, np.where(edge, 0.0, b - floor)


def extract(y: np.ndarray, *, sr: int, nominal: int | None = None,
            source_sr: int | None = None) -> Trace:
    """The ENF trace of a recording; ``nominal`` 50 or 60, or None to find it.

    ``source_sr``: the original file's rate when ``y`` was resampled on decoding, so that
    harmonics above the source's own band are not searched. Spectra are computed
    ``FRAME_BLOCK`` frames at a time and only the bins near the harmonics are kept, so
    memory does not grow with the recording beyond its samples at ``SR``.
    """
    x = to_analysis_rate(y, sr)
    top = min(SR, sr, source_sr or sr) / 2 * 0.95
    if len(x) < int(WINDOW * SR):
        return Trace(np.zeros(0), np.zeros(0), np.zeros(0), nominal or 50, (), {}, np.inf,
                     False)
    candidates = [nominal] if nominal else [50, 60]
    tracks = harmonic_tracks(x, candidates, top)
    best = None
    for nom in candidates:
        trace = _combine(tracks[nom], nom)
        key = (trace.present, own_snr(trace, candidates),
               -trace.roughness if np.isfinite(trace.roughness) else -np.inf)
        if best is None or key > best[0]:
            best = (key, trace)
    return best[1]


def own_snr(trace: Trace, nominals: list[int]) -> float:
    """The strongest SNR (dB) among the trace's harmonics that no other nominal in
    ``nominals`` shares: 300 Hz is the 6th harmonic of 50 Hz and the 5th of 60 Hz, so a
    50 Hz hum gives a smooth "60 Hz" trace from that one harmonic, and only the others
    tell the two apart."""
    others = [n for n in nominals if n != trace.nominal]
    own = [v for h, v in trace.harmonic_snr_db.items()
           if not any((h * trace.nominal) % n == 0 for n in others)]
    return max(own, default=-np.inf)


def _bands(nominal: int, top: float) -> list[tuple[int, slice]]:
    """(harmonic, bins of its wide band) of the harmonics below ``top``: the only bins used."""
    freqs = fft.rfftfreq(N_FFT, 1 / SR)
    out = []
    for h in HARMONICS[nominal]:
        if h * nominal + 4 * h * SEARCH >= top:
            continue
        centre, half = h * nominal, h * SEARCH  # as _harmonic_track selects its wide band
        wide = np.flatnonzero((freqs >= centre - 4 * half) & (freqs <= centre + 4 * half))
        out.append((h, slice(int(wide[0]), int(wide[-1]) + 1)))
    return out


def harmonic_tracks(x: np.ndarray, nominals: list[int], top: float
                    ) -> dict[int, dict[int, tuple[np.ndarray, np.ndarray]]]:
    """Per nominal and harmonic, the peak frequency (Hz) and SNR (dB) in every frame of
    ``x`` (at ``SR``): ``{nominal: {h: (freq, snr_db)}}``, each array one value per frame.

    Frame by frame the same as one spectrogram of the whole recording; computed a block
    of frames at a time, keeping the log power of the harmonics' bands only.
    """
    freqs = fft.rfftfreq(N_FFT, 1 / SR)
    bands = {nom: _bands(nom, top) for nom in nominals}
    parts: dict[int, dict[int, list]] = {nom: {h: [] for h, _ in b} for nom, b in bands.items()}
    for frames in _frame_blocks(x):
        spec = fft.rfft(frames, n=N_FFT, axis=1)
        for nom, band_list in bands.items():
            for h, sl in band_list:
                spec_db = 10 * np.log10(np.abs(spec[:, sl]) ** 2 + 1e-20)
                parts[nom][h].append(_harmonic_track(spec_db, freqs[sl], h * nom, h * SEARCH))
    empty = (np.zeros(0), np.zeros(0))
    return {nom: {h: tuple(np.concatenate(c) for c in zip(*p, strict=True)) if p else empty
                  for h, p in per.items()} for nom, per in parts.items()}


def _weighted_median(f: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per column (frame), the weighted median of the rows (harmonics); NaN without weight."""
    order = np.argsort(f, axis=0)
    fs = np.take_along_axis(f, order, axis=0)
    ws = np.take_along_axis(w, order, axis=0)
    cum = np.cumsum(ws, axis=0)
    total = cum[-1]
    idx = np.argmax(cum >= total / 2, axis=0)
    out = fs[idx, np.arange(f.shape[1])]
    return np.where(total > 0, out, np.nan)


def _median3(x: np.ndarray) -> np.ndarray:
    """Running median over 3 seconds (NaN-aware): one-frame spikes from speech go."""
    if len(x) < 3:
        return x
    padded = np.r_[x[0], x, x[-1]]
    stack = np.stack([padded[:-2], padded[1:-1], padded[2:]])
    with warnings.catch_warnings():  # all-NaN columns stay NaN, quietly
        warnings.simplefilter("ignore", RuntimeWarning)
        out = np.nanmedian(stack, axis=0)
    return np.where(np.isnan(x), np.nan, out)


def _combine(tracks: dict[int, tuple[np.ndarray, np.ndarray]], nominal: int) -> Trace:
    """SNR-weighted combination of the harmonics' frequency estimates (divided by order)."""
    f = np.stack([tracks[h][0] / h for h in tracks])
    snr = np.stack([tracks[h][1] for h in tracks])
    used = list(tracks)
    per_harmonic = {h: round(float(np.median(tracks[h][1])), 2) for h in tracks}
    # the largest of a band's bins stands NOISE_PEAK_DB over the band's median even in pure
    # noise: only the excess over that counts as hum
    w = np.clip(10 ** ((snr - NOISE_PEAK_DB) / 10) - 1, 0, None)
    # per frame, harmonics far from the weighted median are speech or noise, not hum
    centre = _weighted_median(f, w)
    w = np.where(np.abs(f - centre) <= AGREE_HZ, w, 0.0)
    w_sum = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        combined = (w * f).sum(axis=0) / w_sum
    combined = np.where(w_sum > 0, combined, np.nan)
    stability, p_chance = _stability(combined)
    combined = _median3(combined)
    combined_snr = 10 * np.log10(np.maximum(w_sum, 1e-12) + 1) + NOISE_PEAK_DB * (w_sum > 0)
    diffs = np.abs(np.diff(combined))
    roughness = float(np.nanmedian(diffs)) if np.isfinite(diffs).any() else np.inf
    present = bool(roughness < MAX_ROUGHNESS and np.nanmedian(combined_snr) >= MIN_SNR_DB
                   and p_chance < PRESENCE_ALPHA)
    t = np.arange(len(combined)) * HOP + WINDOW / 2
    return Trace(t=t, freq=combined, snr_db=combined_snr, nominal=nominal,
                 harmonics=tuple(used), harmonic_snr_db=per_harmonic, roughness=roughness,
                 present=present, stability=round(stability, 4), chance_probability=p_chance)


def _stability(freq: np.ndarray) -> tuple[float, float]:
    """Share of estimates ``WINDOW`` s apart that agree within ``AGREE_HZ`` (a gap counts as
    disagreement), and the binomial probability of at least that many agreements by chance.

    The trace is the raw per-frame estimate (before the 3 s median, which mixes neighbours
    and makes equal neighbours out of noise). Windows ``WINDOW`` s apart share no samples,
    so without hum their peaks are independent draws in the search band; a chain of such
    windows gives ``len // lag`` independent comparisons.
    """
    lag = max(1, int(round(WINDOW / HOP)))
    if len(freq) <= lag:
        return 0.0, 1.0
    d = np.abs(freq[lag:] - freq[:-lag])
    share = float(np.mean(np.where(np.isfinite(d), d, np.inf) <= AGREE_HZ))
    n = len(d) // lag
    if n < 1:
        return share, 1.0
    k = int(np.floor(share * n + 1e-9))
    return share, float(stats.binom.sf(k - 1, n, P_CHANCE))


@dataclass(frozen=True)
class Discontinuity:
    """A place where the hum's phase or frequency jumps: a candidate cut or splice."""

    time: float          # seconds into the recording
    kind: str            # "phase" or "frequency"
    strength: float      # radians (phase) or Hz (frequency)
    significance: float  # jump size over the trace's own robust noise level


PHASE_STEP = 0.5       # seconds either side of a candidate phase step
MIN_PHASE_JUMP = 0.5   # radians at the analysed harmonic
MIN_SIGNIFICANCE = 8.0


def discontinuities(y: np.ndarray, *, sr: int, trace: Trace) -> list[Discontinuity]:
    """Phase steps and frequency jumps of the hum (Rodriguez, Apolinario & Biscainho 2010).

    The strongest harmonic is isolated by a narrow band-pass, its instantaneous phase
    compared with the phase the extracted frequency track predicts; a splice shifts the
    hum's phase at once, a cut of a whole number of cycles leaves it but may leave a
    frequency step. Steps far above the residual's own noise are reported.
    """
    if not trace.present or len(trace) < 4:
        return []
    found = _frequency_jumps(trace)
    x = to_analysis_rate(y, sr)
    ranked = sorted(trace.harmonic_snr_db, key=trace.harmonic_snr_db.get, reverse=True)
    strong = [h for h in ranked if trace.harmonic_snr_db[h] >= NOISE_PEAK_DB + 3][:2] or ranked[:1]
    steps = [_phase_steps(x, trace, h) for h in strong]
    for t, size, sig in steps[0]:
        # a splice moves every harmonic's phase at once; interference moves one band's
        if len(steps) > 1 and not any(abs(t - t2) <= 0.3 for t2, _, _ in steps[1]):
            continue
        found.append(Discontinuity(time=round(t, 2), kind="phase", strength=round(size, 3),
                                   significance=round(sig, 1)))
    return _merge(sorted(found, key=lambda d: d.time))


PHASE_BLOCK = 128_000    # samples (at SR) demodulated at a time: a multiple of 20 ms
PHASE_MARGIN = 8_000     # samples either side of a block, filtered with it and dropped


def demodulated(x: np.ndarray, trace: Trace, h: int) -> np.ndarray:
    """Harmonic ``h`` of ``x`` (at ``SR``) as a complex value per 20 ms: band-passed,
    analytic, turned back by the phase the trace's frequency predicts, and averaged.

    Worked in blocks of ``PHASE_BLOCK`` samples, each filtered (forward and backward) and
    Hilbert-transformed with ``PHASE_MARGIN`` samples either side that are then dropped:
    the filter's response and the transform's edge effects have died away by then, so the
    values match one pass over the whole recording to about 1e-4 of their size, with
    memory bounded by the block.
    """
    centre = h * trace.nominal
    sos = signal.butter(4, [centre - 1.5 * h, centre + 1.5 * h], btype="bandpass", fs=SR,
                        output="sos")
    freq = np.nan_to_num(trace.freq, nan=float(np.nanmedian(trace.freq)))
    step = int(0.02 * SR)
    n = len(x) // step * step
    out, phase = [], 0.0
    for a in range(0, n, PHASE_BLOCK):
        b = min(n, a + PHASE_BLOCK)
        s, e = max(0, a - PHASE_MARGIN), min(len(x), b + PHASE_MARGIN)
        analytic = signal.hilbert(signal.sosfiltfilt(sos, x[s:e]))[a - s:b - s]
        f = np.interp(np.arange(a, b) / SR, trace.t, freq)
        expected = phase + 2 * np.pi * h * np.cumsum(f) / SR
        phase = float(np.mod(expected[-1], 2 * np.pi))
        z = analytic * np.exp(-1j * expected)
        out.append(z.reshape(-1, step).mean(axis=1))
    return np.concatenate(out) if out else np.zeros(0, complex)


def _phase_steps(x: np.ndarray, trace: Trace, h: int) -> list[tuple[float, float, float]]:
    """(time, step in radians, significance) of phase steps of harmonic ``h``."""
    # demodulate and average the complex values over 20 ms before taking the angle
    z = demodulated(x, trace, h)
    # blocks where the band is much louder or quieter than usual hold speech, not hum
    amp = np.abs(z)
    clean = (amp > 0.6 * np.median(amp)) & (amp < 1.6 * np.median(amp))
    r = np.unwrap(np.angle(z))
    w = int(PHASE_STEP / 0.02)
    if len(r) < 4 * w:
        return []
    cw = np.cumsum(np.r_[0, clean.astype(float)])
    cr = np.cumsum(np.r_[0, np.where(clean, r, 0.0)])
    idx = np.arange(w, len(r) - w)
    n_left, n_right = cw[idx] - cw[idx - w], cw[idx + w] - cw[idx]
    with np.errstate(invalid="ignore", divide="ignore"):
        jump = (cr[idx + w] - cr[idx]) / n_right - (cr[idx] - cr[idx - w]) / n_left
    enough = (n_left >= w / 2) & (n_right >= w / 2)
    jump = np.angle(np.exp(1j * np.where(enough, jump, 0.0)))  # whole turns are slips
    if not enough.any():
        return []
    noise = 1.4826 * np.median(np.abs(jump[enough] - np.median(jump[enough]))) + 1e-9
    peaks, _ = signal.find_peaks(np.abs(jump), distance=2 * w)
    return [(float(idx[p] * 0.02), float(jump[p]), float(abs(jump[p]) / noise)) for p in peaks
            if abs(jump[p]) >= MIN_PHASE_JUMP and abs(jump[p]) / noise >= MIN_SIGNIFICANCE]


def _merge(events: list[Discontinuity]) -> list[Discontinuity]:
    """One event per cluster (a window's length apart): a phase step's time is the sharper
    one, so it wins; otherwise the most significant frequency step."""
    groups: list[list[Discontinuity]] = []
    for e in events:
        if groups and e.time - groups[-1][-1].time <= WINDOW / 2 + 1:
            groups[-1].append(e)
        else:
            groups.append([e])
    merged = []
    for g in groups:
        phase = [e for e in g if e.kind == "phase"]
        merged.append(max(phase or g, key=lambda e: e.significance))
    return merged


def _frequency_jumps(trace: Trace) -> list[Discontinuity]:
    """Second-to-second frequency steps far above the trace's usual wander."""
    d = np.diff(trace.freq)
    good = np.isfinite(d)
    if good.sum() < 4:
        return []
    noise = 1.4826 * np.median(np.abs(d[good] - np.median(d[good]))) + 1e-6
    out = []
    for i in np.flatnonzero(good & (np.abs(np.nan_to_num(d)) > max(0.01, 10 * noise))):
        out.append(Discontinuity(time=round(float(trace.t[i] + HOP / 2), 2), kind="frequency",
                                 strength=round(float(d[i]), 4),
                                 significance=round(float(abs(d[i]) / noise), 1)))
    return out
