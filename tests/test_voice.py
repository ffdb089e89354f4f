"""Voice: embeddings, calibration, consistency and the archive's speaker profiles."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest

from purport import demo, ingest, media
from purport.archive import Archive
from purport.assess.voice import check_file, compare_audio
from purport.errors import NotFoundError
from purport.voice import (
    calibrate,
    compare,
    default_calibration,
    embed_recording,
    population_scores,
    verbal,
)
from purport.voice.conditions import codec_like, reference_rendering

from .conftest import SHARED_DATA

SR = 16000
FSDD = SHARED_DATA / "fsdd"
needs_fsdd = pytest.mark.skipif(not FSDD.is_dir(),
                                reason=f"needs the FSDD speech in {FSDD} (../shared/data)")


def demo_audio(name: str) -> np.ndarray:
    return media.load(demo.data_dir() / name, sr=SR).y


@pytest.fixture(scope="module")
def fulan() -> np.ndarray:
    return demo_audio("fulan_2019-03-01_address.ogg")


@pytest.fixture(scope="module")
def zayd() -> np.ndarray:
    return demo_audio("zayd_2020-01-10_statement.m4a")


def fsdd_recording(speaker: str, takes: range) -> np.ndarray:
    parts = []
    for t in takes:
        for d in range(10):
            with wave.open(str(FSDD / f"{d}_{speaker}_{t}.wav")) as w:
                y = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32)
            parts += [y / 32768, np.zeros(1200, np.float32)]
    return np.concatenate(parts)


@pytest.fixture(scope="module")
def fsdd_population():
    speakers = ["jackson", "nicolas", "theo", "yweweler"]
    embedded = {s: [embed_recording(fsdd_recording(s, range(t, t + 1)), sr=8000)
                    for t in range(0, 12)] for s in speakers}
    vectors = [e.vector for s in speakers for e in embedded[s]]
    names = [s for s in speakers for _ in embedded[s]]
    windows = [e.window_vectors for s in speakers for e in embedded[s]]
    return population_scores(vectors, names, windows)


@needs_fsdd
def test_same_speaker_scores_above_different_speakers_over_many_trials(fsdd_population):
    scores, same = fsdd_population["scores"], fsdd_population["same"]
    assert same.sum() > 200 and (~same).sum() > 800
    # the probability that a random same-speaker pair outscores a random different one
    auc = np.mean(scores[same][:, None] > scores[~same][None, :])
    assert auc > 0.97
    assert np.median(scores[same]) > np.percentile(scores[~same], 95)


@needs_fsdd
def test_calibration_is_monotonic_and_informative_on_held_out_speakers(fsdd_population):
    cal = calibrate(name="fsdd-test", encoder="resemblyzer-ge2e", population="fsdd",
                    **fsdd_population)
    assert cal.slope > 0 and cal.window_slope > 0
    grid = np.linspace(-1, 1, 41)
    llrs = [cal.llr(s) for s in grid]
    assert all(b >= a for a, b in zip(llrs, llrs[1:], strict=False))
    assert cal.cllr < 1.0  # better than no information, on speakers left out of the fit
    assert "held" not in cal.validation or "scored on pairs of the others" in cal.validation


def test_default_calibration_names_its_population_and_caps_scores():
    cal = default_calibration()
    assert cal.population and cal.notes and 0 < cal.cllr < 1
    assert cal.llr(5.0) == cal.llr(cal.score_max)
    assert cal.llr(-5.0) == cal.llr(cal.score_min)
    assert cal.llr(cal.score_max) <= np.log(cal.n_different) + 1e-9


def test_verbal_scale_is_symmetric_and_never_a_verdict():
    assert verbal(2.5).startswith("moderately strong support for the claimed speaker")
    assert verbal(-2.5).startswith("moderately strong support for a different speaker")
    assert "no real support" in verbal(0.1)
    for x in (-7, -3, -1, 0, 1, 3, 7):
        assert "authentic" not in verbal(x) and "is the speaker" not in verbal(x)


def test_claimed_speaker_gets_lr_above_one_and_another_voice_below(fulan, zayd):
    cal = default_calibration()
    refs = [fulan[: 25 * SR]]
    same = compare_audio(fulan[25 * SR:], refs, cal, sr=SR)
    other = compare_audio(zayd[: 20 * SR], refs, cal, sr=SR)
    assert same.llr > 0 > other.llr
    assert same.calibration["name"] == cal.name and same.segments
    assert same.net_speech_seconds["questioned"] > 10


def test_second_speaker_spliced_in_gets_its_windows_flagged(fulan, zayd):
    cal = default_calibration()
    mixed = np.concatenate([fulan[: 24 * SR], zayd[: 12 * SR]])
    report = compare_audio(mixed, [fulan[24 * SR:]], cal, sr=SR)
    flagged = [s for s in report.segments if s.different_voice]
    assert flagged, report.consistency
    assert all(s.end > 22.0 for s in flagged)  # only windows reaching into the splice
    assert any("different voice" in w for w in report.warnings)
    single = compare_audio(fulan[: 30 * SR], [fulan[30 * SR:]], cal, sr=SR)
    assert not any(s.different_voice for s in single.segments)


def test_silence_and_half_a_second_of_speech_are_reported_not_scored(fulan):
    cal = default_calibration()
    refs = [embed_recording(fulan[: 20 * SR], sr=SR)]
    silent = compare(embed_recording(np.zeros(5 * SR, np.float32), sr=SR), refs, cal)
    assert silent.llr is None and "too little speech" in silent.verbal
    assert silent.verbal.startswith("no comparison")
    short = embed_recording(np.r_[np.zeros(SR, np.float32), fulan[21 * SR: int(21.6 * SR)],
                                  np.zeros(SR, np.float32)], sr=SR)
    report = compare(short, refs, cal)
    assert any("net speech" in w for w in report.warnings)


def test_same_input_gives_the_same_llr(fulan):
    cal = default_calibration()
    a = compare_audio(fulan[:12 * SR], [fulan[20 * SR:]], cal, sr=SR)
    b = compare_audio(fulan[:12 * SR], [fulan[20 * SR:]], cal, sr=SR)
    assert a.llr == b.llr and [s.llr for s in a.segments] == [s.llr for s in b.segments]


def test_archive_profile_follows_reference_changes(tmp_path):
    db = str(tmp_path / "a.db")
    with Archive.init(db, store_dir=tmp_path / "s") as archive:
        archive.add_speaker("Abu Fulan")
        files = [demo.data_dir() / "fulan_2019-03-01_address.ogg",
                 demo.data_dir() / "fulan_2020-06-15_sermon.mp3"]
        ingest.add_files(archive, files, speaker="Abu Fulan", role="reference")
        q = demo.data_dir() / "questioned_2024-05-02_voice_note.ogg"
        first = check_file(archive, q, "Abu Fulan", default_calibration())
        assert len(first.references) == 2 and first.llr < 0
        # cached, as rendered like this questioned recording (its channel is degraded)
        signal = media.load(q, sr=SR)
        quality = embed_recording(signal.y, sr=SR).quality
        _, like = reference_rendering(quality, codec_like(signal.info.codec,
                                                          signal.info.bit_rate))
        assert archive.voice_embedding(1, f"resemblyzer-ge2e/v3/{like.tag}") is not None
        archive.remove_recording(2)
        second = check_file(archive, q, "Abu Fulan", default_calibration())
        assert second.references == ["recording 1 fulan_2019-03-01_address.ogg"]
        with pytest.raises(NotFoundError):
            check_file(archive, q, "Nobody", default_calibration())


def test_cli_voice_compare_prints_llr_json(capsys, tmp_path):
    from purport.cli import main

    d = demo.data_dir()
    with pytest.raises(SystemExit) as exit_:
        main(["voice", "compare", str(d / "questioned_2024-05-02_voice_note.ogg"),
              "--reference", str(d / "zayd_2020-01-10_statement.m4a"), "--json"])
    assert exit_.value.code == 0
    data = json.loads(capsys.readouterr().out)
    for key in ("llr", "log10_lr", "verbal", "calibration", "net_speech_seconds", "warnings",
                "segments"):
        assert key in data
    # the voice note is Zayd's voice: it rates higher against Zayd than against Abu Fulan
    # (with the demonstration calibration, not above LR 1: see the README)
    assert data["log10_lr"] == pytest.approx(data["llr"] / np.log(10), abs=1e-3)
    with pytest.raises(SystemExit) as exit_:
        main(["voice", "compare", str(d / "questioned_2024-05-02_voice_note.ogg"),
              "--reference", str(d / "fulan_2019-03-01_address.ogg"), "--json"])
    other = json.loads(capsys.readouterr().out)
    assert data["llr"] > other["llr"] and other["log10_lr"] < -0.5
    assert data["calibration"]["condition"]["bucket"] == "net30-narrow-clean"
    assert data["calibration"]["cllr"] > 0 and data["calibration"]["population"]
    with pytest.raises(SystemExit) as exit_:
        main(["voice", "compare", str(Path(tmp_path) / "none.ogg"), "--reference",
              str(d / "zayd_2020-01-10_statement.m4a")])
    assert exit_.value.code == 1
