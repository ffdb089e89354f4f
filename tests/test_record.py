"""The speaker's record builds itself from press reports: releases dated as precisely as the
text allows, merged by one rule with recordings, and reports that disagree shown."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from purport.archive import Archive, Provenance
from purport.assess.record import add_reports, record
from purport.media import probe
from purport.news.span import Span, choose, narrow, same_release
from tests.conftest import write_wav

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "data" / "news"
SPEAKER = "Abu Bakr al-Baghdadi"


def _seeds() -> tuple[Path, dict]:
    if not (SEEDS / "seed_truth.json").exists():
        pytest.skip(f"the news seeds are not here ({SEEDS}): they come with ../shared/data")
    truth = json.loads((SEEDS / "seed_truth.json").read_text())
    return SEEDS / "seeds", {a["file"]: a for a in truth}


def _archive(tmp_path: Path, name: str = "a.db") -> Archive:
    archive = Archive.init(str(tmp_path / name), store_dir=tmp_path / f"{name}-files")
    archive.add_speaker(SPEAKER, aliases=["Baghdadi", "al-Baghdadi"])
    return archive


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_the_seeds_with_no_date_still_give_five_releases_of_the_speaker(tmp_path):
    folder, truth = _seeds()
    with _archive(tmp_path) as archive:
        results = add_reports(archive, [folder])
        rec = record(archive, SPEAKER)
    assert all(r["release_id"] and r["speaker"] == SPEAKER for r in results)
    assert len(rec["releases"]) == 5
    for r in results:
        span = r["span"]
        assert span["precision"] == "weekday" and span["last"] is None
        assert span["weekday"] == truth[r["file"]]["expected"]["weekday"]
        if span["first"]:  # a bound the text gives must not exclude the true day
            assert span["first"] <= truth[r["file"]]["expected"]["release_date"]
    assert all(rel["date"] is None and "day not known" in rel["when"]
               for rel in rec["releases"])


def test_the_seeds_with_one_published_date_each_give_five_dated_releases_and_checks(
        tmp_path):
    folder, truth = _seeds()
    with _archive(tmp_path) as archive:
        for name, article in truth.items():
            add_reports(archive, [folder / name],
                        facts={name: {"published": article["input"]["published"]}})
        rec = record(archive, SPEAKER)
    want = sorted(a["expected"]["release_date"] for a in truth.values())
    assert [r["date"] for r in rec["releases"]] == want
    checks = [c for r in rec["releases"] for c in r["checks"]]
    assert sum("record agrees" in c for c in checks) == 4, checks
    assert not any("disagrees" in c for c in checks)


def test_undated_reports_are_re_filed_when_their_publication_date_comes(archive, tmp_path):
    folder, truth = _seeds()
    archive.add_speaker(SPEAKER, aliases=["Baghdadi", "al-Baghdadi"])
    add_reports(archive, [folder])
    meta = _write(tmp_path, "meta.json", json.dumps(
        {name: {"published": a["input"]["published"]} for name, a in truth.items()}))
    again = add_reports(archive, [folder], meta=meta)
    rec = record(archive, SPEAKER)
    assert [r["status"] for r in again] == ["updated"] * 5
    assert len(archive.releases()) == 5 and all(r.date for r in archive.releases())
    assert all(len(r["reports"]) == 1 for r in rec["releases"])
    assert archive.audit_count(subject="release 1") == 2  # filed, then removed


def test_a_week_window_merges_with_the_day_another_report_gives_and_narrows(archive,
                                                                             tmp_path):
    day = _write(tmp_path, "day.txt", "Abu Bakr al-Baghdadi released an audio message on "
                 "Wednesday, posted on Telegram. The recording lasted 55 minutes.")
    week = _write(tmp_path, "week.txt", "An audio recording attributed to Abu Bakr "
                  "al-Baghdadi was released this week on Telegram. It runs for 30 minutes.")
    meta = _write(tmp_path, "meta.json", json.dumps({
        "week.txt": {"published": "2018-08-24", "outlet": "Weekly"},
        "day.txt": {"published": "2018-08-23", "outlet": "Daily"}}))
    archive.add_speaker(SPEAKER)
    results = add_reports(archive, [week], meta=meta)
    assert results[0]["span"]["precision"] == "week"
    assert results[0]["when"] == "between 2018-08-20 and 2018-08-24"
    add_reports(archive, [day], meta=meta)
    rec = record(archive, SPEAKER)
    [release] = rec["releases"]
    assert release["date"] == "2018-08-22" and len(release["reports"]) == 2
    [length] = [c for c in release["contradictions"] if c["fact"] == "duration_minutes"]
    assert sorted(v["value"] for v in length["values"]) == [30, 55]
    assert any("Weekly" in who for v in length["values"] for who in v["reports"])


def test_two_outlets_naming_different_weekdays_a_day_apart_merge_and_are_shown(tmp_path):
    a = _write(tmp_path, "a.txt", "Abu Bakr al-Baghdadi released an audio message on "
               "Tuesday, posted on Telegram.")
    b = _write(tmp_path, "b.txt", "A new audio recording of Abu Bakr al-Baghdadi was posted "
               "on Wednesday on Telegram, the group's outlet said.")
    meta = _write(tmp_path, "meta.json", json.dumps({
        "a.txt": {"published": "2024-05-08"}, "b.txt": {"published": "2024-05-09"}}))
    with _archive(tmp_path) as archive:
        add_reports(archive, [a, b], meta=meta)
        [release] = record(archive, SPEAKER)["releases"]
    said = {c["fact"]: c for c in release["contradictions"]}
    assert set(said) >= {"release_date", "weekday"}
    assert {v["value"] for v in said["weekday"]["values"]} == {"Tuesday", "Wednesday"}


def test_a_recording_and_a_report_of_one_release_share_it_by_the_one_rule(tmp_path):
    article = _write(tmp_path, "a.txt", "Abu Bakr al-Baghdadi released an audio message on "
                     "Tuesday, posted on Telegram.")
    clip = write_wav(tmp_path / "speech.wav", seconds=2.0)
    with _archive(tmp_path) as archive:
        # the file as the user met it, dated a day later in their time zone
        archive.add_recording(probe(clip), speaker=SPEAKER, provenance=Provenance(
            released=dt.date(2024, 5, 8), channel="Telegram"))
        add_reports(archive, [article], facts={"a.txt": {"published": "2024-05-08"}})
        [release] = archive.releases()
    assert release.recording_ids and release.report_ids
    assert release.date == dt.date(2024, 5, 8)  # the two days touch: the recording's kept


def test_the_clustering_rule():
    day = Span.day(dt.date(2024, 5, 7), "text")
    week = Span(dt.date(2024, 5, 6), dt.date(2024, 5, 10), "week", "this week")
    month = Span(dt.date(2024, 5, 1), dt.date(2024, 5, 31), "month", "earlier this month")
    assert same_release(day, Span.day(dt.date(2024, 5, 8), "x"))      # time zones
    assert not same_release(day, Span.day(dt.date(2024, 5, 9), "x"))  # two days apart
    assert not same_release(day, day, medium_a="audio", medium_b="video")
    assert same_release(week, day) and narrow(week, day) == day
    friday = Span(dt.date(2024, 5, 6), dt.date(2024, 5, 8), "days", "x", "Friday")
    assert not same_release(friday, day)  # no Friday in the window
    opened = Span(None, None, "weekday", "no publication date", "Tuesday")
    assert not same_release(opened, day) and not same_release(opened, opened)
    two = [("a", day), ("b", Span.day(dt.date(2024, 5, 20), "x"))]
    assert choose(week, two) == "a"
    assert choose(month, two) is None  # a month fits both: it cannot say which
    assert choose(Span.day(dt.date(2024, 5, 21), "x"), two) == "b"
