"""Faults a new user or an attacker meets: one line and a non-zero exit, nothing lost.

Each test here reproduces a defect found by trying purport as a new user and as an
attacker would (issue 15): it failed before the fix.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from purport import ingest, media
from purport.archive import Archive, Provenance, audit
from purport.archive import check as check_
from purport.errors import ArchiveBusyError, ArchiveError, MediaError
from tests.conftest import encode_opus, save_wav, write_wav
from tests.speechlike import speech

HUGE = "99999999999999999999999"


def copies(store: Path) -> list[Path]:
    """The files in a store (its mark naming the archive aside)."""
    return [p for p in store.rglob("*") if p.is_file() and p.name != ".purport-archive"]


def run(capsys, *args: str) -> tuple[int, str, str]:
    from purport.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    captured = capsys.readouterr()
    return exit_.value.code or 0, captured.out, captured.err


def one_line_error(code: int, err: str, *, want: int = 1) -> str:
    assert code == want, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("PURPORT_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("PURPORT_LOG_DIR", str(tmp_path / "logs"))
    db = str(tmp_path / "purport.db")
    monkeypatch.setenv("PURPORT_DB", db)
    Archive.init(db).close()
    return tmp_path


def encode_ogg(path: Path, y: np.ndarray, sr: int = 16000) -> Path:
    return encode_opus(path, y, sr=sr, kbps=24)


def damaged_in_the_middle(path: Path, out: Path) -> Path:
    """A copy of ``path`` with 1500 bytes zeroed half-way through (a damaged download)."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2: len(data) // 2 + 1500] = bytes(1500)
    out.write_bytes(bytes(data))
    return out


# -- ids, names, metadata ------------------------------------------------------------------

@pytest.mark.parametrize("args", [["show", HUGE], ["remove", HUGE], ["token", "revoke", HUGE],
                                  ["show", "0"], ["speaker", "add", "x", "--alias", "y"]])
def test_ids_past_any_row_are_not_found_not_tracebacks(capsys, env, args):
    code, _, err = run(capsys, *args)
    if args[0] == "speaker":
        assert code == 0
        return
    assert "no " in one_line_error(code, err)


def test_ids_past_any_row_in_the_api(env):
    with Archive() as archive:
        for lookup in (archive.recording, archive.speaker, archive.job, archive.assessment,
                       archive.revoke_token):
            with pytest.raises(ArchiveError, match="no "):
                lookup(int(HUGE))


def test_a_file_name_that_is_not_utf8_is_added_with_escapes(capsys, env):
    name = os.fsdecode(b"\xff\xfemessage.wav")
    path = write_wav(env / name, seconds=2.0)
    code, out, err = run(capsys, "add", str(path), "--json")
    assert code == 0, err
    assert json.loads(out)[0]["recording"]["name"] == "\\xff\\xfemessage.wav"
    code, _, err = run(capsys, "add", str(write_wav(env / name, seconds=2.0, seed=3)),
                       "--no-copy")
    assert "not valid UTF-8" in one_line_error(code, err)


# -- bad audio is refused ------------------------------------------------------------------

def test_an_ogg_opus_file_cut_short_is_refused(tmp_path):
    path = encode_ogg(tmp_path / "whole.ogg", speech(20.0, seed=1))
    assert media.load(path).info.duration == pytest.approx(20.0, abs=0.1)
    data = path.read_bytes()
    for keep in (len(data) // 4, len(data) // 2, len(data) - 10):
        cut = tmp_path / f"cut{keep}.ogg"
        cut.write_bytes(data[:keep])
        with pytest.raises(MediaError, match="truncated"):
            media.load(cut)


def test_an_ogg_file_damaged_in_the_middle_is_refused(tmp_path):
    path = encode_ogg(tmp_path / "whole.ogg", speech(20.0, seed=2))
    bad = damaged_in_the_middle(path, tmp_path / "damaged.ogg")
    with pytest.raises(MediaError, match="corrupt|truncated"):
        media.load(bad)


@pytest.mark.parametrize("level", [0.0, 1.0 / 32768])
def test_digital_silence_is_refused(tmp_path, level):
    path = save_wav(tmp_path / "silence.wav", np.full(16000 * 30, level, np.float32))
    with pytest.raises(MediaError, match="digital silence"):
        media.load(path)
    with pytest.raises(MediaError, match="digital silence"):
        media.probe(path)


def test_quiet_speech_is_not_silence(tmp_path):
    path = save_wav(tmp_path / "quiet.wav", 0.002 * speech(5.0, seed=3))
    assert media.load(path).info.duration == pytest.approx(5.0)


def test_a_silent_file_in_a_batch_adds_nothing(capsys, env):
    good = write_wav(env / "good.wav", seconds=2.0)
    silent = save_wav(env / "silent.wav", np.zeros(16000 * 5, np.float32))
    code, _, err = run(capsys, "add", str(good), str(silent))
    assert "file 2 of 2 failed" in one_line_error(code, err)
    with Archive() as archive:
        assert archive.recordings() == [] and archive.audit() == []


# -- locking -------------------------------------------------------------------------------

def hold_write_lock(db: str) -> sqlite3.Connection:
    """Another process's long write: the SQLite write lock, held until closed."""
    conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO speakers (name, created_at) VALUES ('writer', '2026-01-01')")
    return conn


def test_reads_and_token_checks_never_wait_for_a_writer(env, monkeypatch):
    monkeypatch.setenv("PURPORT_BUSY_TIMEOUT", "20")
    with Archive() as archive:
        token, secret = archive.create_token("desk")
        lock = hold_write_lock(os.environ["PURPORT_DB"])
        try:
            started = time.monotonic()
            assert archive.token_for_secret(secret).id == token.id  # last use: skipped
            assert archive.recordings() == [] and archive.speakers() == []
            assert time.monotonic() - started < 5.0
        finally:
            lock.rollback()
            lock.close()
        assert archive.token_for_secret(secret).last_used_at is not None


def test_a_writer_waits_a_bounded_time_then_says_the_archive_is_busy(capsys, env, monkeypatch,
                                                                      caplog):
    monkeypatch.setenv("PURPORT_BUSY_TIMEOUT", "2")
    lock = hold_write_lock(os.environ["PURPORT_DB"])
    try:
        with Archive() as archive:
            started = time.monotonic()
            with pytest.raises(ArchiveBusyError, match="busy"):
                archive.add_speaker("Speaker A")
            assert 1.5 < time.monotonic() - started < 10.0
        assert "waiting up to 2 s" in caplog.text
        code, _, err = run(capsys, "speaker", "add", "Speaker B")
        assert code == 1 and "error: the archive is busy" in err and "Traceback" not in err
    finally:
        lock.rollback()
        lock.close()
    with Archive() as archive:
        assert archive.speakers() == []


def test_a_bad_busy_timeout_is_one_line(capsys, env, monkeypatch):
    monkeypatch.setenv("PURPORT_BUSY_TIMEOUT", "soon")
    code, _, err = run(capsys, "speaker", "add", "A")
    assert "PURPORT_BUSY_TIMEOUT" in one_line_error(code, err)


# -- read-only, damaged, full --------------------------------------------------------------

def _read_only_fs(folder: Path) -> bool:
    """Mount a small read-only tmpfs copy of ``folder``'s files (root only)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    files = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(folder)],
                      capture_output=True).returncode:
        return False
    for name, data in files.items():
        (folder / name).write_bytes(data)
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
    return True


def test_an_archive_on_a_read_only_filesystem_reads_and_refuses_writes(capsys, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    db = str(folder / "purport.db")
    with Archive.init(db) as archive:
        archive.add_speaker("Speaker A")
    if not _read_only_fs(folder):
        pytest.skip("mounting a read-only filesystem needs root")
    try:
        code, out, err = run(capsys, "speaker", "list", "--db", db)
        assert code == 0 and "Speaker A" in out, err
        code, _, err = run(capsys, "speaker", "add", "B", "--db", db)
        assert "read-only (on a read-only filesystem)" in one_line_error(code, err)
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_an_archive_file_that_cannot_be_written_reads_and_refuses_writes(capsys, tmp_path):
    db = tmp_path / "purport.db"
    with Archive.init(str(db)) as archive:
        archive.add_speaker("Speaker A")
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(db)], capture_output=True).returncode:
            pytest.skip("root ignores file modes and chattr is not available here")
        undo = ["chattr", "-i", str(db)]
    else:
        db.chmod(0o444)
        undo = ["chmod", "644", str(db)]
    try:
        code, out, err = run(capsys, "speaker", "list", "--db", str(db))
        assert code == 0 and "Speaker A" in out, err
        code, _, err = run(capsys, "speaker", "add", "B", "--db", str(db))
        assert "read-only (the file is not writable)" in one_line_error(code, err)
    finally:
        subprocess.run(undo, check=True)


def test_a_database_with_damaged_pages_is_one_line(capsys, tmp_path):
    db = tmp_path / "purport.db"
    with Archive.init(str(db)) as archive:
        for i in range(300):
            archive.add_speaker(f"Speaker {i}", notes="x" * 200)
    data = bytearray(db.read_bytes())
    page = 4096
    for start in range(2 * page, len(data) - page, 3 * page):
        data[start: start + 64] = os.urandom(64)
    db.write_bytes(bytes(data))
    for args in (["speaker", "list"], ["speaker", "add", "new"], ["check"]):
        code, _, err = run(capsys, *args, "--db", str(db))
        line = one_line_error(code, err) if args[0] != "check" else err
        assert code == 1
        if args[0] != "check":
            assert "damaged" in line or "malformed" in line


def test_a_full_disk_while_copying_leaves_no_partial_copy(capsys, env, monkeypatch):
    import errno

    def full(src, dst, **_):
        Path(dst).write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device", dst)

    monkeypatch.setattr(shutil, "copyfile", full)
    path = write_wav(env / "a.wav", seconds=2.0)
    code, _, err = run(capsys, "add", str(path))
    assert "No space left on device" in one_line_error(code, err)
    assert copies(env / "store") == []
    with Archive() as archive:
        assert archive.recordings() == []


def test_a_full_disk_while_the_database_grows_is_one_line(capsys, tmp_path):
    if os.geteuid() != 0 or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(tmp_path)],
            capture_output=True).returncode:
        pytest.skip("a small filesystem to fill needs root (mount)")
    try:
        db = str(tmp_path / "purport.db")
        Archive.init(db, store_dir=tmp_path / "store").close()
        code, _, err = run(capsys, "speaker", "add", "A", "--notes", "x" * 2_000_000,
                           "--db", db)
        assert "disk" in one_line_error(code, err) and "full" in err
        code, out, _ = run(capsys, "speaker", "list", "--db", db)
        assert code == 0 and "no speakers" in out
    finally:
        subprocess.run(["umount", str(tmp_path)], check=True)


# -- unexpected errors, signals ------------------------------------------------------------

def test_an_unexpected_error_is_one_line_with_the_traceback_in_a_log(capsys, env, monkeypatch):
    def broken(*_a, **_k):
        raise RuntimeError("something purport did not expect")

    monkeypatch.setattr(Archive, "speakers", broken)
    code, _, err = run(capsys, "speaker", "list")
    line = one_line_error(code, err, want=2)
    assert "RuntimeError: something purport did not expect" in line
    logged = list((env / "logs").glob("error-*.log"))
    assert len(logged) == 1 and "Traceback" in logged[0].read_text()
    assert str(logged[0]) in line
    from purport.cli import main
    with pytest.raises(RuntimeError):
        main(["speaker", "list", "--debug"])


def _fds(pid: int) -> list[str]:
    try:
        return os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return []


def test_sigterm_during_add_stops_it_as_ctrl_c_does(env):
    # an hour: decoding and fingerprinting it outlasts the wait below on a fast machine too
    long = save_wav(env / "long.wav", speech(3600.0, seed=4, sr=8000), sr=8000)
    proc = subprocess.Popen([sys.executable, "-c", "from purport.cli import main; main()",
                             "add", str(long)],
                            stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1])))
    # wait until it decodes (imports take seconds on a loaded machine), read from /proc
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None and not any(
            os.path.realpath(f"/proc/{proc.pid}/fd/{fd}") == str(long.resolve())
            for fd in _fds(proc.pid)):
        time.sleep(0.05)
    os.environ["PURPORT_BUSY_TIMEOUT"] = "0.5"
    try:  # the add holds no write lock while it decodes: others write meanwhile
        with Archive() as archive:
            archive.add_speaker("Speaker meanwhile")
    finally:
        os.environ.pop("PURPORT_BUSY_TIMEOUT")
    assert proc.poll() is None, "the add finished before it could be interrupted"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert not copies(env / "store")
    with Archive() as archive:
        assert archive.recordings() == []
        assert [e.action for e in archive.audit()] == ["speaker added"]


def test_an_interrupt_while_filing_a_batch_leaves_no_row_and_no_copy(env, monkeypatch):
    files = [write_wav(env / f"{i}.wav", seconds=2.0, seed=i) for i in range(3)]
    real = Archive.put_fingerprint
    filed = []

    def interrupted(self, *args, **kwargs):
        filed.append(args)
        if len(filed) == 2:  # file 1 copied and filed, file 2 copied: SIGTERM arrives
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Archive, "put_fingerprint", interrupted)
    with Archive() as archive, pytest.raises(KeyboardInterrupt):
        ingest.add_files(archive, files)
    monkeypatch.setattr(Archive, "put_fingerprint", real)
    assert not copies(env / "store")
    with Archive() as archive:
        assert archive.recordings() == [] and archive.audit() == []


# -- audit, check, backup ------------------------------------------------------------------

def test_every_change_is_in_the_audit_log_with_who_and_the_input_digest(capsys, env,
                                                                        monkeypatch):
    monkeypatch.setenv("PURPORT_ACTOR", "analyst ana")
    path = write_wav(env / "a.wav", seconds=2.0)
    run(capsys, "speaker", "add", "Speaker A")
    code, out, _ = run(capsys, "add", str(path), "--speaker", "Speaker A", "--json")
    rec = json.loads(out)[0]["recording"]
    run(capsys, "add", str(path), "--channel", "telegram")
    run(capsys, "token", "create", "desk")
    run(capsys, "token", "revoke", "1")
    with audit.acting_as("token desk"):
        with Archive() as archive:
            archive.remove_recording(rec["id"])
    code, out, _ = run(capsys, "audit", "--json")
    entries = json.loads(out)
    assert [(e["action"], e["subject"]) for e in entries] == [
        ("speaker added", "speaker 1"), ("recording added", f"recording {rec['id']}"),
        ("recording updated", f"recording {rec['id']}"), ("token created", "token 1"),
        ("token revoked", "token 1"), ("recording removed", f"recording {rec['id']}")]
    assert {e["actor"] for e in entries[:-1]} == {"analyst ana"}
    assert entries[-1]["actor"] == "token desk"
    assert entries[1]["input_sha256"] == rec["sha256"] == media.sha256_file(path)
    code, out, _ = run(capsys, "audit", "--subject", f"recording {rec['id']}")
    assert code == 0 and "token created" not in out and "recording removed" in out


def test_the_audit_log_refuses_changes_and_check_finds_tampering(capsys, env):
    with Archive() as archive:
        archive.add_speaker("Speaker A")
        archive.add_speaker("Speaker B")
    db = os.environ["PURPORT_DB"]
    with sqlite3.connect(db) as conn:
        for sql in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(sql)
    code, out, _ = run(capsys, "check")
    assert code == 0 and "the archive is sound" in out
    with sqlite3.connect(db) as conn:  # someone with the file and sqlite3 at hand
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("UPDATE audit_log SET actor = 'someone else' WHERE id = 1")
    code, out, _ = run(capsys, "check")
    assert code == 1 and "audit entry 1 (speaker added speaker 1) was altered" in out


def test_check_verifies_stored_files_and_moves_orphans_aside(capsys, env):
    path = write_wav(env / "a.wav", seconds=2.0)
    run(capsys, "add", str(path))
    code, out, _ = run(capsys, "check", "--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["files_verified"] == 1
    store = env / "store"
    (stored,) = [p for p in store.rglob("*.wav")]
    orphan = stored.parent / ("0" * 64 + ".wav")
    shutil.copy(path, orphan)
    partial = stored.parent / ".incoming-abc"
    partial.write_bytes(b"x")
    os.utime(partial, (time.time() - 7200, time.time() - 7200))
    code, out, _ = run(capsys, "check")
    assert code == 0 and "check --clean" in out
    code, out, _ = run(capsys, "check", "--clean")
    assert not orphan.exists() and (store / "orphaned" / orphan.name).exists()
    assert not partial.exists()
    stored.chmod(0o644)
    with open(stored, "ab") as fh:
        fh.write(b"\0")
    code, out, _ = run(capsys, "check")
    assert code == 1 and "has changed" in out


def test_backup_of_a_live_archive_checks_out(capsys, env):
    path = write_wav(env / "a.wav", seconds=2.0)
    run(capsys, "add", str(path), "--released", "2024-01-02")
    lock = hold_write_lock(os.environ["PURPORT_DB"])  # a writer busy during the backup
    try:
        code, out, err = run(capsys, "backup", str(env / "copy"), "--json")
    finally:
        lock.rollback()
        lock.close()
    assert code == 0, err
    made = json.loads(out)
    assert made["files"] == 1 and Path(made["db"]).exists()
    assert json.loads((env / "copy" / "BACKUP.json").read_text())["db_sha256"] == \
        made["db_sha256"]
    # checked with $PURPORT_STORE still naming the live store, the copy is not fooled
    code, out, err = run(capsys, "check", "--db", made["db"], "--json")
    assert code == 1 and "belongs to another archive" in out
    later = write_wav(env / "b.wav", seconds=2.0, seed=9)
    run(capsys, "add", str(later))  # the live archive goes on
    code, _, err = run(capsys, "check", "--db", made["db"], "--clean")
    assert "belongs to another archive" in one_line_error(code, err)
    code, out, err = run(capsys, "check", "--json")  # nothing of the live store was moved
    assert code == 0 and json.loads(out)["files_verified"] == 2, out + err
    os.environ.pop("PURPORT_STORE")
    code, out, err = run(capsys, "check", "--db", made["db"], "--json")
    assert code == 0 and json.loads(out)["files_verified"] == 1, out + err
    # restored elsewhere, the copy is checked against its own files, not the backup's
    shutil.copytree(env / "copy", env / "restored")
    restored_db = env / "restored" / Path(made["db"]).name
    (stored,) = (env / "restored").rglob("*.wav")
    stored.chmod(0o644)
    with open(stored, "ab") as fh:
        fh.write(b"junk")
    code, out, _ = run(capsys, "check", "--db", str(restored_db))
    assert code == 1 and "has changed" in out and str(env / "restored") in out
    code, _, err = run(capsys, "backup", str(env / "copy"))
    assert "not an empty folder" in one_line_error(code, err)


def test_backup_of_postgres_says_what_to_run(tmp_path):
    class Fake:
        url = "postgresql+psycopg://u@h/db"
        store = tmp_path

    with pytest.raises(ArchiveError, match="pg_dump"):
        check_.backup(Fake(), tmp_path / "x")


def test_assessment_custody_cites_the_audit_entries_of_its_recordings(env):
    with Archive() as archive:
        ref = archive.add_recording(media.probe(write_wav(env / "r.wav", seconds=2.0)),
                                    role="reference", provenance=Provenance())[0]
        q = archive.add_recording(media.probe(write_wav(env / "q.wav", seconds=2.0, seed=5)))[0]
        kept = archive.add_assessment(q.id, {"voice": {"references": [{"sha256": ref.sha256}]}})
    cited = {(c["subject"], c["input_sha256"]) for c in kept.data["custody"]}
    assert cited == {(f"recording {q.id}", q.sha256), (f"recording {ref.id}", ref.sha256)}


def test_the_audit_log_is_append_only_and_chained_on_every_backend(archive):
    import sqlalchemy as sa

    archive.add_speaker("Speaker A")
    archive.create_token("desk")
    for sql in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with archive.transaction() as t:
                t.conn.exec_driver_sql(sql)
    entries = archive.audit()
    assert [e.action for e in entries] == ["speaker added", "token created"]
    assert entries[1].prev_hash == entries[0].entry_hash != audit.GENESIS
    with archive.engine.connect() as conn:
        assert audit.verify_chain(conn) == []
    report = check_.check(archive)
    assert report.ok and report.audit_entries == 2, report.problems


def test_a_token_check_skips_its_bookkeeping_while_the_row_is_locked(archive):
    token, secret = archive.create_token("desk")
    with archive.transaction() as t:  # a long write elsewhere holding the token's row
        from purport.archive.schema import tokens
        t.conn.execute(tokens.update().where(tokens.c.id == token.id).values(name="desk"))
        started = time.monotonic()
        other = Archive(archive.url, store_dir=archive.store)
        try:
            assert other.token_for_secret(secret).id == token.id
        finally:
            other.close()
        assert time.monotonic() - started < 10.0


@pytest.mark.parametrize("args, message", [
    (["speaker", "add", "x" * 5000], "at most 200"),
    (["speaker", "add", "a\x01\x1b[31mred"], "control characters"),
    (["speaker", "add", "A", "--alias", "\x1b]0;title\x07"], "control characters"),
    (["token", "create", "t" * 201], "at most 200"),
    (["add", "{wav}", "--outlet", "o" * 500], "at most 200"),
    (["add", "{wav}", "--channel", "tele\ngram"], "control characters"),
])
def test_names_too_long_for_the_archive_or_with_control_characters_are_refused(
        capsys, env, args, message):
    wav = write_wav(env / "a.wav", seconds=2.0)
    code, _, err = run(capsys, *[a.replace("{wav}", str(wav)) for a in args])
    assert message in one_line_error(code, err)


def test_any_text_given_as_an_id_is_found_or_not_found(tmp_path):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from purport.errors import PurportError

    with Archive.init(str(tmp_path / "ids.db"), store_dir=tmp_path / "s") as archive:
        archive.add_recording(media.probe(write_wav(tmp_path / "a.wav", seconds=1.0)))
        archive.add_speaker("Speaker A", aliases=["A"])

        @settings(max_examples=300, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.function_scoped_fixture])
        @given(st.one_of(st.text(max_size=40), st.integers(), st.from_regex(r"\A[0-9]{1,30}\Z"),
                         st.from_regex(r"\A[0-9a-fA-F]{6,70}\Z")))
        def lookups(ref):
            for find in (archive.recording, archive.speaker):
                try:
                    find(ref)
                except PurportError as exc:
                    assert "\n" not in str(exc)

        lookups()


def test_an_archive_in_a_folder_named_with_a_hash_sign_is_checked_and_backed_up(capsys,
                                                                               tmp_path):
    folder = tmp_path / "case #1?x"
    folder.mkdir()
    db = folder / "purport.db"
    with Archive.init(str(db), store_dir=folder / "purport-files") as archive:
        ingest.add_files(archive, [write_wav(tmp_path / "a.wav", seconds=1.0)])
    code, out, err = run(capsys, "check", "--db", str(db), "--store",
                         str(folder / "purport-files"), "--json")
    assert code == 0 and json.loads(out)["files_verified"] == 1, out + err
    code, out, err = run(capsys, "backup", str(tmp_path / "bk #2"), "--db", str(db),
                         "--store", str(folder / "purport-files"))
    assert code == 0, err
    assert not (tmp_path / "case ").exists()  # no stray file from a URI cut at the '#'


def test_a_read_only_folder_with_a_wal_archive_still_reads(capsys, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    folder = tmp_path / "shared"
    folder.mkdir()
    db = folder / "purport.db"
    with Archive.init(str(db)) as archive:
        archive.add_speaker("Speaker A")
    folder.chmod(0o555)
    try:
        code, out, err = run(capsys, "speaker", "list", "--db", str(db))
        assert code == 0 and "Speaker A" in out, err
    finally:
        folder.chmod(0o755)


def test_a_complete_ogg_with_bytes_after_its_end_is_accepted(tmp_path):
    path = encode_ogg(tmp_path / "tagged.ogg", speech(5.0, seed=6))
    with open(path, "ab") as fh:
        fh.write(b"TAG" + bytes(125))  # an ID3v1 tag some tools append
    assert media.load(path).info.duration == pytest.approx(5.0, abs=0.1)


def test_antiphase_stereo_is_not_called_silence(tmp_path):
    import wave

    y = (0.3 * speech(3.0, seed=7) * 32767).astype("<i2")
    path = tmp_path / "antiphase.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.stack([y, -y], axis=1).tobytes())
    assert media.load(path).info.channels == 2


def test_decoding_in_threads_still_sees_damage(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    good = encode_ogg(tmp_path / "good.ogg", speech(30.0, seed=8))
    bad = damaged_in_the_middle(good, tmp_path / "bad.ogg")

    def outcome(path):
        try:
            media.load(path)
            return "ok"
        except MediaError:
            return "refused"

    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(outcome, [good, bad] * 6))
    assert got == ["ok", "refused"] * 6


def test_an_argument_that_is_not_utf8_is_one_line(capsys, env):
    code, _, err = run(capsys, "speaker", "add", os.fsdecode(b"\xff\xfe"))
    assert "not UTF-8" in one_line_error(code, err)
    code, _, err = run(capsys, "audit", "--subject", os.fsdecode(b"recording \xff"))
    assert "not UTF-8" in one_line_error(code, err)


def test_an_interrupt_after_commit_keeps_the_copy(env, monkeypatch):
    import sqlalchemy as sa

    real_close = sa.Connection.close
    calls = {"n": 0}

    def close_then_interrupt(self):
        real_close(self)
        if calls["n"] == 0 and self.get_execution_options().get("purport_write"):
            calls["n"] += 1
            raise KeyboardInterrupt

    with Archive() as archive:
        monkeypatch.setattr(sa.Connection, "close", close_then_interrupt)
        rec = archive.add_recording(media.probe(write_wav(env / "a.wav", seconds=1.0)))[0]
        monkeypatch.setattr(sa.Connection, "close", real_close)
        assert Path(archive.recording(rec.id).stored_path).is_file()


# -- minor defects -------------------------------------------------------------------------

@pytest.mark.parametrize("seconds, shown", [(839.96, "14:00.0"), (59.97, "1:00.0"),
                                            (3599.96, "1:00:00.0"), (12.34, "0:12.3")])
def test_times_round_before_they_are_split_so_no_minute_has_60_seconds(seconds, shown):
    from purport.cli import _hms

    assert _hms(seconds) == shown


def test_serve_on_a_busy_port_says_so_before_serving(capsys, env):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out, err = run(capsys, "serve", "--port", str(port))
    assert "cannot listen on 127.0.0.1" in one_line_error(code, err)
    assert "serving" not in out + err


def test_when_on_a_short_recording_says_why_roughness_is_missing(capsys, tmp_path):
    from tests.test_timing import grid_path

    clip = write_wav(tmp_path / "short.wav", seconds=3.0)
    log = tmp_path / "grid.csv"
    log.write_text("timestamp,frequency_hz\n" + "".join(
        f"{1_700_000_000 + i},{f:.4f}\n" for i, f in enumerate(grid_path(600, seed=1))))
    code, out, err = run(capsys, "when", str(clip), "--grid", str(log))
    assert code == 0, err
    assert "None" not in out and "roughness not measured" in out


def test_a_silent_comparison_says_holds_not_hold():
    from purport.voice.calibrate import default_calibration
    from purport.voice.compare import compare
    from purport.voice.embed import Embedded, Quality

    empty = Embedded(encoder="x", vector=np.zeros(0, np.float32),
                     window_times=np.zeros((0, 2)), window_vectors=np.zeros((0, 256)),
                     quality=Quality(duration=1.0, net_speech_seconds=0.0, snr_db=None,
                                     clipped_fraction=0.0, warnings=[]))
    report = compare(empty, [empty], calibration=default_calibration())
    assert report.verbal == "no comparison: the questioned recording holds too little speech"


def test_a_file_name_too_long_for_the_filesystem_is_one_line(capsys, env):
    code, _, err = run(capsys, "when", "x.wav", "--grid", "g" * 5000 + ".csv")
    assert "File name too long" in one_line_error(code, err)


def test_a_stop_request_lost_on_the_way_still_stops_before_the_commit(tmp_path):
    from purport import interrupt

    with Archive.init(str(tmp_path / "a.db"), store_dir=tmp_path / "s") as archive:
        try:
            with pytest.raises(KeyboardInterrupt), archive.transaction() as txn:
                archive.add_speaker("Speaker A", txn=txn)
                try:  # as inside a C extension's callback that drops the exception
                    interrupt.request()
                except KeyboardInterrupt:
                    pass
        finally:
            interrupt.reset()
        assert archive.speakers() == []
        archive.add_speaker("Speaker B")  # a new command starts afresh
        assert [s.name for s in archive.speakers()] == ["Speaker B"]
