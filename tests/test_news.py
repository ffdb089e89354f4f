"""News: facts from written example reports (fictional speakers), dates, traps, merging."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from purport.archive import Archive
from purport.errors import ParameterError
from purport.news.extract import Extractor, duration_minutes, read_article
from purport.news.record import add_reports, record, record_html
from purport.news.vocab import load_vocabulary

SPEAKERS = {"Abu Fulan al-Mithali": ["Abu Fulan", "al-Mithali"]}

REPORT = """Militant leader urges followers to fight on in new message

The leader of the Example Brigades, Abu Fulan al-Mithali, released a 12-minute audio \
message on Tuesday, calling on his followers to attack government forces in Northland \
and Southland.

The recording was published by the group's Example Media Foundation and posted on Telegram.

"Rise up and do not wait for orders," al-Mithali says in the purported recording.

The Daily Example could not independently verify the authenticity of the recording. It \
was his first message since March.

Photo: Abu Fulan al-Mithali in a video released by al-Kataib in June 2019.

Read more: Northland election postponed again
"""


def extract(text: str, published: str, **kwargs):
    vocab = kwargs.pop("vocab", None)
    return Extractor(speakers=SPEAKERS, vocab=vocab).extract(
        text, published=dt.date.fromisoformat(published), **kwargs)


@pytest.fixture
def vocab_with_example_outlet(tmp_path):
    extra = tmp_path / "vocab.json"
    extra.write_text(json.dumps({"media_outlets": ["Example Media Foundation"]}))
    return load_vocabulary(extra)


def test_every_field_of_a_plain_report(vocab_with_example_outlet):
    r = extract(REPORT, "2024-05-09", outlet="The Daily Example",
                vocab=vocab_with_example_outlet)
    assert r.is_release_report and r.speaker == "Abu Fulan al-Mithali"
    assert (r.medium, r.weekday, r.release_date) == ("audio", "Tuesday", "2024-05-07")
    assert r.media_outlet == "Example Media Foundation"
    assert r.channels == ["Telegram"] and r.duration_minutes == 12
    assert r.unverified is True and "purported" in r.hedges
    assert r.previous_release["date"] == "2024-03"
    assert any("Rise up" in q for q in r.quotes)
    assert r.calls_to_action and "Northland" in r.targets
    for key in ("speaker", "medium", "release_date", "media_outlet", "channels", "unverified",
                "previous_release"):
        assert r.evidence[key], key


def test_caption_about_an_older_release_and_link_lines_are_not_the_report(
        vocab_with_example_outlet):
    r = extract(REPORT, "2024-05-09", vocab=vocab_with_example_outlet)
    assert r.media_outlet != "al-Kataib"  # named only in the photo caption
    assert {"date": "2019-06"} .items() <= next(
        (o for o in r.other_releases if "2019" in o["phrase"]), {"date": None}).items()
    assert not any("election" in c for c in r.context_events)  # the "Read more" line


def test_outlet_is_never_guessed_and_the_newspaper_is_not_it():
    r = extract(REPORT, "2024-05-09", outlet="The Daily Example")  # default vocabulary
    assert r.media_outlet is None


def test_not_verified_said_of_another_video_does_not_count():
    text = ("Abu Fulan al-Mithali released an audio recording on Monday urging attacks. "
            "A separate video showing the attack on the checkpoint could not be verified "
            "by the Daily Example.\nHe spoke for about twenty minutes.")
    r = extract(text, "2024-02-06")
    assert r.is_release_report and r.unverified is False


@pytest.mark.parametrize("published, phrase, release, previous", [
    ("2024-01-02", "released an audio message on Saturday. It was his first since November.",
     "2023-12-30", "2023-11"),
    ("2024-01-05", "released an audio message on Thursday, the first recording to be released "
     "since September last year.", "2024-01-04", "2023-09"),
    ("2024-03-01", "released an audio message on Friday. His last previous message was "
     "released in December.", "2024-03-01", "2023-12"),
    ("2024-01-10", "released an audio recording on Wednesday, his first message in a year.",
     "2024-01-10", "2023-01"),
])
def test_dates_resolve_across_month_and_year_boundaries(published, phrase, release, previous):
    r = extract(f"The group's leader Abu Fulan al-Mithali {phrase}", published)
    assert r.release_date == release
    assert r.previous_release["date"] == previous


def test_a_weekday_bound_to_another_event_is_not_the_release_day():
    text = ("Fighters captured the town on Friday, hours after the group released an audio "
            "recording of its leader Abu Fulan al-Mithali. The recording, which emerged on "
            "Thursday, was said to be his.")
    r = extract(text, "2024-05-11")
    assert r.weekday == "Thursday" and r.release_date == "2024-05-09"


@pytest.mark.parametrize("text, minutes", [
    ("his half hour-long speech", 30), ("the over 46-minute-long audio", 46),
    ("an hour-long sermon", 60), ("a recording of an hour and a half", 90),
    ("the 7-minute message", 7), ("a ten-minute recording", 10), ("a long speech", None),
])
def test_durations_in_words_and_digits(text, minutes):
    assert duration_minutes(text) == minutes


def test_an_article_that_only_mentions_the_speaker_is_not_a_release_report():
    text = ("Abu Fulan al-Mithali, the leader of the Example Brigades, is believed to be hiding "
            "in the mountains. Officials said on Monday that the group had lost ground.")
    r = extract(text, "2024-05-09")
    assert r.is_release_report is False and r.speaker == "Abu Fulan al-Mithali"
    assert r.release_date is None and r.media_outlet is None


def _write(folder, name, text):
    path = folder / name
    path.write_text(text)
    return path


def test_reports_of_one_release_merge_and_a_week_apart_stay_apart(tmp_path):
    a = _write(tmp_path, "a.txt", "Abu Fulan al-Mithali released an audio message on Tuesday "
               "urging attacks, posted on Telegram. The message lasted 12 minutes.")
    _write(tmp_path, "b.txt", "A new audio recording attributed to Abu Fulan al-Mithali "
               "was published on Wednesday on Twitter. Its authenticity could not be verified.")
    _write(tmp_path, "c.txt", "Abu Fulan al-Mithali released another audio message on "
               "Tuesday, calling on his supporters to fight, the group said.")
    meta = _write(tmp_path, "meta.json", json.dumps({
        "a.txt": {"published": "2024-05-08", "outlet": "Paper A"},
        "b.txt": {"published": "2024-05-08", "outlet": "Paper B"},  # a day later in its zone
        "c.txt": {"published": "2024-05-15", "outlet": "Paper C"}}))
    with Archive.init(str(tmp_path / "a.db"), store_dir=tmp_path / "s") as archive:
        archive.add_speaker("Abu Fulan al-Mithali", aliases=["Abu Fulan"])
        results = add_reports(archive, [tmp_path], meta=meta)
        assert [r["status"] for r in results] == ["added"] * 3
        rec = record(archive, "Abu Fulan")
        assert [r["date"] for r in rec["releases"]] == ["2024-05-07", "2024-05-14"]
        first = rec["releases"][0]
        assert len(first["reports"]) == 2 and first["channels"] == ["Telegram", "Twitter"]
        assert first["duration_minutes"] == 12
        assert rec["releases"][1]["gap_days"] == 7
        again = add_reports(archive, [a])
        assert again[0]["status"] == "already present"
        page = record_html(rec)
        assert page.startswith("<!doctype html>") and "2024-05-14" in page and "<script" not in page


def test_html_article_with_metadata(tmp_path):
    body = " ".join(["The region has seen fighting for months."] * 5)
    page = tmp_path / "story.html"
    page.write_text(f"""<!doctype html><html><head><title>New message from militant leader</title>
<meta property="article:published_time" content="2024-05-09T08:00:00Z">
<meta property="og:site_name" content="The Daily Example"></head><body>
<nav>Home | World | Sport</nav><article><h1>New message from militant leader</h1>
<p>Abu Fulan al-Mithali released an audio recording on Tuesday urging attacks on
government forces, in a message posted on Telegram.</p><p>{body}</p></article>
<footer>Copyright The Daily Example</footer></body></html>""")
    article = read_article(page)
    assert article["published"] == "2024-05-09" and "Tuesday" in article["text"]
    r = Extractor(speakers=SPEAKERS).extract(article["text"], published=dt.date(2024, 5, 9))
    assert r.release_date == "2024-05-07" and r.channels == ["Telegram"]


@pytest.mark.parametrize("content, message", [
    (b"", "empty file"), (b"\x00\x01\x02binary" * 20, "binary"), (b"Too short.", "too short"),
])
def test_bad_article_files_get_clear_errors(tmp_path, content, message):
    path = tmp_path / "x.txt"
    path.write_bytes(content)
    with pytest.raises(ParameterError, match=message):
        read_article(path)
    with pytest.raises(ParameterError, match="no such file"):
        read_article(tmp_path / "missing.txt")


def test_cli_news_extract_prints_the_record_schema(tmp_path, capsys):
    from purport.cli import main

    path = _write(tmp_path, "r.txt", REPORT)
    with pytest.raises(SystemExit) as exit_:
        main(["news", "extract", str(path), "--published", "2024-05-09", "--json"])
    assert exit_.value.code == 0
    data = json.loads(capsys.readouterr().out)
    keys = ["is_release_report", "speaker", "medium", "release_date", "weekday", "media_outlet",
            "channels", "duration_minutes", "unverified", "hedges", "previous_release",
            "other_releases", "dating_clues", "targets", "calls_to_action", "context_events",
            "quotes", "evidence"]
    assert list(data)[: len(keys)] == keys
    assert data["release_date"] == "2024-05-07"
