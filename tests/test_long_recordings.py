"""Whole messages: voice and timing work in blocks, give what one pass over the whole signal
gives, and hold memory that does not grow with the recording beyond its samples.

Each blocked step is checked against its slow, obviously-correct twin (the whole-signal
computation) on a short signal with the block size shrunk so that many blocks are used;
the memory tests trace numpy's allocations (``tracemalloc`` sees them) over a short and a
four-times longer input: a whole-signal spectrogram or copy would grow four times.
"""

from __future__ import annotations

import datetime as dt
import importlib
import tracemalloc
import warnings

import numpy as np
import pytest
from scipy import fft, signal
from scipy.cluster import hierarchy

from purport import demo, media
from purport.timing import enf, grid, locate
from purport.voice import embed

voice_compare = importlib.import_module("purport.voice.compare")  # the module, not compare()

SR = 16000


def speech_like(seconds: float, *, sr: int = SR, seed: int = 0) -> np.ndarray:
    """Noise bursts shaped like syllables (4 per second, pauses between phrases), a 50 Hz hum
    with two harmonics and a little background noise: float32 at ``sr``."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    envelope = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) ** 2
    envelope *= (np.sin(2 * np.pi * 0.2 * t) > -0.5)  # a pause every 5 s
    voiced = signal.lfilter([1], [1, -1.6, 0.8], rng.standard_normal(n)) * envelope * 0.05
    hum = 0.01 * (np.sin(2 * np.pi * 50 * t) + 0.5 * np.sin(2 * np.pi * 100 * t + 1))
    return (voiced + hum + 1e-3 * rng.standard_normal(n)).astype(np.float32)


def peak_traced(fn, *args, **kwargs) -> int:
    """Peak bytes traced by tracemalloc (numpy's buffers included) while ``fn`` runs."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn(*args, **kwargs)
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def encoder():
    return embed.load_encoder()


@pytest.fixture(scope="module")
def fulan() -> np.ndarray:
    return media.load(demo.data_dir() / "fulan_2019-03-01_address.ogg", sr=SR).y


# --- voice ------------------------------------------------------------------------------

def test_partials_in_batches_match_resemblyzer_on_the_whole_signal(encoder, monkeypatch):
    y = speech_like(20.0, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole, partials, slices = encoder._encoder.embed_utterance(
            y, return_partials=True, rate=embed.PARTIAL_RATE,
            min_coverage=embed.PARTIAL_MIN_COVERAGE)
    monkeypatch.setattr(embed, "PARTIAL_BATCH", 4)  # 26 partials: 7 batches
    e, p, centres = encoder.embed_partials(y)
    assert p.shape == partials.shape
    np.testing.assert_allclose(p, partials, atol=2e-5)
    np.testing.assert_allclose(e, whole, atol=2e-5)
    assert np.array_equal(centres, [(s.start + min(s.stop, len(y))) / 2 for s in slices])


def test_speech_view_reads_as_the_gathered_speech_frames():
    rng = np.random.default_rng(3)
    y = rng.standard_normal(480 * 50).astype(np.float32)
    frames = np.sort(rng.choice(50, 31, replace=False))
    whole = (y.reshape(-1, 480)[frames].reshape(-1) * np.float64(0.3)).astype(np.float32)
    view = embed.Speech(y, frames, 480, 0.3)
    assert len(view) == len(whole)
    assert np.array_equal(np.asarray(view), whole)
    for a, b in [(0, 1), (100, 1000), (479, 481), (5000, len(whole)), (len(whole) - 3, 10**9)]:
        assert np.array_equal(view[a:b], whole[a:b])


def test_level_vad_and_quality_in_blocks_match_one_block(monkeypatch):
    y = speech_like(30.0, seed=2) * 3
    gain = embed.level_gain(y)
    # the slow twin: normalize_level as one float64 pass over the whole signal
    power = np.mean(y[: len(y) // 480 * 480].reshape(-1, 480).astype(np.float64) ** 2, axis=1)
    expected = 10 ** (embed.TARGET_DBFS / 20) / np.sqrt(np.mean(power[power > 1e-7]))
    assert gain == pytest.approx(min(expected, 0.99 / float(np.max(np.abs(y)))), rel=1e-12)
    mask = embed.speech_mask(y, sr=SR, gain=gain)
    q = embed.quality(y, mask, sr=SR, gain=gain)
    monkeypatch.setattr(embed, "BLOCK_FRAMES", 7)
    assert embed.level_gain(y) == gain
    assert np.array_equal(embed.speech_mask(y, sr=SR, gain=gain), mask)
    assert embed.quality(y, mask, sr=SR, gain=gain) == q
    x = embed.normalize_level(y)
    assert np.array_equal(embed.speech_mask(x, sr=SR), mask)
    assert embed.quality(x, mask, sr=SR) == q


def test_embedding_a_recording_in_small_blocks_changes_nothing(fulan, encoder, monkeypatch):
    big = embed.embed_recording(fulan, sr=SR, encoder=encoder)
    monkeypatch.setattr(embed, "PARTIAL_BATCH", 3)
    monkeypatch.setattr(embed, "BLOCK_FRAMES", 50)
    small = embed.embed_recording(fulan, sr=SR, encoder=encoder)
    assert small.quality == big.quality
    assert np.array_equal(small.window_times, big.window_times)
    np.testing.assert_allclose(small.vector, big.vector, atol=2e-5)
    np.testing.assert_allclose(small.window_vectors, big.window_vectors, atol=2e-5)


def test_partial_embedding_memory_does_not_grow_with_the_speech(encoder, monkeypatch):
    monkeypatch.setattr(embed, "PARTIAL_BATCH", 8)  # 3 and 10 batches
    short, long = speech_like(15.0, seed=4), speech_like(60.0, seed=4)
    encoder.embed_partials(short[:SR])  # warm up (librosa's lazy imports)
    a, b = peak_traced(encoder.embed_partials, short), peak_traced(encoder.embed_partials, long)
    assert b < 1.5 * a, (a, b)  # one mel spectrogram of all the speech: 3-4x


def test_level_vad_and_quality_memory_does_not_grow_with_the_signal(monkeypatch):
    monkeypatch.setattr(embed, "BLOCK_FRAMES", 200)  # 6-s blocks: 10 and 40 of them
    short, long = speech_like(60.0, seed=5), speech_like(240.0, seed=5)

    def steps(y):
        gain = embed.level_gain(y)
        embed.quality(y, embed.speech_mask(y, sr=SR, gain=gain), sr=SR, gain=gain)

    a, b = peak_traced(steps, short), peak_traced(steps, long)
    # per-frame results (a float and a flag per 30 ms) grow; copies of the samples must not
    assert b < a + 0.1 * len(long) * 4, (a, b)


def test_consistency_on_many_windows_still_finds_a_second_voice(monkeypatch):
    rng = np.random.default_rng(6)
    a, b = rng.standard_normal(256), rng.standard_normal(256)
    vectors = np.concatenate([a + 0.3 * rng.standard_normal((300, 256)),
                              b + 0.3 * rng.standard_normal((40, 256))]).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    direct = hierarchy.fcluster(hierarchy.linkage(vectors, method="average", metric="cosine"),
                                2, criterion="maxclust")
    assert np.array_equal(voice_compare._two_clusters(vectors), direct)  # under the cap
    monkeypatch.setattr(voice_compare, "MAX_CLUSTERED", 100)  # every 4th window clustered
    labels = voice_compare._two_clusters(vectors)
    assert len(set(labels[:300])) == 1 and len(set(labels[300:])) == 1
    assert labels[0] != labels[-1]


# --- timing -----------------------------------------------------------------------------

@pytest.mark.parametrize("sr", [8000, 16000, 44100])
def test_resampling_in_blocks_is_one_resample_poly(sr):
    y = speech_like(20.0, sr=sr, seed=7)
    g = np.gcd(sr, enf.SR)
    whole = signal.resample_poly(y.astype(np.float64), enf.SR // g, sr // g)
    blocked = enf.resample_blocks(y, up=enf.SR // g, down=sr // g, block=1500)
    assert blocked.shape == whole.shape
    np.testing.assert_allclose(blocked, whole, rtol=0, atol=1e-12)


def test_harmonic_tracks_in_blocks_match_one_spectrogram(monkeypatch):
    x = enf.to_analysis_rate(speech_like(40.0, seed=8), SR)
    monkeypatch.setattr(enf, "FRAME_BLOCK", 5)
    tracks = enf.harmonic_tracks(x, [50, 60], enf.SR / 2 * 0.95)
    # the slow twin: every frame's whole spectrum at once
    n, hop = int(enf.WINDOW * enf.SR), int(enf.HOP * enf.SR)
    frames = np.lib.stride_tricks.sliding_window_view(x, n)[::hop] * signal.get_window("hann", n)
    spec_db = 10 * np.log10(np.abs(fft.rfft(frames, n=enf.N_FFT, axis=1)) ** 2 + 1e-20)
    freqs = fft.rfftfreq(enf.N_FFT, 1 / enf.SR)
    for nominal, per in tracks.items():
        assert list(per) == [h for h in enf.HARMONICS[nominal]
                             if h * nominal + 4 * h * enf.SEARCH < enf.SR / 2 * 0.95]
        for h, (f, snr) in per.items():
            f2, snr2 = enf._harmonic_track(spec_db, freqs, h * nominal, h * enf.SEARCH)
            np.testing.assert_allclose(f, f2, rtol=0, atol=1e-9)
            np.testing.assert_allclose(snr, snr2, rtol=0, atol=1e-9)


def test_demodulated_hum_in_blocks_matches_one_pass(monkeypatch):
    y = speech_like(60.0, seed=9)
    x = enf.to_analysis_rate(y, SR)
    trace = enf.extract(x, sr=enf.SR)
    assert trace.present
    h = 1
    monkeypatch.setattr(enf, "PHASE_BLOCK", 10_000)  # 6 blocks
    z = enf.demodulated(x, trace, h)
    # the slow twin: the whole recording filtered, transformed and demodulated at once
    centre = h * trace.nominal
    sos = signal.butter(4, [centre - 1.5 * h, centre + 1.5 * h], btype="bandpass",
                        fs=enf.SR, output="sos")
    analytic = signal.hilbert(signal.sosfiltfilt(sos, x))
    f = np.interp(np.arange(len(x)) / enf.SR, trace.t,
                  np.nan_to_num(trace.freq, nan=float(np.nanmedian(trace.freq))))
    whole = analytic * np.exp(-1j * 2 * np.pi * h * np.cumsum(f) / enf.SR)
    whole = whole[: len(whole) // 20 * 20].reshape(-1, 20).mean(axis=1)
    assert z.shape == whole.shape
    inner = slice(50, -50)  # the first and last second: each pass has its own edge effects
    err = np.abs(z[inner] - whole[inner]) / np.median(np.abs(whole))
    assert err.max() < 1e-3


def test_enf_memory_does_not_grow_with_the_recording(monkeypatch):
    monkeypatch.setattr(enf, "FRAME_BLOCK", 16)  # 9 and 37 blocks of spectra
    monkeypatch.setattr(enf, "PHASE_BLOCK", 20_000)
    short = enf.to_analysis_rate(speech_like(150.0, seed=10), SR)
    long = np.tile(short, 4)

    def steps(x):
        trace = enf.extract(x, sr=enf.SR)
        enf.discontinuities(x, sr=enf.SR, trace=trace)

    a, b = peak_traced(steps, short), peak_traced(steps, long)
    # one spectrogram of the whole recording would be 4x (10 min: 160 MB); blocks stay put
    assert b < 1.3 * a, (a, b)


def test_blocked_correlation_matches_the_direct_sum(monkeypatch):
    rng = np.random.default_rng(11)
    log = 50 + np.cumsum(rng.normal(0, 0.002, 5000))
    log[1200:1260] = np.nan  # a gap
    trace = log[3000:3300] + rng.normal(0, 0.001, 300)
    trace[[5, 77, 200]] = np.nan
    weights = rng.uniform(0.2, 1, 300)
    monkeypatch.setattr(locate, "LAG_BLOCK", 700)  # 7 blocks of lags
    c = locate.correlate(trace, weights, log)
    assert np.nanargmax(c) == 3000
    # the slow twin: the weighted correlation written out at a few lags
    w = np.where(np.isfinite(trace), weights, 0.0)
    for k in (0, 699, 700, 1000, 1150, 3000, 4700):
        seg = log[k:k + 300]
        ww = np.where(np.isfinite(seg), w, 0.0)
        if ww.sum() < locate.MIN_OVERLAP * w.sum():
            assert np.isnan(c[k])
            continue
        xs, rs = np.nan_to_num(trace), np.nan_to_num(seg)
        xm, rm = (ww * xs).sum() / ww.sum(), (ww * rs).sum() / ww.sum()
        expected = (ww * (xs - xm) * (rs - rm)).sum() / np.sqrt(
            (ww * (xs - xm) ** 2).sum() * (ww * (rs - rm) ** 2).sum())
        assert c[k] == pytest.approx(expected, abs=1e-9)


def test_placing_a_trace_needs_memory_for_the_scores_only():
    rng = np.random.default_rng(12)
    trace = enf.Trace(t=np.arange(600) + 4.0, freq=50 + rng.normal(0, 0.01, 600),
                      snr_db=np.full(600, 20.0), nominal=50, harmonics=(1,),
                      harmonic_snr_db={1: 20.0}, roughness=0.001, present=True)
    start = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)

    def place(days):
        log = grid.GridLog(start, 50 + np.cumsum(rng.normal(0, 0.002, days * 86400)))
        return peak_traced(locate.locate, trace, log), log.freq.nbytes

    (a, na), (b, nb) = place(3), place(12)
    # the scores and their z values are a few copies of the log's length; FFTs over the
    # whole log at once would add a dozen more
    assert b - a < 8 * (nb - na), (a, b)
