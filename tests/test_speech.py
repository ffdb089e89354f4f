"""What was said: transcription with the speech extra, transcripts in the archive, search
across them (Arabic spelling variants included), and content dating from the audio."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from purport.archive import Archive
from purport.media import probe
from purport.speech import model as asr_model
from purport.speech.textnorm import normalize
from tests.conftest import write_wav

HAVE_EXTRA = (importlib.util.find_spec("faster_whisper") is not None
              and asr_model.part_folders() is not None)
needs_extra = pytest.mark.skipif(not HAVE_EXTRA, reason='the speech extra is not installed '
                                 '(pip install -e ".[speech]"; CI installs it)')
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                  reason="espeak-ng (Debian package) generates the speech")


def _say(path: Path, text: str, voice: str = "en-us") -> Path:
    subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(path), text], check=True)
    return path


def _segments(*texts: str) -> list[dict]:
    return [{"start": 4.0 * i, "end": 4.0 * i + 4.0, "text": t, "words": []}
            for i, t in enumerate(texts)]


# -- normalisation and search (no model needed) ------------------------------------------

@pytest.mark.parametrize("a, b", [
    ("الرمادي", "الرمادى"),              # ya / alef maqsura
    ("مدينةُ", "مدينه"),                 # damma, ta marbuta
    ("إن الدولة الإسلامية", "ان الدوله الاسلاميه"),  # hamza alefs, ta marbuta
    ("الخلافـــة", "الخلافة"),            # tatweel
    ("آمنوا", "امنوا"),                   # madda alef
    ("٢٠١٥", "2015"),                     # Arabic-Indic digits
    ("The Government, Compound!", "the government compound"),
])
def test_spelling_variants_normalise_to_one_form(a, b):
    assert normalize(a) == normalize(b)


def test_search_finds_a_phrase_across_two_recordings_and_an_arabic_variant(archive, tmp_path):
    archive.add_speaker("Abu Fulan al-Mithali")
    one, _, _ = archive.add_recording(probe(write_wav(tmp_path / "a.wav", seconds=1.0)),
                                      speaker="Abu Fulan al-Mithali")
    two, _, _ = archive.add_recording(probe(write_wav(tmp_path / "b.wav", seconds=1.0,
                                                      seed=4)))
    archive.add_transcript(one.id, {"model": "test", "language": "en", "segments": _segments(
        "Praise be to God.", "Your brothers took the government compound in Ramadi.",
        "Go forth.")})
    archive.add_transcript(two.id, {"model": "test", "language": "ar", "segments": _segments(
        "وقد سقطت مدينةُ الرمادي", "Near the government compound, the enemy fled.")})
    hits = archive.search_transcripts("government compound")
    assert [(h["recording_id"], h["start"]) for h in hits] == [(one.id, 4.0), (two.id, 4.0)]
    assert hits[0]["before"] == "Praise be to God." and hits[0]["after"] == "Go forth."
    [arabic] = archive.search_transcripts("مدينة الرمادى")  # other spellings of both words
    assert arabic["recording_id"] == two.id and arabic["start"] == 0.0
    assert [h["recording_id"] for h in archive.search_transcripts(
        "government compound", speaker="Abu Fulan al-Mithali")] == [one.id]
    assert archive.search_transcripts("compound government") == []  # words in order
    archive.remove_recording(one.id)
    assert [h["recording_id"] for h in archive.search_transcripts("government compound")] == \
        [two.id]


def test_a_user_transcript_is_kept_beside_the_automatic_one_and_marked(archive, tmp_path):
    rec, _, _ = archive.add_recording(probe(write_wav(tmp_path / "a.wav", seconds=1.0)))
    archive.add_transcript(rec.id, {"model": "whisper-test", "segments": _segments("one")})
    archive.add_transcript(rec.id, {"model": "given by the user (t.txt)", "source": "user",
                                    "kind": "translation", "segments": _segments("two"),
                                    "input_sha256": "ab" * 32})
    archive.add_transcript(rec.id, {"model": "whisper-test", "segments": _segments("three")})
    kept = archive.transcripts(rec.id)
    assert sorted((t["source"], t["kind"]) for t in kept) == [
        ("automatic", "transcript"), ("user", "translation")]  # the same model's replaced
    assert {t["data"]["segments"][0]["text"] for t in kept} == {"three", "two"}
    assert archive.audit_count(subject=f"recording {rec.id}") >= 4


def test_search_of_no_words_is_refused_in_one_line(tmp_path, capsys):
    from purport.cli import main

    db = str(tmp_path / "a.db")
    Archive.init(db, store_dir=tmp_path / "s").close()
    with pytest.raises(SystemExit) as exit_:
        main(["search", "?!", "--db", db])
    assert exit_.value.code == 1
    assert capsys.readouterr().err.strip().count("\n") == 0


def test_without_the_extra_transcribe_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    from purport.cli import main

    monkeypatch.setattr(asr_model, "part_folders", lambda: None)
    monkeypatch.delenv("PURPORT_ASR_MODEL", raising=False)
    clip = write_wav(tmp_path / "a.wav", seconds=1.0)
    with pytest.raises(SystemExit) as exit_:
        main(["transcribe", str(clip)])
    err = capsys.readouterr().err
    assert exit_.value.code == 1 and 'pip install -e ".[speech]"' in err
    assert err.strip().count("\n") == 0


# -- the model and its checksum -----------------------------------------------------------

@needs_extra
def test_the_model_is_joined_checked_and_a_damaged_copy_is_rebuilt(tmp_path):
    cache = tmp_path / "cache"
    model = asr_model.packaged_model(cache=cache)
    assert model.sha256 == asr_model.BASE_SHA256 and "joined" in model.checked
    target = model.path / "model.bin"
    with open(target, "r+b") as f:  # one flipped byte in the cached copy
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 0xFF]))
    again = asr_model.packaged_model(cache=cache)
    assert "joined" in again.checked and asr_model.sha256_of(target) == asr_model.BASE_SHA256
    assert "checked at load" in asr_model.packaged_model(cache=cache).checked


@needs_extra
def test_damaged_model_parts_are_refused_in_one_line(tmp_path):
    parts = []
    for i, folder in enumerate(asr_model.part_folders()):
        copy = tmp_path / f"part{i}"
        shutil.copytree(folder, copy)
        parts.append(copy)
    [chunk] = list(parts[1].glob("model.bin.part*"))
    with open(chunk, "r+b") as f:
        f.seek(-10, 2)
        f.write(b"\0" * 10)
    with pytest.raises(asr_model.ModelError) as err:
        asr_model.packaged_model(parts=parts, cache=tmp_path / "cache")
    assert "not the pinned" in str(err.value) and "\n" not in str(err.value)
    assert not list((tmp_path / "cache").rglob("model.bin"))  # nothing half-written kept


# -- transcription ------------------------------------------------------------------------

@needs_extra
@needs_espeak
def test_a_generated_english_clip_is_transcribed_with_its_words_and_times(tmp_path, capsys):
    from purport.cli import main

    clip = _say(tmp_path / "clip.wav", "The convoy was attacked near the river on Tuesday "
                "morning, and nine soldiers were wounded.")
    with pytest.raises(SystemExit) as exit_:
        main(["transcribe", str(clip), "--json"])
    assert exit_.value.code in (0, None)
    said = json.loads(capsys.readouterr().out)
    words = {w["word"].strip(".,").lower() for s in said["segments"] for w in s["words"]}
    assert {"convoy", "attacked", "river", "tuesday", "soldiers", "wounded"} <= words
    assert said["language"] == "en" and said["language_probability"] > 0.5
    assert said["model_sha256"] == asr_model.BASE_SHA256 and said["source"] == "automatic"
    times = [w["start"] for s in said["segments"] for w in s["words"]]
    assert times == sorted(times) and 0 <= times[0] < times[-1] <= said["duration"]
    with pytest.raises(SystemExit):
        main(["transcribe", str(clip), "--srt"])
    assert "00:00:00,000 --> " in capsys.readouterr().out


@needs_extra
@needs_espeak
def test_add_transcribe_then_search_finds_it(tmp_path, capsys):
    from purport.cli import main

    db = str(tmp_path / "a.db")
    Archive.init(db, store_dir=tmp_path / "s").close()
    a = _say(tmp_path / "a.wav", "Our brothers have taken the government compound in the "
             "city.")
    b = _say(tmp_path / "b.wav", "The soldiers fled from the government compound at night.")
    with pytest.raises(SystemExit) as exit_:
        main(["add", str(a), str(b), "--transcribe", "--language", "en", "--db", db])
    assert exit_.value.code in (0, None)
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["search", "government compound", "--json", "--db", db])
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert sorted(h["recording"] for h in hits) == ["a.wav", "b.wav"]


@needs_extra
@needs_espeak
def test_verify_dates_a_recording_from_its_own_words_without_a_transcript(tmp_path):
    from purport.assess import verify_and_file

    clip = _say(tmp_path / "q.wav", "Praise be to God. Your brothers have taken the "
                "government compound in Ramadi, and the enemy has fled the city.")
    events = tmp_path / "events.csv"
    events.write_text("date,title,description,keywords\n"
                      "2015-05-15,Fall of Ramadi,Islamic State fighters captured the "
                      "government compound in Ramadi,Ramadi\n"
                      "2014-06-10,Fall of Mosul,Fighters overran Mosul,Mosul\n")
    with Archive.init(str(tmp_path / "a.db"), store_dir=tmp_path / "s") as archive:
        result, stored = verify_and_file(clip, archive=archive, events=events,
                                         transcribe=True)
        kept = archive.transcripts(stored.recording_id)
    content = result.timing["content"]
    assert content["not_before"] == "2015-05-15", content
    evidence = content["evidence"][0]
    assert "Ramadi" in evidence["sentence"] and evidence["at"][1] > evidence["at"][0]
    assert result.transcript["source"] == "automatic" and "Ramadi" in result.transcript["text"]
    assert [t["source"] for t in kept] == ["automatic"]


def test_the_web_search_links_to_the_second_it_was_said(tmp_path):
    from fastapi.testclient import TestClient

    from purport.web import Settings, create_app

    db = str(tmp_path / "a.db")
    with Archive.init(db, store_dir=tmp_path / "s") as archive:
        rec, _, _ = archive.add_recording(probe(write_wav(tmp_path / "a.wav", seconds=1.0)))
        archive.add_transcript(rec.id, {"model": "test", "segments": _segments(
            "Praise be to God.", "وقد سقطت مدينةُ الرمادي")})
        _, secret = archive.create_token("desk", scope="read")
    auth = {"Authorization": f"Bearer {secret}"}
    with TestClient(create_app(Settings(db=db))) as client:
        found = client.get("/search.json", params={"q": "مدينة الرمادى"}, headers=auth).json()
        [hit] = found["hits"]
        assert hit["url"] == f"/recordings/{rec.id}?t=4#play"
        page = client.get("/search", params={"q": "مدينة الرمادى"},
                          headers={**auth, "Accept": "text/html"}).text
        assert f'href="/recordings/{rec.id}?t=4#play"' in page
        player = client.get(f"/recordings/{rec.id}", params={"t": 4},
                            headers={**auth, "Accept": "text/html"})
        assert f'src="/recordings/{rec.id}/audio#t=4"' in player.text
        assert "media-src 'self'" in player.headers["content-security-policy"]
        assert "Praise be to God." in player.text
