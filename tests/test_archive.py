"""The archive on SQLite and PostgreSQL: schema, round trips, idempotence, all-or-nothing."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from purport import ingest
from purport.archive import Archive, Provenance, store
from purport.archive.db import VERSION_TABLE, head_version
from purport.archive.schema import metadata
from purport.errors import ArchiveError, MediaError, NotFoundError, ParameterError

PROV = Provenance(source_url="https://example.org/a", outlet="Example Media",
                  channel="telegram", released=dt.date(2015, 5, 14))


def test_init_creates_schema_at_newest_version(archive):
    assert archive.schema_version == head_version()
    info = archive.info()
    assert info["schema_version"] == head_version()
    assert info["counts"] == {"speakers": 0, "recordings": 0, "sightings": 0, "releases": 0}


def test_migrated_schema_matches_table_definitions(archive):
    with archive.engine.connect() as conn:
        # the full-text index (FTS5 and its shadow tables; a GIN index) lives outside the model
        ctx = MigrationContext.configure(conn, opts={
            "version_table": VERSION_TABLE,
            "include_name": lambda name, kind, parent: not (
                name or "").startswith("transcript_search")})
        diffs = compare_metadata(ctx, metadata)
    assert diffs == []


def test_add_round_trip_keeps_media_facts_provenance_and_release(archive, wavs):
    archive.add_speaker("Speaker A", aliases=["A. Example"])
    (path,) = wavs(1, seconds=2.0)
    (result,) = ingest.add_files(archive, [path], role="reference", speaker="A. Example",
                                 provenance=PROV)
    assert result.status == "added"
    rec = archive.recording(result.recording.id)
    assert rec.name == "talk0.wav" and rec.role == "reference" and rec.speaker == "Speaker A"
    assert rec.codec == "pcm_s16le" and rec.sample_rate == 16000 and rec.channels == 1
    assert rec.duration == pytest.approx(2.0, abs=0.01)
    assert rec.storage == "copy" and archive.store in __import__("pathlib").Path(
        rec.stored_path).parents
    assert open(rec.stored_path, "rb").read() == path.read_bytes()
    (seen,) = rec.sightings
    assert (seen.source_url, seen.outlet, seen.channel, seen.released) == (
        "https://example.org/a", "Example Media", "telegram", dt.date(2015, 5, 14))
    (release,) = archive.releases(speaker="Speaker A")
    assert release.date == dt.date(2015, 5, 14) and release.channels == ["telegram"]
    assert release.recording_ids == [rec.id]
    assert archive.recording(rec.sha256[:10]).id == rec.id
    assert rec.to_dict()["sightings"][0]["released"] == "2015-05-14"


def test_readding_same_bytes_merges_provenance_instead_of_duplicating(archive, wavs):
    archive.add_speaker("Speaker A")
    (path,) = wavs(1)
    ingest.add_files(archive, [path], role="reference", speaker="Speaker A", provenance=PROV)
    mirror = Provenance(source_url="https://example.org/mirror", channel="twitter",
                        released=PROV.released)
    (again,) = ingest.add_files(archive, [path], provenance=mirror)
    assert again.status == "already present"
    assert "new sighting" in again.merged
    assert len(archive.recordings()) == 1
    rec = archive.recordings()[0]
    assert [s.source_url for s in rec.sightings] == ["https://example.org/a",
                                                     "https://example.org/mirror"]
    (release,) = archive.releases()
    assert release.channels == ["telegram", "twitter"]
    (third,) = ingest.add_files(archive, [path], provenance=mirror)
    assert third.merged == [] and len(archive.recording(rec.id).sightings) == 2


def test_failing_batch_leaves_no_rows_and_no_stored_copies(archive, wavs, tmp_path):
    paths = wavs(10)
    paths[6].write_text("not audio at all\n")
    with pytest.raises(MediaError, match=r"file 7 of 10 failed, nothing was added: .*talk6"):
        ingest.add_files(archive, paths, role="questioned")
    assert archive.recordings() == []
    assert archive.info()["counts"]["sightings"] == 0
    assert not archive.store.exists() or not any(
        p.is_file() and p.name != store.MARK for p in archive.store.rglob("*"))


def test_interrupt_mid_batch_rolls_everything_back(archive, wavs):
    paths = wavs(4)

    def interrupt(i, n, path):
        if i == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest.add_files(archive, paths, progress=interrupt)
    assert archive.recordings() == []
    assert not any(p.is_file() and p.name != store.MARK for p in archive.store.rglob("*"))
    ingest.add_files(archive, paths)  # and the archive is still usable
    assert len(archive.recordings()) == 4


def test_remove_deletes_recording_its_links_empty_release_and_copy(archive, wavs):
    archive.add_speaker("Speaker A")
    a, b = wavs(2)
    (ra,) = ingest.add_files(archive, [a], speaker="Speaker A", provenance=PROV)
    (rb,) = ingest.add_files(archive, [b], speaker="Speaker A", provenance=PROV)
    stored = ra.recording.stored_path
    archive.remove_recording(ra.recording.id)
    assert [r.id for r in archive.recordings()] == [rb.recording.id]
    assert not __import__("os").path.exists(stored)
    (release,) = archive.releases()
    assert release.recording_ids == [rb.recording.id]
    archive.remove_recording(rb.recording.sha256)
    assert archive.releases() == []
    with pytest.raises(NotFoundError):
        archive.remove_recording(rb.recording.id)


def test_linked_recording_keeps_original_path(archive, wavs):
    (path,) = wavs(1)
    (r,) = ingest.add_files(archive, [path], copy=False)
    assert r.recording.storage == "link" and r.recording.stored_path == str(path.resolve())
    archive.remove_recording(r.recording.id)
    assert path.exists()  # removing a link never deletes the user's file


def test_conflicting_role_or_speaker_is_refused_not_overwritten(archive, wavs):
    archive.add_speaker("Speaker A")
    archive.add_speaker("Speaker B")
    (path,) = wavs(1)
    ingest.add_files(archive, [path], role="reference", speaker="Speaker A")
    with pytest.raises(ArchiveError, match="role reference, not questioned"):
        ingest.add_files(archive, [path], role="questioned")
    with pytest.raises(ArchiveError, match="filed under speaker 'Speaker A'"):
        ingest.add_files(archive, [path], speaker="Speaker B")
    rec = archive.recordings()[0]
    assert (rec.role, rec.speaker) == ("reference", "Speaker A")


def test_speaker_found_by_alias_and_shared_alias_is_ambiguous(archive):
    archive.add_speaker("Speaker A", aliases=["The Sheikh", "A. Example"])
    speaker, created = archive.add_speaker("Speaker A", aliases=["Abu A"])
    assert not created and speaker.aliases == ["The Sheikh", "A. Example", "Abu A"]
    assert archive.speaker("A. Example").name == "Speaker A"
    archive.add_speaker("Speaker B", aliases=["The Sheikh"])
    with pytest.raises(ArchiveError, match="shared by several speakers"):
        archive.speaker("The Sheikh")
    with pytest.raises(NotFoundError, match="speaker add"):
        archive.speaker("Nobody")
    with pytest.raises(ParameterError):
        archive.add_speaker("  ")


def test_unknown_speaker_fails_before_anything_is_decoded(archive, wavs):
    with pytest.raises(NotFoundError):
        ingest.add_files(archive, wavs(1), speaker="Nobody")
    assert archive.recordings() == []


def test_listing_filters_by_speaker_and_role(archive, wavs):
    archive.add_speaker("Speaker A")
    a, b, c = wavs(3)
    ingest.add_files(archive, [a, b], role="reference", speaker="Speaker A")
    ingest.add_files(archive, [c], role="questioned")
    assert [r.name for r in archive.recordings(speaker="Speaker A")] == ["talk0.wav", "talk1.wav"]
    assert [r.name for r in archive.recordings(role="questioned")] == ["talk2.wav"]
    with pytest.raises(ParameterError):
        archive.recordings(role="authentic")


def test_reopening_an_archive_keeps_what_was_stored(db_url, tmp_path, wavs):
    with Archive.init(db_url, store_dir=tmp_path / "s") as first:
        ingest.add_files(first, wavs(2))
    with Archive(db_url, store_dir=tmp_path / "s") as second:
        assert len(second.recordings()) == 2 and second.schema_version == head_version()


def test_newer_schema_than_this_purport_is_refused(db_url, tmp_path):
    Archive.init(db_url).close()
    engine = sa.create_engine(db_url if "://" in db_url else f"sqlite:///{db_url}")
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(ArchiveError, match="newer than this purport"):
        Archive(db_url)


# -- SQLite-only behaviour ----------------------------------------------------------

def test_opening_a_missing_file_says_to_run_init(tmp_path):
    with pytest.raises(NotFoundError, match="purport init"):
        Archive(str(tmp_path / "nothing.db"))
    assert not (tmp_path / "nothing.db").exists()


def test_empty_file_is_migrated_from_nothing(tmp_path):
    path = tmp_path / "empty.db"
    path.touch()
    with Archive(str(path)) as archive:
        assert archive.schema_version == head_version()


def test_file_that_is_not_sqlite_is_refused(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("hello, this is not a database" * 100)
    with pytest.raises(ArchiveError, match="not a purport archive"):
        Archive.init(str(path))
    assert path.read_text().startswith("hello")


def test_foreign_sqlite_database_is_refused(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE stuff (x)")
    with pytest.raises(ArchiveError, match="not a purport archive"):
        Archive(str(path))


def test_sqlite_archive_uses_wal_and_foreign_keys(tmp_path):
    with Archive.init(str(tmp_path / "a.db")) as archive, archive.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_default_location_is_purport_db_or_env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PURPORT_DB", raising=False)
    with Archive.init() as archive:
        assert archive.info()["db"].endswith("/purport.db")
        assert archive.store == tmp_path / "purport-files"
    monkeypatch.setenv("PURPORT_DB", str(tmp_path / "elsewhere.db"))
    with Archive.init() as archive:
        assert archive.info()["db"].endswith("/elsewhere.db")


def test_unsupported_url_is_a_parameter_error():
    with pytest.raises(ParameterError, match="unsupported database URL"):
        Archive("mysql://user:secret@host/db")


def test_tokens_keep_only_a_hash_and_can_be_revoked(archive):
    from purport.archive.schema import tokens

    token, secret = archive.create_token("desk", scope="write")
    assert secret.startswith("pp_") and len(secret) > 40
    with archive.engine.connect() as conn:
        stored = conn.execute(sa.select(tokens.c.secret_sha256)).scalars().all()
    assert secret not in stored and len(stored[0]) == 64
    found = archive.token_for_secret(secret)
    assert found.id == token.id and found.allows("write") and found.last_used_at is not None
    assert archive.token_for_secret(secret + "x") is None
    reader, read_secret = archive.create_token("reader")
    assert archive.token_for_secret(read_secret).allows("read")
    assert not archive.token_for_secret(read_secret).allows("write")
    archive.revoke_token(token.id)
    assert archive.token_for_secret(secret) is None
    assert [t.revoked_at is not None for t in archive.tokens()] == [True, False]
    with pytest.raises(ParameterError):
        archive.create_token("x", scope="admin")
    with pytest.raises(NotFoundError):
        archive.revoke_token(999)


def test_jobs_and_assessments_round_trip(archive, wavs):
    (added,) = ingest.add_files(archive, wavs(1))
    job = archive.add_job("verify", {"file": "talk0.wav"})
    assert (job.state, job.progress) == ("queued", 0.0)
    archive.update_job(job.id, state="running", progress=0.4, message="voice")
    done = archive.update_job(job.id, state="done", progress=1.0, result={"assessment_id": 1})
    assert done.state == "done" and done.result == {"assessment_id": 1}
    assert done.started_at is not None and done.finished_at is not None
    assert [j.id for j in archive.jobs(states=("done",))] == [job.id]
    stored = archive.add_assessment(added.recording.id, {"schema_version": "1.0", "x": [1, 2]},
                                    claimed_speaker="Speaker A")
    kept = archive.assessment(stored.id).data
    custody = kept.pop("custody")
    assert kept == {"schema_version": "1.0", "x": [1, 2]}
    assert [(c["action"], c["subject"], c["input_sha256"]) for c in custody] == [
        ("recording added", f"recording {added.recording.id}", added.recording.sha256)]
    assert [a.id for a in archive.assessments(recording=added.recording.id)] == [stored.id]
    archive.remove_recording(added.recording.id)  # its assessments go with it
    with pytest.raises(NotFoundError):
        archive.assessment(stored.id)
