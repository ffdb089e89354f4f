"""verify: every question in one Assessment (JSON) and one self-contained HTML page."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import Counter
from html.parser import HTMLParser

import av
import numpy as np
import pytest

from purport import assess, demo, ingest, media
from purport.archive import Archive
from purport.assess import Assessment
from purport.assess import reuse as reuse_join
from purport.assess import timing as timing_join
from purport.report.html import render
from purport.reuse import METHOD, fingerprint
from purport.timing import enf
from purport.timing import report as timing_report


@pytest.fixture(scope="module")
def demo_archive(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    archive = Archive.init(str(folder / "purport.db"))
    demo.build(archive)
    yield archive
    archive.close()


def test_compilation_assessment_has_every_question_and_its_splice_points(demo_archive):
    typed = assess.verify(demo.data_dir() / "questioned_2024-03-10_telegram.ogg",
                          archive=demo_archive, claimed_speaker="Abu Fulan")
    a = typed.to_dict()
    assert a["schema_version"] == assess.SCHEMA_VERSION
    for key in ("recording", "reuse", "voice", "timing", "edits", "record", "methods"):
        assert key in a
    assert [m["name"] for m in sorted(a["reuse"]["matches"], key=lambda m: m["query_start"])] \
        == ["fulan_2019-03-01_address.ogg", "fulan_2020-06-15_sermon.mp3"]
    splices = [p["time"] for p in a["edits"]["candidates"] if p["detector"] == "reuse_boundary"]
    assert any(abs(t - 10.0) < 0.5 for t in splices)
    assert a["voice"]["log10_lr"] > 0 and a["recording"]["archive_recording"]["id"] == 4
    assert a["record"]["releases"] and json.dumps(a)  # serialisable as it stands
    # the typed Assessment reads its own JSON back, and says the same in short
    again = Assessment.from_dict(json.loads(json.dumps(a)))
    assert again.to_dict() == json.loads(json.dumps(a))
    assert again.summary() == typed.summary()
    assert list(typed.summary()) == ["reuse", "voice", "timing", "edits"]
    assert typed.summary()["reuse"] == typed.reuse.summary
    assert typed.summary()["voice"].startswith("log10 LR +")


@pytest.fixture
def counted(monkeypatch):
    """Counts, per file, decodes (``media._read`` and ``av.open``) and SHA-256 hashings."""
    counts = {"decode": Counter(), "open": Counter(), "hash": Counter()}
    read, digest, open_ = media._read, media.sha256_file, av.open

    def counting_read(path, **kwargs):
        counts["decode"][os.path.abspath(path)] += 1
        return read(path, **kwargs)

    def counting_hash(path):
        counts["hash"][os.path.abspath(path)] += 1
        return digest(path)

    def counting_open(path, *args, **kwargs):
        if isinstance(path, (str, os.PathLike)):  # in-memory codec round trips are not files
            counts["open"][os.path.abspath(path)] += 1
        return open_(path, *args, **kwargs)

    monkeypatch.setattr(media, "_read", counting_read)
    monkeypatch.setattr(media, "sha256_file", counting_hash)
    monkeypatch.setattr(av, "open", counting_open)
    return counts


def test_verify_decodes_and_hashes_the_recording_once(demo_archive, counted, monkeypatch):
    spec, d = demo.manifest(), demo.data_dir()
    questioned = str(d / spec["verify"]["file"])
    calls = Counter()
    listing, loading, fingerprinting = (demo_archive.recordings, reuse_join.load_index,
                                        reuse_join.fingerprint_signal)

    def count(name, fn):
        def counting(*args, **kwargs):
            calls[name] += 1
            return fn(*args, **kwargs)
        return counting

    monkeypatch.setattr(demo_archive, "recordings", count("recordings", listing))
    monkeypatch.setattr(reuse_join, "load_index", count("index", loading))
    monkeypatch.setattr(reuse_join, "fingerprint_signal", count("fingerprint", fingerprinting))
    a = demo.verify(demo_archive)  # every question: reuse, voice, ENF in a region, content
    assert "skipped" not in a.to_dict()["voice"]
    assert a.timing["content"] and a.timing["enf"]["start"]
    assert counted["decode"][questioned] == 1 and counted["open"][questioned] == 1
    assert counted["hash"][questioned] == 1
    assert calls == {"recordings": 1, "index": 1, "fingerprint": 1}


def test_one_decode_gives_reuse_and_timing_what_a_decode_at_their_own_rate_gives(demo_archive):
    # verify decodes at 16 kHz once; reuse (8 kHz) and timing (1 kHz) resample from it with
    # FFmpeg's resampler, so their answers are those of a file decoded straight to their rate
    spec = demo.manifest()
    path = demo.data_dir() / spec["verify"]["file"]  # 3 minutes with mains hum
    once = media.load(path)
    assert once.sr == media.SR == 16000
    direct = fingerprint(media.load(path, sr=8000).y, sr=8000)
    fp = reuse_join.fingerprint_signal(once)
    assert np.array_equal(fp.hash, direct.hash) and np.array_equal(fp.t1, direct.t1)
    assert np.abs(fp.f1 - direct.f1).max() < 1e-3  # log-frequency bins
    log = timing_join.region_log(demo_archive, spec["grid"]["region"])
    got = timing_join.when_signal(once, log=log)["enf"]
    y = media.load(path, sr=enf.SR).y
    want = timing_report.when(y, sr=enf.SR, log=log, source_sr=once.info.sample_rate)["enf"]
    assert got["present"] and want["present"] and got["harmonics_used"] == want["harmonics_used"]
    assert np.nanmax(np.abs(np.array(got["trace"], float) - np.array(want["trace"], float))) < 1e-4
    start = [dt.datetime.fromisoformat(e["start"].replace("Z", "+00:00")) for e in (got, want)]
    assert abs((start[0] - start[1]).total_seconds()) < 1e-3


def test_verify_and_file_decodes_once_and_files_what_it_assessed(tmp_path, counted):
    d = demo.data_dir()
    questioned = d / "questioned_2024-03-10_telegram.ogg"  # its first 10 s re-use the address
    with Archive.init(str(tmp_path / "a.db"), store_dir=tmp_path / "store") as archive:
        ingest.add_files(archive, [d / "fulan_2019-03-01_address.ogg"], role="reference")
        for counter in counted.values():
            counter.clear()
        a, stored = assess.verify_and_file(questioned, archive=archive)
        key = str(questioned)
        assert counted["decode"][key] == 1 and counted["open"][key] == 1
        assert counted["hash"][key] == 1
        assert {m["name"] for m in a.reuse.matches} == {"fulan_2019-03-01_address.ogg"}
        rec = archive.recording(stored.recording_id)
        assert rec.role == "questioned" and rec.sha256 == a.recording["sha256"]
        assert archive.has_fingerprint(rec.id, METHOD)
        assert archive.assessment(stored.id).data == a.to_dict()
        custody = render(a).split("id='custody'")[1]
        assert "recording added" in custody and rec.sha256 in custody
        source = archive.recordings(role="reference")[0]  # the re-used address, cited too
        assert {c["input_sha256"] for c in a.custody} == {rec.sha256, source.sha256}
        # filed with the fingerprint verify used: the recording now matches itself
        again = assess.verify(questioned, archive=archive)
        assert again.reuse.query["recording_id"] == rec.id
        assert again.reuse.reference["excluded"] == [rec.id]


class _Checker(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.ids, self.external = [], set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag not in ("meta", "br", "line", "rect", "circle", "polyline", "img", "link"):
            self.stack.append(tag)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for key in ("src", "href"):
            if attrs.get(key, "").startswith(("http", "//")):
                self.external.append(attrs[key])

    def handle_endtag(self, tag):
        if tag in ("line", "rect", "circle", "polyline"):
            return
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-5:])
        self.stack.pop()


def test_report_page_is_well_formed_offline_and_has_every_section(demo_archive):
    spec = demo.manifest()["verify"]
    a = demo.verify(demo_archive)
    page = render(a)
    assert render(a.to_dict()) == page  # a stored Assessment renders the same
    checker = _Checker()
    checker.feed(page)
    assert checker.stack == [] and checker.external == []
    assert {"summary", "recording", "reuse", "voice", "timing", "edits", "record", "custody",
            "methods"} <= checker.ids
    assert "<svg" in page and "<script" not in page
    assert spec["file"] in page and "log10 LR" in page
    for word in ("authentic:", "verdict: ", "is genuine", "is fake"):
        assert word not in page.lower()


def test_report_lists_changes_set_aside_by_placed_hum_with_the_reason(demo_archive):
    a = demo.verify(demo_archive).to_dict()
    a["edits"]["explained"] = [{
        "time": 42.0, "detector": "room_tone", "family": "background", "strength": 9.1,
        "explained_by": "the hum of 0-170 s follows the grid log without a break"}]
    page = render(a)
    checker = _Checker()
    checker.feed(page)
    assert checker.stack == []
    assert "Set aside" in page and "follows the grid log without a break" in page
