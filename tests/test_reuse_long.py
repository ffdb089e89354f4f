"""Reuse at the size of the work: whole recordings swept, long messages, compilations, repeats.

The recordings are seeded speech-like audio (tests/speechlike.py): minutes of material that
no TTS voice or bundled file has to supply, with digital silence or room tone between words.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from purport import media
from purport.reuse import Index, fingerprint, match, match_self
from purport.reuse.landmarks import peaks_and_level
from tests.speechlike import speech

SR = 16000
LENGTHS = {1: 300.0, 2: 240.0, 3: 180.0}


@pytest.fixture(scope="module")
def refs() -> dict[int, np.ndarray]:
    return {rid: speech(secs, seed=40 + rid, silence="digital" if rid == 2 else "room")
            for rid, secs in LENGTHS.items()}


@pytest.fixture(scope="module")
def index(refs) -> Index:
    idx = Index()
    idx.add_many([(rid, fingerprint(y, sr=SR)) for rid, y in refs.items()])
    return idx


def cut(y: np.ndarray, start: float, seconds: float) -> np.ndarray:
    return y[int(round(start * SR)):int(round((start + seconds) * SR))]


def speed(y: np.ndarray, factor: float) -> np.ndarray:
    """Play ``factor`` times faster (tempo and pitch together), as a resampled upload."""
    return media.resample(y, orig_sr=SR, target_sr=int(round(SR / factor)))


@pytest.mark.parametrize("seconds", [5.0, 10.0])
def test_every_exact_cut_of_every_indexed_recording_is_found_in_place(index, refs, seconds):
    missed = []
    for rid, y in refs.items():
        for start in np.arange(0.0, LENGTHS[rid] - seconds + 1e-9, 7.3):
            found = match(index, fingerprint(cut(y, start, seconds), sr=SR))
            if not (found and found[0].recording_id == rid
                    and abs(found[0].ref_start - start) <= 0.25
                    and found[0].false_match_probability <= 1e-2):
                missed.append((rid, round(float(start), 1), found[:1]))
    assert missed == []


def test_excerpt_at_speed_103_deep_inside_a_30_minute_message_is_found_with_its_bounds(
        index, refs):
    fresh = speech(1800.0, seed=7)
    excerpt = speed(cut(refs[1], 100.0, 180.0), 1.03)
    at = 1000.0
    query = np.concatenate([fresh[:int(at * SR)], excerpt, fresh[int(at * SR):]])
    (m,) = match(index, fingerprint(query, sr=SR))
    assert m.recording_id == 1
    assert m.query_start == pytest.approx(at, abs=0.5)
    assert m.query_end == pytest.approx(at + len(excerpt) / SR, abs=0.5)
    assert m.ref_start == pytest.approx(100.0, abs=0.5)
    assert m.ref_end == pytest.approx(280.0, abs=0.5)
    assert m.time_factor == pytest.approx(1 / 1.03, rel=0.002)


def test_compilation_of_three_pieces_gives_three_spans(index, refs):
    pieces = [(2, 30.0, 45.0, 1.0), (1, 200.0, 60.0, 0.95), (3, 10.0, 40.0, 1.0)]
    parts = [speed(cut(refs[rid], start, secs), f) for rid, start, secs, f in pieces]
    found = sorted(match(index, fingerprint(np.concatenate(parts), sr=SR)),
                   key=lambda m: m.query_start)
    assert [m.recording_id for m in found] == [2, 1, 3]
    q = 0.0
    for m, part, (_, start, _, _) in zip(found, parts, pieces, strict=True):
        assert m.query_start == pytest.approx(q, abs=0.5)
        assert m.query_end == pytest.approx(q + len(part) / SR, abs=0.5)
        assert m.ref_start == pytest.approx(start, abs=0.5)
        q += len(part) / SR


def test_whole_reupload_at_changed_speed_is_one_span_covering_it(index, refs):
    query = speed(cut(refs[1], 2.0, LENGTHS[1] - 4.0), 0.97)
    (m,) = match(index, fingerprint(query, sr=SR))
    assert m.recording_id == 1
    assert m.query_start == pytest.approx(0.0, abs=0.5)
    assert m.query_end == pytest.approx(len(query) / SR, abs=0.5)
    assert m.ref_start == pytest.approx(2.0, abs=0.5)


def test_fresh_speech_of_half_an_hour_matches_nothing(index):
    assert match(index, fingerprint(speech(1800.0, seed=8), sr=SR)) == []


def test_passage_repeated_minutes_later_in_a_long_recording_is_found_by_self_match():
    y = speech(840.0, seed=77)
    passage = cut(y, 100.0, 45.0)
    edited = np.concatenate([y[:int(640 * SR)], passage, y[int(640 * SR):]])
    (m,) = match_self(fingerprint(edited, sr=SR))
    assert m.query_start == pytest.approx(640.0, abs=0.5)
    assert m.query_end == pytest.approx(685.0, abs=0.5)
    assert m.ref_start == pytest.approx(100.0, abs=0.5)


@pytest.mark.parametrize("kind", ["tone", "hum", "room-noise", "speech-over-hum"])
def test_steady_sound_does_not_repeat_itself(kind):
    rng = np.random.default_rng(3)
    t = np.arange(int(180 * SR)) / SR
    hum = sum(np.sin(2 * np.pi * 50 * k * t) / k for k in range(1, 8))
    y = {"tone": 0.3 * np.sin(2 * np.pi * 440 * t) + 1e-3 * rng.standard_normal(len(t)),
         "hum": 0.05 * hum + 3e-3 * rng.standard_normal(len(t)),
         "room-noise": 0.01 * rng.standard_normal(len(t)),
         "speech-over-hum": speech(180.0, seed=5) + 0.02 * hum}[kind]
    assert match_self(fingerprint(y.astype(np.float32), sr=SR)) == []


def _peak_bytes(fn, *args) -> int:
    tracemalloc.start()
    try:
        fn(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_fingerprint_memory_does_not_grow_with_the_recording():
    short, long = speech(120.0, seed=1, sr=8000), speech(480.0, seed=1, sr=8000)
    assert _peak_bytes(peaks_and_level, long) < 1.5 * _peak_bytes(peaks_and_level, short)


def test_match_memory_stays_flat_as_the_query_grows(index):
    short = fingerprint(speech(300.0, seed=11), sr=SR)
    long = fingerprint(speech(1200.0, seed=11), sr=SR)
    assert _peak_bytes(match, index, long) < 2.0 * _peak_bytes(match, index, short)
