"""Edits: every detector finds its kind of join, stays quiet on the same recording unedited,
and states how often it fires by chance as measured, not as a constant."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest
from scipy import signal

from purport import assess
from purport.archive import Archive
from purport.cli import main
from purport.edits import background as background_
from purport.edits import base, detect, enf, fuse
from purport.edits import channel as channel_
from purport.edits import join as join_
from purport.report.html import render
from tests.conftest import save_wav
from tests.speechlike import speech
from tests.test_assess import _Checker

SR = 16000
FLOOR_DB = -50.0


def _noise(n: int, rng: np.random.Generator, db: float = FLOOR_DB) -> np.ndarray:
    return 10 ** (db / 20) * rng.standard_normal(n)


def _recording(seconds: float = 90.0, seed: int = 1, *, bright: bool = False) -> np.ndarray:
    """Speech-like audio with digital pauses (the room tone is added by each test);
    ``bright`` tilts it up (first difference, as a microphone's presence does)."""
    y = speech(seconds, seed=seed, silence="digital").astype(np.float64)
    if bright:
        y = signal.lfilter([1, -0.95], [1], y)
        y = 0.5 * y / np.max(np.abs(y))
    return y


def _near(cands, t: float, within: float = 2.0) -> list:
    return [c for c in cands if abs(c["time"] - t) <= within]


def test_a_room_tone_change_at_a_join_is_found_and_the_unedited_recording_raises_nothing():
    rng = np.random.default_rng(0)
    y = _recording()
    unedited = (y + _noise(len(y), rng)).astype(np.float32)
    assert detect(unedited, sr=SR).candidates == []
    # the second half recorded in another room: its room tone 12 dB louder and darker
    noise = _noise(len(y), rng)
    b, a = signal.butter(2, 1500 / (SR / 2))
    other = signal.lfilter(b, a, _noise(len(y), rng, FLOOR_DB + 16))
    noise[60 * SR:] = other[60 * SR:]
    spliced = (y + noise).astype(np.float32)
    found = detect(spliced, sr=SR).candidates
    assert [c["detector"] for c in found] == ["room_tone"], found
    # between the last pause before and the first after (the join is in the speech)
    assert found[0]["time"] - 2 <= 60.0 <= (found[0]["end"] or found[0]["time"]) + 2
    assert found[0]["family"] == "background" and found[0]["strength"] >= \
        background_.ROOM_TONE.threshold


def _room(y: np.ndarray, rt60: float, rng: np.random.Generator) -> np.ndarray:
    """``y`` in a reverberant room: the direct sound and a decaying noise tail."""
    n = int(rt60 * SR)
    tail = rng.standard_normal(n) * 10 ** (-3 * np.arange(n) / SR / rt60)
    tail[:48] = 0
    ir = 0.5 * tail / np.sqrt(np.sum(tail ** 2))
    ir[0] = 1.0
    return signal.fftconvolve(y, ir)[: len(y)]


def test_a_change_of_reverberation_at_a_join_is_found_and_the_dry_recording_raises_nothing():
    rng = np.random.default_rng(3)
    y = _recording(150.0, seed=3)
    dry = (y + _noise(len(y), rng, -60)).astype(np.float32)
    assert detect(dry, sr=SR).candidates == []
    spliced = dry.copy()
    spliced[75 * SR:] = (_room(y, 0.8, rng) + _noise(len(y), rng, -60))[75 * SR:]
    found = detect(spliced, sr=SR).candidates
    assert [c["detector"] for c in found] == ["reverb"], found
    assert found[0]["time"] - 2 <= 75.0 <= found[0]["end"] + 2
    assert "dies away" in found[0]["detail"]


def test_digital_silence_pasted_inside_the_recording_is_found():
    rng = np.random.default_rng(1)
    y = _recording(60.0, seed=2) + _noise(60 * SR, rng)
    y[30 * SR:30 * SR + 1600] = 0.0  # 100 ms of zeros: a cut padded with silence
    found = detect(y.astype(np.float32), sr=SR).candidates
    assert [(c["detector"], c["time"], c["end"]) for c in found] == \
        [("digital_silence", 30.0, 30.1)]


def test_a_butt_join_that_breaks_the_waveform_is_found_as_a_click():
    rng = np.random.default_rng(2)
    y = _recording(60.0, seed=2)
    k = 40 * SR + int(np.argmax(y[40 * SR:41 * SR]))  # a loud positive sample ...
    m = 20 * SR + int(np.argmin(y[20 * SR:21 * SR]))  # ... butted to a negative one
    joined = np.concatenate([y[:k], y[m:]])
    joined = (joined + _noise(len(joined), rng)).astype(np.float32)
    found = join_.clicks(joined, sr=SR)
    assert [round(c.time, 2) for c in found] == [round(k / SR, 2)]
    unedited = (y + _noise(len(y), rng)).astype(np.float32)
    assert join_.clicks(unedited, sr=SR) == []


def test_a_stretch_with_another_bandwidth_is_found():
    rng = np.random.default_rng(3)
    y = _recording(120.0, seed=1, bright=True)
    sos = signal.butter(10, 3800 / (SR / 2), output="sos")  # an 8 kHz file's band
    narrow = signal.sosfilt(sos, y)
    spliced = y.copy()
    spliced[60 * SR:] = narrow[60 * SR:]
    spliced = (spliced + _noise(len(y), rng, -60)).astype(np.float32)
    found = channel_.bandwidth(spliced, sr=SR)
    assert [round(c.time) for c in found] == [60]
    assert "dB less energy above 4." in found[0].detail  # the cut at 3.8-4.5 kHz
    unedited = (y + _noise(len(y), rng, -60)).astype(np.float32)
    assert channel_.bandwidth(unedited, sr=SR) == []


def test_a_dc_step_between_pieces_is_found():
    rng = np.random.default_rng(4)
    y = _recording(60.0, seed=3) + _noise(60 * SR, rng)
    y[30 * SR:] += 0.003  # another recorder's offset, -50 dBFS
    found = join_.dc_steps(y.astype(np.float32), sr=SR)
    assert [round(c.time) for c in found] == [30]


def test_enf_pieces_that_do_not_continue_meet_at_a_join_and_a_report_without_pieces_gives_none():
    pieces = [
        {"query_start": 0.0, "query_end": 300.0, "recorded_at": "2024-03-04T10:00:00Z",
         "offset_seconds": 36000.0, "score": 0.9, "false_match_probability": 1e-9,
         "placed": True},
        {"query_start": 300.0, "query_end": 600.0, "recorded_at": "2024-03-04T10:07:00Z",
         "offset_seconds": 36120.0, "score": 0.9, "false_match_probability": 1e-9,
         "placed": True},
        {"query_start": 600.0, "query_end": 700.0, "recorded_at": None,
         "offset_seconds": None, "score": 0.2, "false_match_probability": 0.4,
         "placed": False},
    ]
    found = enf.piece_jumps({"pieces": pieces})
    # the boundary of the piece that is not placed (600 s) is no candidate: on dev-full
    # 2 of 21 such boundaries were joins
    assert [(c.time, c.detector, c.strength) for c in found] == \
        [(300.0, "enf_piece_jump", 120.0)]
    assert "about 120 s of grid time are missing" in found[0].detail
    # a continuous recording: two pieces whose grid times continue are no join
    assert enf.piece_jumps({"pieces": [pieces[0], dict(pieces[1], recorded_at=
                                                       "2024-03-04T10:05:00Z")]}) == []
    assert enf.from_report({"discontinuities": []}) == [] and enf.from_report(None) == []


def _shipped() -> dict:
    return json.loads(resources.files("purport.edits").joinpath("false_alarms.json")
                      .read_text())


def test_every_false_alarm_figure_in_the_output_comes_from_the_calibration_file(monkeypatch):
    shipped = _shipped()
    assert shipped["corpus"]["hours"] >= 2.0 and len(shipped["corpus"]["hours_by_generator"]) >= 2
    rng = np.random.default_rng(5)
    y = _recording(60.0, seed=2) + _noise(60 * SR, rng)
    y[30 * SR:30 * SR + 1600] = 0.0
    report = detect(y.astype(np.float32), sr=SR)
    assert report.candidates
    for c in report.candidates:
        assert c["false_alarms_per_hour"] == \
            shipped["detectors"][c["detector"]]["false_alarms_per_hour"]
        assert str(shipped["corpus"]["hours"]) in c["measured_on"]
    for d in report.detectors:
        entry = shipped["detectors"].get(d["name"])
        want = entry["false_alarms_per_hour"] if entry and entry["threshold"] == d["threshold"] \
            else None
        assert d["false_alarms_per_hour"] == want, d["name"]
    # the figures follow the file: another calibration gives other figures
    other = json.loads(json.dumps(shipped))
    for entry in other["detectors"].values():
        entry["false_alarms_per_hour"] = 123.25
    monkeypatch.setattr(base, "calibration", lambda: other)
    again = detect(y.astype(np.float32), sr=SR)
    assert {c["false_alarms_per_hour"] for c in again.candidates} == {123.25}
    assert {d["false_alarms_per_hour"] for d in again.detectors if d["name"] in
            other["detectors"]} == {123.25}
    # and a detector whose threshold differs from the one measured is "not measured"
    other["detectors"]["digital_silence"]["threshold"] = 1.0
    third = detect(y.astype(np.float32), sr=SR)
    assert {c["false_alarms_per_hour"] for c in third.candidates} == {None}


def test_purport_edits_json_prints_the_contract(tmp_path, capsys):
    rng = np.random.default_rng(6)
    y = _recording(40.0, seed=4) + _noise(40 * SR, rng)
    y[20 * SR:20 * SR + 800] = 0.0
    path = tmp_path / "q.wav"
    save_wav(path, y, sr=SR)
    with pytest.raises(SystemExit) as exit_:
        main(["edits", str(path), "--json"])
    assert (exit_.value.code or 0) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"recording", "candidates", "detectors", "explained", "method", "limits"}
    assert out["recording"]["name"] == "q.wav" and out["recording"]["duration"] == 40.0
    keys = {"time", "end", "detector", "family", "strength", "false_alarms_per_hour", "detail"}
    assert out["candidates"] and all(keys <= set(c) for c in out["candidates"])
    assert all(c["family"] in base.FAMILIES for c in out["candidates"])
    c = next(c for c in out["candidates"] if c["detector"] == "digital_silence")
    assert c["time"] == 20.0 and c["end"] == 20.05
    assert {d["name"] for d in out["detectors"]} == {d.name for d in fuse.DETECTORS}
    assert all({"name", "family", "threshold", "false_alarms_per_hour", "measured_on"}
               <= set(d) for d in out["detectors"])
    # the text form: one line per candidate with its false alarms per hour
    with pytest.raises(SystemExit):
        main(["edits", str(path)])
    text = capsys.readouterr().out
    assert "0:20.0-0:20.1  join/digital_silence" in text and "false alarms/h" in text


def test_purport_edits_on_bad_input_says_one_line_and_exits_non_zero(tmp_path, capsys):
    bad = tmp_path / "notes.txt"
    bad.write_text("not audio")
    for args in (["edits", str(bad)], ["edits", str(tmp_path / "missing.wav")],
                 ["edits", str(bad), "--grid-csv", "g.csv", "--region", "gb"]):
        with pytest.raises(SystemExit) as exit_:
            main(args)
        err = capsys.readouterr().err
        assert exit_.value.code == 1 and err.startswith("error: ") \
            and err.count("\n") == 1, (args, err)


def test_verify_puts_every_detector_on_one_axis_and_the_report_draws_enf_pieces(tmp_path):
    rng = np.random.default_rng(7)
    y = _recording(40.0, seed=5) + _noise(40 * SR, rng)
    y[15 * SR:15 * SR + 1600] = 0.0
    path = tmp_path / "q.wav"
    save_wav(path, y, sr=SR)
    with Archive.init(str(tmp_path / "purport.db")) as archive:
        a = assess.verify(path, archive=archive)
    d = a.to_dict()
    assert [c["detector"] for c in d["edits"]["candidates"]] == ["digital_silence"]
    assert {x["name"] for x in d["edits"]["detectors"]} == {x.name for x in fuse.DETECTORS}
    assert a.summary()["edits"] == "1 candidate point(s) (join)"
    page = render(a)
    assert "digital_silence" in page and "fires by chance" in page and "per hour" in page
    assert "ENF pieces" not in page  # no pieces: none drawn
    d["timing"]["enf"]["pieces"] = [
        {"query_start": 0.0, "query_end": 20.0, "recorded_at": "2024-03-04T10:00:00Z",
         "offset_seconds": 36000.0, "score": 0.9, "false_match_probability": 1e-9,
         "placed": True},
        {"query_start": 20.0, "query_end": 40.0, "recorded_at": None, "offset_seconds": None,
         "score": 0.1, "false_match_probability": 0.5, "placed": False}]
    page = render(d)
    assert "aria-label='ENF pieces'" in page and "2024-03-04T10:00:00" in page
    assert "not placed" in page
    checker = _Checker()
    checker.feed(page)
    assert checker.stack == [] and checker.external == []
    # a stored assessment from before the edits package still renders
    d["edits"] = {"candidates": [{"time": 3.0, "source": "reuse boundary", "detail": "x"}],
                  "method": "m", "limits": "l"}
    assert "reuse / reuse boundary" in render(d)


def test_a_room_change_inside_a_stretch_of_placed_hum_is_set_aside_and_one_at_its_end_is_not():
    from purport.edits import fuse
    from purport.edits.base import Candidate

    placed = [{"query_start": 0.0, "query_end": 100.0, "placed": True,
               "recorded_at": "2024-03-04T10:00:00Z", "false_match_probability": 1e-6,
               "departures": [[70.0, 78.0]]},
              {"query_start": 100.0, "query_end": 200.0, "placed": False}]
    found = [Candidate(time=50.0, detector="room_tone", family="background", strength=9.0,
                       detail="inside"),
             Candidate(time=99.0, detector="room_tone", family="background", strength=9.0,
                       detail="at the end"),
             Candidate(time=50.0, detector="enf_phase_step", family="enf", strength=12.0,
                       detail="a short cut stays possible"),
             Candidate(time=150.0, detector="bandwidth", family="channel", strength=5.0,
                       detail="not placed there"),
             Candidate(time=82.0, detector="room_tone", family="background", strength=9.0,
                       detail="near where the trace leaves the log: a short insert?"),
             Candidate(time=40.0, detector="enf_frequency_step", family="enf",
                       strength=40.0, detail="the hum's own evidence is never set aside")]
    report = fuse.fuse(found, placed=fuse.placed_spans({"pieces": placed}))
    kept = {(c["time"], c["detector"]) for c in report.candidates}
    assert kept == {(99.0, "room_tone"), (50.0, "enf_phase_step"), (150.0, "bandwidth"),
                    (82.0, "room_tone"), (40.0, "enf_frequency_step")}
    assert [(c["time"], c["detector"]) for c in report.explained] == [(50.0, "room_tone")]
    assert "0-100 s" in report.explained[0]["explained_by"]
    # without placed hum nothing is set aside
    assert len(fuse.fuse(found).candidates) == 6
