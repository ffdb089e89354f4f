"""`make demo`'s command, end to end in a fresh process, and the bundled data it relies on."""

from __future__ import annotations

import json
import subprocess
import sys

from purport import demo


def test_demo_command_builds_archive_and_is_safe_to_rerun(tmp_path):
    db = tmp_path / "demo" / "purport.db"
    cmd = [sys.executable, "-m", "purport", "demo", "--db", str(db)]
    first = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "CC BY-SA 4.0" in first.stdout
    for name in ("fulan_2019-03-01_address.ogg", "questioned_2024-03-10_telegram.ogg"):
        assert name in first.stdout
    assert first.stdout.count("added ") == 5
    assert "log10 LR" in first.stdout and "recorded on or after 2024-04-28" in first.stdout
    assert "2024-05-02T09:12:07" in first.stdout  # the hum placed in the demo grid
    report = (db.parent / "report.html").read_text()
    assert report.startswith("<!doctype html>") and "<svg" in report and "<script" not in report
    again = subprocess.run(cmd + ["--json"], capture_output=True, text=True, cwd=tmp_path,
                           timeout=120)
    assert again.returncode == 0, again.stderr
    data = json.loads(again.stdout)
    assert [a["status"] for a in data["added"]] == ["already present"] * 5
    assert data["archive"]["counts"] == {"speakers": 2, "recordings": 5, "sightings": 5,
                                         "releases": 5}
    assert data["verify"]["voice"]["log10_lr"] < 0  # the voice note is another voice
    codecs = {r["codec"] for r in data["recordings"]}
    assert codecs == {"opus", "mp3", "aac"}


def test_demo_data_is_small_attributed_and_fictional():
    folder = demo.data_dir()
    total = sum(p.stat().st_size for p in folder.iterdir())
    assert total < 5 * 1024 * 1024
    attribution = (folder / "ATTRIBUTION.txt").read_text()
    assert "CC BY-SA 4.0" in attribution and "fictional" in attribution
    spec = demo.manifest()
    for rec in spec["recordings"]:
        assert (folder / rec["file"]).is_file()
        assert rec["source_url"].startswith("https://example.org/")
