"""verify: every question in one Assessment (JSON) and one self-contained HTML page."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest

from purport import assess, demo
from purport.archive import Archive
from purport.report.html import render


@pytest.fixture(scope="module")
def demo_archive(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    archive = Archive.init(str(folder / "purport.db"))
    demo.build(archive)
    yield archive
    archive.close()


def test_compilation_assessment_has_every_question_and_its_splice_points(demo_archive):
    a = assess.verify(demo.data_dir() / "questioned_2024-03-10_telegram.ogg",
                      archive=demo_archive, claimed_speaker="Abu Fulan")
    assert a["schema_version"] == assess.SCHEMA_VERSION
    for key in ("recording", "reuse", "voice", "timing", "edits", "record", "methods"):
        assert key in a
    assert [m["name"] for m in sorted(a["reuse"]["matches"], key=lambda m: m["query_start"])] \
        == ["fulan_2019-03-01_address.ogg", "fulan_2020-06-15_sermon.mp3"]
    splices = [p["time"] for p in a["edits"]["candidates"] if p["source"] == "reuse boundary"]
    assert any(abs(t - 10.0) < 0.5 for t in splices)
    assert a["voice"]["log10_lr"] > 0 and a["recording"]["archive_recording"]["id"] == 4
    assert a["record"]["releases"] and json.dumps(a)  # serialisable as it stands


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
    checker = _Checker()
    checker.feed(page)
    assert checker.stack == [] and checker.external == []
    assert {"recording", "reuse", "voice", "timing", "edits", "record", "methods"} <= checker.ids
    assert "<svg" in page and "<script" not in page
    assert spec["file"] in page and "log10 LR" in page
    for word in ("authentic:", "verdict: ", "is genuine", "is fake"):
        assert word not in page.lower()
