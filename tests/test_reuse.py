"""Reuse: landmarks, index and matcher on real speech (the bundled demo recordings)."""

from __future__ import annotations

import io
import json

import av
import numpy as np
import pytest

from purport import demo, ingest, media
from purport.archive import Archive
from purport.assess.reuse import load_index, match_file
from purport.reuse import Index, fingerprint, from_bytes, match, match_self, to_bytes

SR = 16000
FILES = {1: "fulan_2019-03-01_address.ogg", 2: "fulan_2020-06-15_sermon.mp3",
         3: "zayd_2020-01-10_statement.m4a"}


@pytest.fixture(scope="module")
def refs() -> dict[int, np.ndarray]:
    return {rid: media.load(demo.data_dir() / name, sr=SR).y for rid, name in FILES.items()}


@pytest.fixture(scope="module")
def index(refs) -> Index:
    idx = Index()
    for rid, y in refs.items():
        idx.add(rid, fingerprint(y, sr=SR))
    return idx


def cut(y: np.ndarray, start: float, seconds: float) -> np.ndarray:
    return y[int(start * SR):int((start + seconds) * SR)]


def speed(y: np.ndarray, factor: float) -> np.ndarray:
    """Play ``factor`` times faster (tempo and pitch together), as a resampled upload."""
    return media.resample(y, orig_sr=SR, target_sr=int(round(SR / factor)))


def mp3_round_trip(y: np.ndarray, bit_rate: int) -> np.ndarray:
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=SR)
        stream.layout = "mono"
        stream.bit_rate = bit_rate
        frame = av.AudioFrame.from_ndarray((y * 32767).astype(np.int16)[None], format="s16",
                                           layout="mono")
        frame.sample_rate = SR
        for f in av.AudioResampler(format="s16p", layout="mono", rate=SR).resample(frame):
            for packet in stream.encode(f):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    buf.seek(0)
    with av.open(buf) as inp:
        chunks = [f.to_ndarray().reshape(-1) for f in inp.decode(audio=0)]
    return np.concatenate(chunks).astype(np.float32)


def noisy(y: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(len(y)).astype(np.float32)
    scale = np.sqrt(np.mean(y**2) / np.mean(noise**2) / 10 ** (snr_db / 10))
    return y + scale * noise


def test_exact_excerpt_is_found_with_its_span(index, refs):
    (m, *_) = match(index, fingerprint(cut(refs[2], 12.0, 10.0), sr=SR))
    assert m.recording_id == 2
    assert m.ref_start == pytest.approx(12.0, abs=0.25)
    assert m.ref_end == pytest.approx(22.0, abs=0.25)
    assert m.time_factor == pytest.approx(1.0, abs=0.01)
    assert m.pitch_factor == pytest.approx(1.0, abs=0.01)
    assert m.false_match_probability < 1e-6


@pytest.mark.parametrize("degrade", [
    lambda y: mp3_round_trip(y, 32000),
    lambda y: noisy(y, 10.0),
    lambda y: noisy(mp3_round_trip(y, 64000), 5.0),
], ids=["mp3-32k", "noise-10dB", "mp3-64k-noise-5dB"])
def test_degraded_copy_is_found(index, refs, degrade):
    matches = match(index, fingerprint(degrade(cut(refs[1], 20.0, 10.0)), sr=SR))
    assert matches and matches[0].recording_id == 1
    assert matches[0].ref_start == pytest.approx(20.0, abs=0.5)


@pytest.mark.parametrize("factor", [0.9, 0.95, 1.05, 1.1])
def test_speed_changed_copy_reports_its_factors_within_one_percent(index, refs, factor):
    (m, *_) = match(index, fingerprint(speed(cut(refs[3], 8.0, 10.0), factor), sr=SR))
    assert m.recording_id == 3
    assert m.time_factor == pytest.approx(1 / factor, rel=0.01)
    assert m.pitch_factor == pytest.approx(factor, rel=0.01)
    assert m.ref_start == pytest.approx(8.0, abs=0.25)
    assert m.ref_end == pytest.approx(18.0, abs=0.25)


def test_compilation_is_found_as_separate_segments_with_boundaries(index, refs):
    pieces = [(1, 3.0, 8.0), (3, 30.0, 6.0), (2, 10.0, 9.0)]
    y = np.concatenate([cut(refs[rid], start, secs) for rid, start, secs in pieces])
    found = sorted(match(index, fingerprint(y, sr=SR)), key=lambda m: m.query_start)
    assert [m.recording_id for m in found] == [1, 3, 2]
    q = 0.0
    for m, (_, start, secs) in zip(found, pieces, strict=True):
        assert m.query_start == pytest.approx(q, abs=0.25)
        assert m.query_end == pytest.approx(q + secs, abs=0.25)
        assert m.ref_start == pytest.approx(start, abs=0.25)
        q += secs


def test_same_voice_saying_the_same_words_again_is_not_a_match(index):
    # other takes of the same digits by the voice of recording 3: new audio, not re-use
    y = media.load(demo.data_dir() / "questioned_2024-05-02_voice_note.ogg", sr=SR).y
    assert match(index, fingerprint(y, sr=SR)) == []


def test_synthetic_non_speech_is_not_matched(index):
    rng = np.random.default_rng(7)
    t = np.arange(10 * SR) / SR
    y = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) for f in (220, 330, 550)) / 3
    y = (y * (0.5 + 0.5 * np.sin(2 * np.pi * 1.3 * t)) + 0.05 * rng.standard_normal(len(t)))
    assert match(index, fingerprint(y.astype(np.float32), sr=SR)) == []


def _flat_index(fps: dict[int, object]) -> Index:
    """The same triplets, unsorted, in one flat table: the brute-force reference."""
    flat = Index()
    flat.hash = np.concatenate([fp.hash for fp in fps.values()])
    flat.rec = np.concatenate([np.full(len(fp), rid, np.int32) for rid, fp in fps.items()])
    flat.t1 = np.concatenate([fp.t1 for fp in fps.values()])
    flat.span = np.concatenate([fp.span for fp in fps.values()])
    flat.f1 = np.concatenate([fp.f1.astype(np.float16) for fp in fps.values()])
    flat.peaks = {rid: fp.peaks for rid, fp in fps.items()}
    flat.durations = {rid: fp.duration for rid, fp in fps.items()}
    flat.levels = {rid: fp.level for rid, fp in fps.items()}
    return flat


def _brute_force_lookup(flat: Index):
    def lookup(hashes, max_count=None):
        q, e = [], []
        for pos, h in enumerate(hashes.tolist()):
            hit = np.flatnonzero(flat.hash == h)
            if max_count is not None and len(hit) > max_count:
                continue
            q += [pos] * len(hit)
            e += hit.tolist()
        return np.array(q, dtype=np.int64), np.array(e, dtype=np.int64)
    return lookup


def test_fast_index_agrees_with_brute_force_matcher(refs):
    fps = {rid: fingerprint(y, sr=SR) for rid, y in refs.items()}
    fast = Index()
    for rid in (3, 1, 2):  # incremental, out of order
        fast.add(rid, fps[rid])
    flat = _flat_index(fps)
    pieces = [cut(refs[1], 2.0, 6.0), speed(cut(refs[2], 25.0, 8.0), 1.05)]
    query = fingerprint(np.concatenate(pieces), sr=SR)
    from purport.reuse.match import hits
    a = hits(fast, query)
    b = hits(flat, query, lookup=_brute_force_lookup(flat))

    def rows(h):
        return sorted(zip(h.trip.tolist(), h.rec.tolist(), h.r_t1.tolist(), h.scale.tolist(),
                          h.shift.tolist(), strict=True))
    assert len(a.trip) > 1000
    assert rows(a) == rows(b)
    assert match(fast, query) == match(flat, query, lookup=_brute_force_lookup(flat))


def test_incremental_add_and_remove_equal_a_fresh_build(refs):
    fps = {rid: fingerprint(y, sr=SR) for rid, y in refs.items()}
    grown = Index()
    grown.add(1, fps[1])
    grown.add(2, fps[2])
    grown.add(3, fps[3])
    grown.remove(2)
    fresh = Index()
    fresh.add_many([(1, fps[1]), (3, fps[3])])
    for name in ("hash", "rec", "t1", "span", "f1"):
        a, b = getattr(grown, name), getattr(fresh, name)
        order_a = np.lexsort((grown.t1, grown.rec, grown.hash))
        order_b = np.lexsort((fresh.t1, fresh.rec, fresh.hash))
        assert np.array_equal(a[order_a], b[order_b]), name
    assert np.all(np.diff(grown.hash.astype(np.int64)) >= 0)
    assert grown.recording_ids == [1, 3]


def test_fingerprint_bytes_round_trip(refs):
    fp = fingerprint(cut(refs[1], 0, 20), sr=SR)
    back = from_bytes(to_bytes(fp))
    assert np.array_equal(back.hash, fp.hash) and np.array_equal(back.t1, fp.t1)
    assert np.allclose(back.f1, fp.f1, atol=0.1) and back.duration == fp.duration
    assert len(to_bytes(fp)) < fp.nbytes


def test_copy_paste_inside_one_recording_is_found_by_self_match(refs):
    y = refs[1]
    edited = np.concatenate([cut(y, 0, 12), cut(y, 20, 8), cut(y, 3, 6)])  # 3-9 s again at 20 s
    (m, *rest) = match_self(fingerprint(edited, sr=SR))
    assert m.query_start == pytest.approx(20.0, abs=0.3)
    assert m.query_end == pytest.approx(26.0, abs=0.3)
    assert m.ref_start == pytest.approx(3.0, abs=0.3)
    assert rest == []
    assert match_self(fingerprint(cut(y, 0, 20), sr=SR)) == []


def test_archive_index_survives_restart_and_follows_add_and_remove(db_url, tmp_path):
    db = db_url
    with Archive.init(db, store_dir=tmp_path / "s") as archive:
        ingest.add_files(archive, [demo.data_dir() / FILES[1], demo.data_dir() / FILES[2]],
                         role="reference")
    query = tmp_path / "q.wav"
    y = media.load(demo.data_dir() / FILES[2], sr=SR).y
    _write_wav(query, cut(y, 5.0, 10.0))
    with Archive(db, store_dir=tmp_path / "s") as archive:  # as a new process would
        assert load_index(archive).recording_ids == [1, 2]
        report = match_file(archive, query)
        assert [m["recording_id"] for m in report.matches] == [2]
        assert report.matches[0]["name"] == FILES[2]
        archive.remove_recording(2)
        assert load_index(archive).recording_ids == [1]
        report = match_file(archive, query)
        assert report.matches == [] and report.summary.startswith("nothing in the archive")


def _write_wav(path, y):
    import wave
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes((np.clip(y, -1, 1) * 32767).astype("<i2").tobytes())


def test_cli_match_prints_the_promised_json(tmp_path, capsys, monkeypatch):
    from purport.cli import main

    db = str(tmp_path / "a.db")
    monkeypatch.setenv("PURPORT_STORE", str(tmp_path / "s"))
    for argv in (["init", "--db", db],
                 ["add", str(demo.data_dir() / FILES[1]), "--role", "reference", "--db", db]):
        with pytest.raises(SystemExit):
            main(argv)
    y = media.load(demo.data_dir() / FILES[1], sr=SR).y
    query = tmp_path / "q.wav"
    _write_wav(query, speed(cut(y, 10.0, 10.0), 1.05))
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(["match", str(query), "--json", "--db", db])
    assert exit_.value.code == 0
    data = json.loads(capsys.readouterr().out)
    (m,) = data["matches"]
    for key in ("recording_id", "sha256", "name", "query_start", "query_end", "ref_start",
                "ref_end", "time_factor", "pitch_factor", "score", "false_match_probability"):
        assert key in m
    assert m["name"] == FILES[1] and 0 < m["false_match_probability"] < 1e-3
    assert data["query"]["name"] == "q.wav" and data["method"] and data["limits"]
    with pytest.raises(SystemExit) as exit_:
        main(["match", str(tmp_path / "missing.ogg"), "--db", db])
    assert exit_.value.code == 1
    with pytest.raises(SystemExit):
        main(["index", "stats", "--json", "--db", db])
    stats = json.loads(capsys.readouterr().out)
    assert stats["recordings"] == 1 and stats["disk_mb_per_hour"] > 0


def test_cached_index_is_used_and_follows_archive_changes(db_url, tmp_path):
    from purport.assess.reuse import cache_folder

    db = db_url
    with Archive.init(db, store_dir=tmp_path / "s") as archive:
        ingest.add_files(archive, [demo.data_dir() / FILES[1]], role="reference")
        first = load_index(archive)
        assert (cache_folder(archive) / "meta.json").is_file()
        again = load_index(archive)
        assert isinstance(again.hash, np.memmap)  # served from the cache
        assert np.array_equal(again.hash, first.hash) and again.recording_ids == [1]
        ingest.add_files(archive, [demo.data_dir() / FILES[2]], role="reference")
        grown = load_index(archive)
        fresh = load_index(archive, use_cache=False)
        assert grown.recording_ids == fresh.recording_ids == [1, 2]
        assert np.array_equal(np.sort(grown.hash), np.sort(fresh.hash))
        archive.remove_recording(1)
        assert load_index(archive).recording_ids == [2]


def test_recordings_fingerprinted_by_an_older_method_are_named_as_not_searched(tmp_path):
    from purport.assess.reuse import match_file as match_in_archive

    with Archive.init(str(tmp_path / "a.db"), store_dir=tmp_path / "s") as archive:
        (added,) = ingest.add_files(archive, [demo.data_dir() / FILES[1]], role="reference")
        rid = added.recording.id
        with archive.transaction() as txn:
            archive.delete_fingerprints(txn=txn)
            archive.put_fingerprint(rid, method="purport-triplets-v1", n_hashes=0, seconds=1.0,
                                    data=b"old", txn=txn)
        report = match_in_archive(archive, demo.data_dir() / FILES[2])
        assert report.reference["not_searched"] == [rid]
        assert "purport index rebuild" in report.summary


def test_a_cut_keeps_the_peaks_of_the_recording_it_was_cut_from():
    """Peak picking ranks in a sliding second, so where a cut starts does not change which
    peaks it keeps (fixed one-second blocks kept others, and lost exact 5-s copies)."""
    from purport.reuse.landmarks import FRAME, HOP, SR, peaks_and_level
    from tests.speechlike import speech

    y = speech(60.0, seed=11, sr=SR).astype(np.float32)
    whole, _ = peaks_and_level(y)
    for first in (37, 101, 700, 1313):  # cuts starting at frames that no block would align
        cut, _ = peaks_and_level(y[first * HOP:first * HOP + int(10 / FRAME) * HOP])
        lo, hi = first + 64, first + int(10 / FRAME) - 64  # a second in from both edges
        inner = (whole.t >= lo) & (whole.t < hi)
        expected = set(zip(whole.t[inner] - first, np.round(whole.f[inner], 3), strict=True))
        got_inner = (cut.t >= 64) & (cut.t < hi - first)
        got = set(zip(cut.t[got_inner], np.round(cut.f[got_inner], 3), strict=True))
        assert len(expected) > 100
        assert len(got ^ expected) <= 0.02 * len(expected)


# -- repeats inside one recording that carry no information -----------------------------

def _gated(y: np.ndarray, seed: int) -> np.ndarray:
    """``y`` with silences of 0.1-0.6 s after every 0.3-1.4 s of sound."""
    rng = np.random.default_rng(seed)
    gate, pos = np.ones(len(y)), 0
    while pos < len(y):
        on, off = int(rng.uniform(0.3, 1.4) * SR), int(rng.uniform(0.1, 0.6) * SR)
        gate[pos + on:pos + on + off] = 0
        pos += on + off
    return y * gate


def _tone_like(kind: str, seconds: float) -> tuple[np.ndarray, int]:
    t = np.arange(int(seconds * SR)) / SR
    square = 0.3 * np.sign(np.sin(2 * np.pi * 440 * t))
    y = {"square": square, "square-220": 0.3 * np.sign(np.sin(2 * np.pi * 220 * t)),
         "tone-with-silences": _gated(0.5 * np.sin(2 * np.pi * 440 * t), seed=2),
         "tone": 0.5 * np.sin(2 * np.pi * 440 * t)}[kind.removesuffix("-8k")]
    if kind.endswith("-8k"):
        return media.resample(y.astype(np.float32), orig_sr=SR, target_sr=8000), 8000
    return y, SR


@pytest.mark.parametrize("kind, seconds", [
    ("tone", 30.0), ("tone-8k", 30.0),          # no peaks at all (landmarks v2)
    ("square", 30.0), ("square-8k", 30.0),      # were repeats at fmp 3e-17 and 6e-18
    ("tone-with-silences", 120.0),              # was a repeat at 4e-3
    ("square-220", 120.0),                      # was a repeat overlapping its source, 4e-14
])
def test_tone_like_audio_does_not_repeat_itself(kind, seconds):
    y, sr = _tone_like(kind, seconds)
    assert match_self(fingerprint(np.asarray(y, np.float32), sr=sr)) == []


@pytest.mark.parametrize("background", ["none", "hum", "square"])
def test_a_pasted_passage_is_still_found_over_a_steady_background(background):
    from tests.speechlike import speech

    y = speech(40.0, seed=5)
    t = np.arange(int(46 * SR)) / SR
    edited = np.concatenate([y[:25 * SR], y[5 * SR:11 * SR], y[25 * SR:]])
    edited = edited + {"none": 0.0,
                       "hum": 0.05 * sum(np.sin(2 * np.pi * 50 * k * t) / k for k in range(1, 8)),
                       "square": 0.3 * np.sign(np.sin(2 * np.pi * 440 * t))}[background]
    (m,) = match_self(fingerprint(edited.astype(np.float32), sr=SR))
    # the copy (25-31 s) repeats 5-11 s; a loud steady background blurs the boundaries
    assert m.query_start - m.ref_start == pytest.approx(20.0, abs=0.1)
    assert m.query_start <= 26.0 and m.query_end >= 30.0
    assert m.false_match_probability < 1e-10


def test_a_passage_pasted_three_times_in_a_row_is_still_found():
    """Its copies overlap their sources at one lag, but not at twice that lag."""
    from tests.speechlike import speech

    y = speech(40.0, seed=6)
    loop = y[10 * SR:14 * SR]
    edited = np.concatenate([y[:20 * SR], loop, loop, loop, y[20 * SR:]])
    found = match_self(fingerprint(edited.astype(np.float32), sr=SR))
    assert any(abs(m.query_start - 28.0) < 1.0 and abs(m.ref_start - 20.0) < 1.0
               for m in found), found


def test_a_file_fingerprint_of_a_square_wave_does_not_repeat(tmp_path):
    t = np.arange(30 * SR) / SR
    from tests.conftest import save_wav

    path = save_wav(tmp_path / "square.wav", 0.3 * np.sign(np.sin(2 * np.pi * 440 * t)))
    from purport.assess.reuse import fingerprint_signal

    fp = fingerprint_signal(media.load(path, sr=media.SR))
    assert match_self(fp) == []


def test_an_index_match_is_unchanged_by_the_self_rules():
    from tests.speechlike import speech

    y = speech(60.0, seed=9)
    index = Index()
    index.add(1, fingerprint(y, sr=SR))
    (m,) = match(index, fingerprint(y[12 * SR:24 * SR], sr=SR))
    assert m.recording_id == 1 and m.ref_start == pytest.approx(12.0, abs=0.3)
