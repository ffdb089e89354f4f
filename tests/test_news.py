"""News: facts from written example reports (fictional speakers), dates, traps, merging."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from purport.archive import Archive
from purport.assess.record import add_reports, record
from purport.errors import ParameterError
from purport.news.extract import Extractor, duration_minutes, read_article
from purport.news.record import record_html
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
    keys = ["is_release_report", "speaker", "medium", "release_date", "release_window", "weekday",
            "media_outlet",
            "channels", "duration_minutes", "unverified", "hedges", "previous_release",
            "other_releases", "dating_clues", "targets", "calls_to_action", "context_events",
            "quotes", "evidence"]
    assert list(data)[: len(keys)] == keys
    assert data["release_date"] == "2024-05-07"


# -- held-out written articles (fictional speakers, groups and outlets) -------------------
# Written after the extractor, in newsroom styles the seeds lack; bench/news/written.json
# holds the same articles and truth (tests/test_news.py is its source: see
# test_written_set_in_the_bench_is_this_one). Outlets are fictional, so the run adds them
# as an analyst would, through the vocabulary file; channels use the default vocabulary.

WRITTEN_SPEAKERS = {"Abu Hamza al-Fictavi": ["al-Fictavi", "Abu Hamza"],
                    "Marwan Teller": ["Teller"], "Idris Marrow": ["Marrow"]}
WRITTEN_VOCAB = {"media_outlets": ["al-Sarab Media", "Nur al-Wadi Productions",
                                   "al-Manarat Media Foundation", "Harbinger Media Office",
                                   "al-Example Media Foundation"]}
WRITTEN = [
    {"id": "wire", "published": "2025-05-04", "text": """\
Militant leader urges fighters to hold ground in new audio message

BEIRUT, May 4 (Meridian Wire) - The leader of the Crescent Valley Front, Abu Hamza \
al-Fictavi, urged his fighters to hold their positions along the river in a 9-minute audio \
message released on Sunday.

The message was posted on Telegram by al-Sarab Media, the group's media arm. It was his \
first statement since January, when he called for attacks on border posts.

"Do not give them one span of land," said the voice on the recording, which resembled \
earlier speeches by al-Fictavi.

Meridian Wire could not independently verify the authenticity of the recording.

The Front has lost several towns to government forces since the start of the year, and two \
of its commanders were killed in an air strike on Thursday.

(Reporting by Lena Hart; Editing by Tom Price)
""", "expected": {
        "is_release_report": True, "speaker": "Abu Hamza al-Fictavi", "medium": "audio",
        "release_date": "2025-05-04", "weekday": "Sunday", "media_outlet": "al-Sarab Media",
        "channels": ["Telegram"], "duration_minutes": 9, "unverified": True,
        "previous_release": "2025-01"}},
    {"id": "broadcaster-video-date", "published": "2025-03-05", "text": """\
Dawn Legion chief appears in first video in six years

A video purportedly showing Marwan Teller, the reclusive emir of the Dawn Legion, was \
published on 3 March by the group's Nur al-Wadi Productions.

In the footage, which lasted nearly 20 minutes, a grey-bearded man seated in front of a \
black banner calls on supporters to "prepare for the long war". It is his first public \
statement since 2019, when he was reported wounded in a drone strike.

Analysts who watched the video said the voice and the mannerisms matched those of Teller. \
The BNC could not independently verify the video.

The Legion has been largely silent since its defeat in the eastern hills two years ago.

Image: Marwan Teller in a 2019 video released by the group.
""", "expected": {
        "is_release_report": True, "speaker": "Marwan Teller", "medium": "video",
        "release_date": "2025-03-03", "weekday": "Monday",
        "media_outlet": "Nur al-Wadi Productions", "channels": [], "duration_minutes": 20,
        "unverified": True, "previous_release": "2019"}},
    {"id": "think-tank", "published": "2025-06-13", "text": """\
Insight Brief | Coastal Shura Movement: a new address from its leader

Summary. On Thursday, 12 June, the Coastal Shura Movement's media office, al-Manarat Media \
Foundation, issued a 31-minute audio address attributed to the movement's leader, Ilyas \
Brandt-Omar. It circulated on the movement's websites and on Telegram within the hour. It \
is the leader's first address since November last year.

Assessment. The speaker refers to the ceasefire announced on 2 June, so the speech was \
recorded after that date. We have not authenticated the recording, but the voice is \
consistent with earlier messages attributed to Brandt-Omar.

Implications. The address calls on supporters abroad to strike shipping in the gulf and to \
send money to the movement's fighters. We expect the movement's affiliates to amplify it in \
the coming days.
""", "expected": {
        "is_release_report": True, "speaker": "Ilyas Brandt-Omar", "medium": "audio",
        "release_date": "2025-06-12", "weekday": "Thursday",
        "media_outlet": "al-Manarat Media Foundation", "channels": ["websites", "Telegram"],
        "duration_minutes": 31, "unverified": True, "previous_release": "2024-11"}},
    {"id": "regional-video", "published": "2025-08-14", "text": """\
Video of wanted militant surfaces online

By Sara Quill, Valley Courier

A man claimed to be Abu Hamza al-Fictavi, the Crescent Valley Front leader wanted for the \
2021 bombing of the Harrow bus station, appears in a video posted on the group's Facebook \
and YouTube pages on Tuesday.

In Tuesday's video, of about 12 minutes, the man sits beside a rifle and reads from a sheet \
of paper. He praises the fighters who attacked the Lanford checkpoint last month and warns \
local councils against working with the army.

Police in Harrow said they were aware of the footage and were examining it. His last video \
appeared in March.

Both platforms removed the pages on Wednesday after complaints from residents.
""", "expected": {
        "is_release_report": True, "speaker": "Abu Hamza al-Fictavi", "medium": "video",
        "release_date": "2025-08-12", "weekday": "Tuesday", "media_outlet": None,
        "channels": ["Facebook", "YouTube"], "duration_minutes": 12, "unverified": False,
        "previous_release": "2025-03"}},
    {"id": "passing-mention", "published": "2025-09-09", "text": """\
Flood waters recede in Harrow province

Flood waters began to recede across Harrow province on Monday, officials said, a week after \
the river burst its banks and forced thousands from their homes.

The provincial governor said 14 people had died and that relief convoys had reached most of \
the cut-off villages. Aid groups warned of a shortage of clean water.

Residents of Lanford said the area had been controlled for years by the Crescent Valley \
Front, whose leader Abu Hamza al-Fictavi last issued a statement in the spring. The group \
has not commented on the floods.

Engineers are expected to begin repairs to the main bridge on Thursday.
""", "expected": {
        "is_release_report": False, "speaker": "Abu Hamza al-Fictavi", "medium": None,
        "release_date": None, "weekday": None, "media_outlet": None, "channels": [],
        "duration_minutes": None, "unverified": False, "previous_release": None}},
    {"id": "casualty-figures", "published": "2025-10-02", "text": """\
Commander claims attack in audio message

Militant commander Tariq Osei-Halloran released a 7-minute audio message on Wednesday in \
which he claimed that his fighters had killed 40 soldiers in an ambush near the northern \
pass.

The message was released through the Harbinger Media Office and circulated on Telegram \
and X.

The death toll he gave in the recording could not be independently verified. The defence \
ministry said two soldiers were wounded in the clash and denied any deaths.

Osei-Halloran, who leads the Black Ridge Battalion, has issued several such claims this \
year. He urged young men in the border towns to join the battalion.
""", "expected": {
        "is_release_report": True, "speaker": "Tariq Osei-Halloran", "medium": "audio",
        "release_date": "2025-10-01", "weekday": "Wednesday",
        "media_outlet": "Harbinger Media Office", "channels": ["Telegram", "Twitter"],
        "duration_minutes": 7, "unverified": False, "previous_release": None}},
    {"id": "new-channels", "published": "2025-11-22", "text": """\
Brigades spokesman issues new speech

The Northern Shield Brigades' outlet, al-Example Media Foundation, posted a new audio \
speech by the brigades' spokesman, Abu Layth al-Norani, on its Rocket.Chat and Element \
channels late on Friday.

In the 14-minute speech, al-Norani mocks the government's amnesty offer and says the \
brigades will "answer every raid with ten". It was the first recording from him in more \
than a year.

Supporters reposted the speech on other platforms within hours, according to researchers \
who track the group's output.

The Brigades are blamed for a string of attacks on power stations in the north.
""", "expected": {
        "is_release_report": True, "speaker": "Abu Layth al-Norani", "medium": "audio",
        "release_date": "2025-11-21", "weekday": "Friday",
        "media_outlet": "al-Example Media Foundation", "channels": ["Rocket.Chat", "Element"],
        "duration_minutes": 14, "unverified": False, "previous_release": "2024-11"}},
    {"id": "us-regional-date", "published": "2025-04-02", "text": """\
Cleric's new speech urges followers to shun elections

Sheikh Idris Marrow, the chief ideologue of the Sword of the Valley Movement, told \
followers to boycott next month's provincial elections in an audio recording released \
March 30 on the movement's websites.

The roughly 25-minute speech, delivered in a calm monotone, repeats themes from his earlier \
sermons. Marrow's previous speech was published in December.

It was not possible to verify the recording's authenticity, and the movement did not \
respond to questions sent through its website.

Election officials said Tuesday that security would be tightened at polling stations in the \
valley.
""", "expected": {
        "is_release_report": True, "speaker": "Idris Marrow", "medium": "audio",
        "release_date": "2025-03-30", "weekday": "Sunday", "media_outlet": None,
        "channels": ["websites"], "duration_minutes": 25, "unverified": True,
        "previous_release": "2024-12"}},
    {"id": "written-statement", "published": "2025-07-08", "text": """\
Militant chief denies rift in written statement

The chief of the Red Cliffs Alliance, Hamid Varga, issued a written statement yesterday \
denying reports of a split among the alliance's commanders, the group's media office said.

The statement, which ran to three pages, was shared on the alliance's Telegram channel. Its \
authenticity could not be confirmed.

In the text, Varga calls the reports "lies spread by the enemy's radios" and insists that \
the alliance "remains one body".

Regional officials had said last week that at least two commanders had defected with their \
fighters.
""", "expected": {
        "is_release_report": True, "speaker": "Hamid Varga", "medium": "text",
        "release_date": "2025-07-07", "weekday": "Monday", "media_outlet": None,
        "channels": ["Telegram"], "duration_minutes": None, "unverified": True,
        "previous_release": None}},
    {"id": "year-boundary-hour", "published": "2026-01-02", "text": """\
New year, old threats: militant leader's message examined

An audio message released on 28 December by the media wing of the Crescent Valley Front, \
al-Sarab Media, has been attributed by the group to its leader, Abu Hamza al-Fictavi. The \
Harrow Herald, which obtained a copy, said the message lasted about an hour.

In the recording, the speaker urges followers to attack "the traitors' banks" in Harrow and \
Lanford. The claims of recent battlefield victories in the message could not be verified.

Al-Fictavi's previous audio message, released in May, was about 9 minutes long.

Photo: A screenshot of the video the group released in August.
""", "expected": {
        "is_release_report": True, "speaker": "Abu Hamza al-Fictavi", "medium": "audio",
        "release_date": "2025-12-28", "weekday": "Sunday",
        "media_outlet": "al-Sarab Media",
        "channels": [], "duration_minutes": 60, "unverified": False,
        "previous_release": "2025-05"}},
]
WRITTEN_FIELDS = ["is_release_report", "speaker", "medium", "release_date", "weekday",
                  "media_outlet", "channels", "duration_minutes", "unverified"]


@pytest.fixture(scope="module")
def written_vocab(tmp_path_factory):
    path = tmp_path_factory.mktemp("vocab") / "vocab.json"
    path.write_text(json.dumps(WRITTEN_VOCAB))
    return load_vocabulary(path)


@pytest.mark.parametrize("case", WRITTEN, ids=[c["id"] for c in WRITTEN])
def test_written_article_fields(case, written_vocab):
    r = Extractor(speakers=WRITTEN_SPEAKERS, vocab=written_vocab).extract(
        case["text"], published=dt.date.fromisoformat(case["published"]))
    want = case["expected"]
    got = {f: getattr(r, f) for f in WRITTEN_FIELDS}
    got["channels"] = sorted(got["channels"])
    got["previous_release"] = r.previous_release["date"] if r.previous_release else None
    assert got == {**want, "channels": sorted(want["channels"])}


def test_written_set_in_the_bench_is_this_one():
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "bench/news/written.json"
    data = json.loads(path.read_text())
    assert data["articles"] == WRITTEN and data["speakers"] == WRITTEN_SPEAKERS
    assert data["vocab"] == WRITTEN_VOCAB
    assert data["fresh"] == WRITTEN_FRESH and data["fresh_vocab"] == WRITTEN_FRESH_VOCAB


def test_a_channel_not_in_the_vocabulary_is_not_invented_and_a_user_can_add_it(tmp_path):
    text = ("The Example Brigades released an audio message by their leader Abu Fulan "
            "al-Mithali on Sunday on their Chirpline and Telegram channels.")
    r = extract(text, "2024-05-06")
    assert r.channels == ["Telegram"]
    extra = tmp_path / "vocab.json"
    extra.write_text(json.dumps({"channels": {"Chirpline": ["chirpline"]}}))
    r = extract(text, "2024-05-06", vocab=load_vocabulary(extra))
    assert sorted(r.channels) == ["Chirpline", "Telegram"]


@pytest.mark.parametrize("text, minutes", [
    ("the message lasted about an hour", 60), ("a recording lasting nearly two hours", 120),
    ("he spoke of events an hour before the raid", None), ("of about 12 minutes", 12),
])
def test_durations_in_hours(text, minutes):
    assert duration_minutes(text) == minutes


# A second batch, written after the fixes for the first and scored before any change was
# made for it (bench/news/results.md, "fresh batch").
WRITTEN_FRESH_VOCAB = {"media_outlets": ["Saut al-Jabal Foundation", "Lantern Media Center"]}
WRITTEN_FRESH = [
    {"id": "ap-months", "published": "2025-02-10", "text": """\
Militant leader threatens new attacks in purported audio

CAIRO (Example Press) - Umar Kessler-Diallo, the leader of the Eastern Hills Army, \
threatened new attacks on the capital in an audio recording posted online late Saturday, his \
first message in 18 months.

In the 17-minute recording, released by the group's Saut al-Jabal Foundation, the speaker \
said the army's fighters were "closer than the government thinks." The Associated Example \
could not confirm the authenticity of the recording, which was distributed through the \
group's usual Telegram channels.

The army has claimed a series of bombings in the capital since the autumn, including one on \
a market in November that killed 12 people.

Kessler-Diallo has not been seen in public since 2021.
""", "expected": {
        "is_release_report": True, "speaker": "Umar Kessler-Diallo", "medium": "audio",
        "release_date": "2025-02-08", "weekday": "Saturday",
        "media_outlet": "Saut al-Jabal Foundation", "channels": ["Telegram"],
        "duration_minutes": 17, "unverified": True, "previous_release": "2023-08"}},
    {"id": "captive-video", "published": "2025-06-19", "text": """\
Group releases video of captured pilot

A militant group in the north has released a video it says shows a captured air force \
pilot, days after his jet went down near the border.

The video, which runs for just over four minutes, was published on Wednesday by the Lantern \
Media Center, the media arm of the Iron Wadi Brigades, and was shared widely online.

In it, a man in a flight suit reads a statement. The BNC has not verified the footage. The \
Brigades' leader, Sami Rahal-Dorn, does not appear in the video.

The defence ministry said on Tuesday that the pilot had ejected safely.
""", "expected": {
        "is_release_report": True, "speaker": None, "medium": "video",
        "release_date": "2025-06-18", "weekday": "Wednesday",
        "media_outlet": "Lantern Media Center", "channels": [], "duration_minutes": 4,
        "unverified": True, "previous_release": None}},
    {"id": "monitoring-note", "published": "2025-09-23", "text": """\
Monitoring note: Valley Shura rejects talks

The Valley Shura's spokesman, Harun Bex, issued an audio statement on 21 September \
rejecting the proposed talks with the provincial council. The message, about six minutes \
long, appeared on the group's Telegram and on its website.

The authenticity of the statement could not be established. Bex's last audio statement was \
in July.

The council has said it will go ahead with the talks in October regardless, and that \
observers from the neighbouring provinces have been invited.
""", "expected": {
        "is_release_report": True, "speaker": "Harun Bex", "medium": "audio",
        "release_date": "2025-09-21", "weekday": "Sunday", "media_outlet": None,
        "channels": ["Telegram", "websites"], "duration_minutes": 6, "unverified": True,
        "previous_release": "2025-07"}},
    {"id": "court-mention", "published": "2025-01-14", "text": """\
Two men jailed for sharing militant propaganda

A court in Harrow on Monday sentenced two men to four years in prison for sharing videos and \
audio messages of the Crescent Valley Front leader Abu Hamza al-Fictavi in a messaging group.

Prosecutors said the men had posted more than 200 files between 2022 and 2023, some of them \
within hours of their release.

The judge said the recordings glorified attacks on civilians and had reached thousands of \
young people in the province.
""", "expected": {
        "is_release_report": False, "speaker": "Abu Hamza al-Fictavi", "medium": None,
        "release_date": None, "weekday": None, "media_outlet": None, "channels": [],
        "duration_minutes": None, "unverified": False, "previous_release": None}},
    {"id": "resurfaces", "published": "2025-04-29", "text": """\
Local militia chief resurfaces

Rafiq Semmel-Ode, the commander of the Salt Marsh Militia, has resurfaced in a new audio \
message after months of rumours that he had been killed.

In the roughly 11-minute message, which the militia's supporters began circulating on Sunday \
on WhatsApp and Telegram, Semmel-Ode says he is "alive and among my men".

The Marsh Gazette was unable to authenticate the recording independently.

It is the first time he has been heard from since December. Residents of the marsh towns \
said his fighters had set up new checkpoints on the coast road last week.
""", "expected": {
        "is_release_report": True, "speaker": "Rafiq Semmel-Ode", "medium": "audio",
        "release_date": "2025-04-27", "weekday": "Sunday", "media_outlet": None,
        "channels": ["WhatsApp", "Telegram"], "duration_minutes": 11, "unverified": True,
        "previous_release": "2024-12"}},
    {"id": "us-abbrev-date", "published": "2025-01-13", "text": """\
Militant cleric calls for uprising in hour-long sermon

(Example Wire) - Idris Marrow, the Sword of the Valley Movement's ideologue, called for an \
uprising against the provincial government in an hour-long sermon released by the \
movement's media office on Jan. 12.

In Sunday's recording, Marrow also mocked the army's new commander. His previous sermon, \
released in October, had called for a boycott of the census.

Example Wire could not independently verify the recording, which appeared on the movement's \
Telegram channel and on YouTube before it was taken down.
""", "expected": {
        "is_release_report": True, "speaker": "Idris Marrow", "medium": "audio",
        "release_date": "2025-01-12", "weekday": "Sunday", "media_outlet": None,
        "channels": ["Telegram", "YouTube"], "duration_minutes": 60, "unverified": True,
        "previous_release": "2024-10"}},
]


@pytest.mark.parametrize("case", WRITTEN_FRESH, ids=[c["id"] for c in WRITTEN_FRESH])
def test_written_fresh_article_fields(case, tmp_path):
    path = tmp_path / "vocab.json"
    path.write_text(json.dumps(WRITTEN_FRESH_VOCAB))
    r = Extractor(speakers=WRITTEN_SPEAKERS, vocab=load_vocabulary(path)).extract(
        case["text"], published=dt.date.fromisoformat(case["published"]))
    want = case["expected"]
    got = {f: getattr(r, f) for f in WRITTEN_FIELDS}
    got["channels"] = sorted(got["channels"])
    got["previous_release"] = r.previous_release["date"] if r.previous_release else None
    assert got == {**want, "channels": sorted(want["channels"])}


def test_news_add_takes_the_publication_date_of_one_article_on_the_command_line(tmp_path,
                                                                                capsys):
    from purport.cli import main

    article = _write(tmp_path, "a.txt", "Abu Fulan al-Mithali released an audio message on "
                     "Tuesday urging attacks, posted on Telegram. It lasted 12 minutes.")
    db = str(tmp_path / "a.db")
    with Archive.init(db, store_dir=tmp_path / "s") as archive:
        archive.add_speaker("Abu Fulan al-Mithali", aliases=["Abu Fulan"])
    with pytest.raises(SystemExit) as exit_:
        main(["news", "add", str(article), "--db", db])
    assert exit_.value.code in (0, None)
    said = capsys.readouterr().out
    assert "release 1 of Abu Fulan al-Mithali: a Tuesday (day not known)" in said
    assert "give --published" in said
    other = _write(tmp_path, "b.txt", article.read_text() + " The group said so.")
    with pytest.raises(SystemExit) as exit_:
        main(["news", "add", str(other), "--published", "2024-05-08", "--db", db])
    # a weekday alone cannot say which release it was: the undated one is not merged
    assert "release 2 of Abu Fulan al-Mithali on 2024-05-07" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:  # the same article again, now with its date
        main(["news", "add", str(article), "--published", "2024-05-08", "--db", db])
    assert "updated         report 1 a.txt: release 2 of Abu Fulan al-Mithali on 2024-05-07" \
        in capsys.readouterr().out
    with Archive(db) as archive:
        assert [r.id for r in archive.releases()] == [2]  # the empty undated one is gone
        assert archive.releases()[0].report_ids == [1, 2]
    with pytest.raises(SystemExit) as exit_:
        main(["news", "add", str(article), str(other), "--published", "2024-05-08", "--db", db])
    assert exit_.value.code == 1 and "one article file" in capsys.readouterr().err


@pytest.mark.parametrize("name, year, ordinal, day", [
    ("Eid al-Adha", 2018, "first", dt.date(2018, 8, 21)),   # as most countries kept it
    ("Eid al-Adha", 2016, None, dt.date(2016, 9, 12)),
    ("Eid al-Fitr", 2024, "first", dt.date(2024, 4, 10)),
    ("Ramadan", 2016, None, dt.date(2016, 6, 6)),
])
def test_a_holiday_dates_a_release_to_a_window_that_holds_the_day_it_was_kept(name, year,
                                                                              ordinal, day):
    from purport.news.holidays import window

    w = window(name, year, ordinal=ordinal)
    assert w.first <= day <= w.last and w.days <= 33 and "Umm al-Qura" in w.source
    assert window("Christmas", year) is None


def test_holidays_named_in_a_sentence_are_found():
    from purport.news.holidays import mentioned

    found = mentioned("It was released on the first day of Eid al-Adha, after Ramadan.", 2018)
    assert [w.name for w in found] == ["first day of eid al-adha", "ramadan"]
    assert found[0].first == dt.date(2018, 8, 20) and found[0].last == dt.date(2018, 8, 22)


def test_content_dating_uses_the_dated_events_the_stored_reports_state(tmp_path, capsys):
    from purport.cli import main
    from tests.conftest import write_wav

    a = _write(tmp_path, "a.txt", "Abu Fulan al-Mithali released an audio message on "
               "Saturday, posted on Telegram. Front fighters captured the government compound "
               "in Ramadi on Friday after days of fighting. The authenticity of the recording "
               "could not be verified.")
    b = _write(tmp_path, "b.txt", "A new audio message from Abu Fulan al-Mithali was posted "
               "on Telegram on Wednesday. Government forces retook the Haditha dam on Tuesday. "
               "The dam had been held by the Front since the winter.")
    db = str(tmp_path / "a.db")
    with Archive.init(db, store_dir=tmp_path / "s") as archive:
        archive.add_speaker("Abu Fulan al-Mithali", aliases=["Abu Fulan"])
        add_reports(archive, [a])
        add_reports(archive, [b])
    meta = _write(tmp_path, "meta.json", json.dumps({
        "a.txt": {"published": "2025-03-08"}, "b.txt": {"published": "2025-04-16"}}))
    db2 = str(tmp_path / "b.db")
    with Archive.init(db2, store_dir=tmp_path / "s2") as archive:
        archive.add_speaker("Abu Fulan al-Mithali", aliases=["Abu Fulan"])
        add_reports(archive, [a, b], meta=meta)
        from purport.assess.record import press_catalog
        catalog = press_catalog(archive)
    dated = {e.title.split(" after")[0]: e.date.isoformat() for e in catalog}
    assert dated["Front fighters captured the government compound in Ramadi on Friday"] == \
        "2025-03-07"
    assert any(d == "2025-04-15" and "Haditha" in t for t, d in dated.items())
    transcript = _write(tmp_path, "t.txt", "Praise be to God. Your brothers have taken the "
                        "government compound in Ramadi, and the enemy has fled the city.")
    clip = write_wav(tmp_path / "q.wav", seconds=3.0)
    with pytest.raises(SystemExit) as exit_:
        main(["when", str(clip), "--transcript", str(transcript), "--db", db2, "--json"])
    assert exit_.value.code in (0, None)
    content = json.loads(capsys.readouterr().out)["content"]
    assert content["not_before"] == "2025-03-07", content
    assert "report" in content["evidence"][0]["source"] and "a.txt" in \
        content["evidence"][0]["source"]
    with pytest.raises(SystemExit) as exit_:  # no reports with dated events, no CSV
        main(["when", str(clip), "--transcript", str(transcript), "--db", db])
    assert exit_.value.code == 1 and "events catalog" in capsys.readouterr().err


@pytest.mark.parametrize("sentence, published, date", [
    ("It is his first audio message since late 2022.", "2024-03-01", "2022"),
    ("It is the first statement since a recorded speech in early March, in which he spoke.",
     "2024-05-20", "2024-03"),
    ("The emir, whose last recorded speech was issued in late August 2023, spoke again.",
     "2024-05-20", "2023-08"),
    ("His previous recording, released in the summer, dealt with prisoners.", "2024-10-02",
     "2024"),
    ("His previous recording, released in the summer, dealt with prisoners.", "2024-04-02",
     "2023"),
    ("The message comes almost a year after his last recording.", "2024-04-02", "2023"),
])
def test_previous_release_in_the_words_reports_use(sentence, published, date):
    from purport.news.extract import previous_release

    assert previous_release(sentence, dt.date.fromisoformat(published))["date"] == date


def test_a_fact_check_of_a_fake_recording_is_not_a_release_report():
    text = ("Fact check: audio of Abu Fulan al-Mithali calling a truce is fabricated\n\n"
            "An audio message released on Monday on WhatsApp and said to be from Abu Fulan "
            "al-Mithali was made by splicing old speeches, experts found.")
    r = extract(text, "2024-05-09")
    assert not r.is_release_report and "fact-check" in r.evidence["not_a_release_report"]


def test_a_spokesmans_recording_that_mentions_the_leader_is_not_the_leaders_release():
    text = ("The spokesman of the Example Brigades, Abu Karim al-Wasiti, threatened the army "
            "in an audio message released on Tuesday. He said the group's leader, Abu Fulan "
            "al-Mithali, was in good health.")
    assert not extract(text, "2024-05-09").is_release_report
    own = ("The spokesman, Abu Karim al-Wasiti, threatened the army in an audio message "
           "released on Tuesday on Telegram.")  # no tracked speaker in it: his own release
    assert extract(own, "2024-05-09").is_release_report


def test_the_publication_date_comes_from_the_url_or_a_dated_dateline(tmp_path):
    from purport.news.record import extract_article

    body = ("Abu Fulan al-Mithali released an audio message on Tuesday urging attacks, posted "
            "on Telegram. The authenticity of the recording could not be verified.")
    page = _write(tmp_path, "a.txt", body)
    rec = extract_article(page, url="https://news.example/2024/05/09/leader-audio",
                          speakers=SPEAKERS)
    assert rec.published == "2024-05-09" and rec.release_date == "2024-05-07"
    assert rec.evidence["published_from"] == "its URL"
    dated = _write(tmp_path, "b.txt", "Leader speaks\n\nMOSUL, Iraq, May 9, 2024 (Wire) - "
                   + body)
    rec = extract_article(dated, speakers=SPEAKERS)
    assert rec.published == "2024-05-09" and rec.evidence["published_from"] == "its dateline"


@pytest.mark.parametrize("sentence, published, window, day", [
    ("Abu Fulan al-Mithali released an audio message this week on Telegram.", "2024-05-09",
     ("2024-05-06", "2024-05-09"), None),
    ("Abu Fulan al-Mithali released an audio message overnight, posted on Telegram.",
     "2024-05-09", ("2024-05-08", "2024-05-09"), None),
    # the holiday's calendar day, with the moon-sighting days around it kept as the window
    ("Abu Fulan al-Mithali released an audio message on the first day of Eid al-Adha.",
     "2018-08-28", ("2018-08-20", "2018-08-22"), "2018-08-21"),
    ("Abu Fulan al-Mithali released an audio message on Tuesday, the first day of Eid "
     "al-Adha.", "2018-08-28", ("2018-08-21", "2018-08-21"), "2018-08-21"),
])
def test_a_release_without_a_day_gets_the_window_the_text_gives(sentence, published, window,
                                                                 day):
    r = extract(sentence, published)
    assert (r.release_window["from"], r.release_window["to"]) == window
    assert r.release_date == day


@pytest.mark.parametrize("text, channels", [
    ("Abu Fulan al-Mithali released an audio message on Tuesday. The message, posted on the "
     "group's Telegram channel, is his first since April.", ["Telegram"]),
    ("Abu Fulan al-Mithali released an audio message on Tuesday. The address, distributed on "
     "Rocket.Chat and Element, lasts as long as his earlier sermons.", ["Rocket.Chat", "Element"]),
    ("An audio message from Abu Fulan al-Mithali surfaced on jihadist forums earlier this "
     "month.", ["websites"]),
    ("Abu Fulan al-Mithali released an audio message on Tuesday. Officials said the army had "
     "the element of surprise.", []),
])
def test_channels_named_in_a_clause_about_this_release(text, channels):
    assert extract(text, "2024-05-09").channels == channels


@pytest.mark.parametrize("sentence", [
    "It was not possible for The Daily Example to verify the authenticity of the recording.",
    "Authenticity not confirmed.",
])
def test_unverified_in_other_words(sentence):
    text = f"Abu Fulan al-Mithali released an audio message on Tuesday. {sentence}"
    assert extract(text, "2024-05-09").unverified


def test_the_outlet_named_in_a_clause_about_this_release():
    text = ("Abu Fulan al-Mithali released an audio message on Tuesday. The audio-only "
            "address, distributed by the group's al-Furqan on Telegram, repeats earlier themes.")
    assert extract(text, "2024-05-09").media_outlet == "al-Furqan"


def test_a_length_given_as_how_long_he_speaks():
    text = ("Abu Fulan al-Mithali released a video on Tuesday on Telegram. In it the leader "
            "speaks for more than an hour about the group's courts.")
    assert extract(text, "2024-05-09").duration_minutes == 60
