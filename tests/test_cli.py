"""The CLI as a user runs it: same verbs as the API, --json everywhere, one-line errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from purport.archive.db import head_version
from purport.cli import app, main

README = Path(__file__).resolve().parents[1] / "README.md"


def run(capsys, *args: str) -> tuple[int, str, str]:
    """Run ``purport ARGS`` in-process; return (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    captured = capsys.readouterr()
    return exit_.value.code or 0, captured.out, captured.err


@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.setenv("PURPORT_STORE", str(tmp_path / "store"))
    return str(tmp_path / "purport.db")


def test_user_flow_init_speaker_add_list_show_remove(capsys, db, wavs):
    code, out, _ = run(capsys, "init", "--db", db)
    assert code == 0 and f"schema {head_version()}" in out
    code, out, _ = run(capsys, "speaker", "add", "Speaker A", "--alias", "A. Example", "--db", db)
    assert code == 0 and "added speaker 1 Speaker A" in out
    t1, t2, clip = wavs(3)
    code, out, _ = run(capsys, "add", str(t1), str(t2), "--speaker", "Speaker A",
                       "--role", "reference", "--released", "2015-05-14",
                       "--outlet", "Example Media", "--channel", "telegram",
                       "--source-url", "https://example.org/x", "--db", db, "--json")
    added = json.loads(out)
    assert code == 0 and [a["status"] for a in added] == ["added", "added"]
    assert added[0]["recording"]["releases"][0]["date"] == "2015-05-14"
    code, out, _ = run(capsys, "add", str(clip), "--role", "questioned", "--db", db, "--json")
    (q,) = json.loads(out)
    assert q["recording"]["role"] == "questioned" and q["recording"]["speaker"] is None

    code, out, _ = run(capsys, "list", "--speaker", "A. Example", "--json", "--db", db)
    assert [r["name"] for r in json.loads(out)] == ["talk0.wav", "talk1.wav"]
    code, out, _ = run(capsys, "list", "--role", "questioned", "--db", db)
    assert "talk2.wav" in out and "talk0.wav" not in out

    code, out, _ = run(capsys, "show", str(q["recording"]["id"]), "--db", db)
    assert code == 0 and q["recording"]["sha256"] in out and "pcm_s16le" in out
    code, out, _ = run(capsys, "show", q["recording"]["sha256"][:8], "--json", "--db", db)
    assert json.loads(out)["id"] == q["recording"]["id"]

    code, out, _ = run(capsys, "remove", str(q["recording"]["id"]), "--db", db)
    assert code == 0 and "removed recording" in out
    code, out, _ = run(capsys, "info", "--db", db, "--json")
    assert json.loads(out)["counts"]["recordings"] == 2


def test_readding_reports_already_present(capsys, db, wavs):
    run(capsys, "init", "--db", db)
    (path,) = wavs(1)
    run(capsys, "add", str(path), "--db", db)
    code, out, _ = run(capsys, "add", str(path), "--channel", "twitter", "--db", db)
    assert code == 0 and out.startswith("already present") and "new sighting" in out


@pytest.mark.parametrize("args, message", [
    (["show", "42"], "no recording 42"),
    (["add", "{bad}"], "not a media file"),
    (["add", "{missing}"], "no such file"),
    (["add", "{folder}"], "directory"),
    (["add", "{good}", "--speaker", "Nobody"], "no speaker 'Nobody'"),
    (["add", "{good}", "--released", "14/05/2015"], "YYYY-MM-DD"),
    (["add", "{good}", "--max-size", "lots"], "--max-size"),
    (["match", "{bad}"], "not a media file"),
    (["match", "{missing}"], "no such file"),
    (["match", "{bad}", "--fingerprint"], "not a purport fingerprint"),
    (["match", "{folder}", "--self"], "directory"),
    (["list", "--db", "{notdb}"], "not a purport archive"),
    (["list", "--db", "{nowhere}"], "run `purport init` first"),
])
def test_bad_input_gets_one_error_line_and_nonzero_exit(capsys, db, tmp_path, wavs, args,
                                                        message):
    run(capsys, "init", "--db", db)
    (good,) = wavs(1)
    (tmp_path / "bad.mp3").write_text("this is text, not audio")
    (tmp_path / "notdb.db").write_text("not a database" * 50)
    names = dict(bad=tmp_path / "bad.mp3", missing=tmp_path / "missing.ogg", folder=tmp_path,
                 good=good, notdb=tmp_path / "notdb.db", nowhere=tmp_path / "no" / "x.db")
    argv = [a.format(**names) for a in args]
    if "--db" not in argv:
        argv += ["--db", db]
    code, out, err = run(capsys, *argv)
    assert code == 1
    assert err.startswith("error: ") and message in err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err


def test_unwritable_output_path_is_one_error_line(capsys, wavs, tmp_path):
    (good,) = wavs(1)
    code, _, err = run(capsys, "fingerprint", str(good), "-o", str(tmp_path / "no" / "x.fp"))
    assert code == 1
    assert err.startswith("error: cannot write") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err


def test_failing_batch_names_the_file_and_adds_nothing(capsys, db, wavs):
    run(capsys, "init", "--db", db)
    paths = wavs(3)
    paths[1].write_bytes(b"\x00" * 100)
    code, _, err = run(capsys, "add", *map(str, paths), "--db", db)
    assert code == 1 and "file 2 of 3 failed, nothing was added" in err and "talk1.wav" in err
    code, out, _ = run(capsys, "list", "--json", "--db", db)
    assert json.loads(out) == []


def test_usage_errors_exit_2(capsys, db):
    code, _, err = run(capsys, "list", "--role", "authentic", "--db", db)
    assert code == 2 and "--role" in err


def _commands(group=None, prefix=()) -> list[str]:
    """Every command path of the CLI, e.g. 'add', 'speaker add'."""
    import typer.main

    group = group or typer.main.get_command(app)
    names = []
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):
            names += _commands(cmd, (*prefix, name))
        else:
            names.append(" ".join((*prefix, name)))
    return names


def test_help_lists_every_command(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in _commands():
        assert command.split()[0] in out
    code, out, _ = run(capsys, "speaker", "--help")
    assert "add" in out and "list" in out


def test_readme_documents_every_command_and_option():
    import typer.main

    text = README.read_text()
    for command in _commands():
        assert re.search(rf"purport {re.escape(command)}\b", text), f"README lacks {command!r}"
    group = typer.main.get_command(app)
    for command in _commands():
        cmd = group
        for part in command.split():
            cmd = cmd.commands[part]
        for param in cmd.params:
            for opt in param.opts:
                if opt.startswith("--") and opt not in ("--help",):
                    assert opt in text, f"README lacks option {opt} of {command!r}"


def test_token_create_list_revoke(capsys, db):
    assert run(capsys, "init", "--db", db)[0] == 0
    code, out, _ = run(capsys, "token", "create", "desk", "--scope", "write", "--db", db,
                       "--json")
    created = json.loads(out)
    assert code == 0 and created["scope"] == "write" and created["secret"].startswith("pp_")
    code, out, _ = run(capsys, "token", "list", "--db", db, "--json")
    listed = json.loads(out)
    assert [t["name"] for t in listed] == ["desk"] and "secret" not in listed[0]
    assert created["secret"] not in out
    code, out, _ = run(capsys, "token", "revoke", str(created["id"]), "--db", db)
    assert code == 0 and "revoked" in out
    code, _, err = run(capsys, "token", "revoke", "99", "--db", db)
    assert code == 1 and err.startswith("error: no token 99")
    code, _, err = run(capsys, "token", "create", "x", "--scope", "admin", "--db", db)
    assert code == 2


def test_fingerprint_matches_like_the_audio_it_came_from(capsys, db, tmp_path):
    from purport import demo

    d = demo.data_dir()
    assert run(capsys, "init", "--db", db)[0] == 0
    assert run(capsys, "add", str(d / "fulan_2019-03-01_address.ogg"), "--db", db)[0] == 0
    questioned = d / "questioned_2024-03-10_telegram.ogg"
    fp = tmp_path / "q.fp"
    code, out, _ = run(capsys, "fingerprint", str(questioned), "-o", str(fp))
    assert code == 0 and fp.stat().st_size > 0
    _, by_audio, _ = run(capsys, "match", str(questioned), "--db", db, "--json")
    code, by_fp, _ = run(capsys, "match", str(fp), "--fingerprint", "--db", db, "--json")
    a, b = json.loads(by_audio), json.loads(by_fp)
    assert code == 0 and len(a["matches"]) == 1
    assert [(m["recording_id"], m["query_start"]) for m in a["matches"]] == \
        [(m["recording_id"], m["query_start"]) for m in b["matches"]]
    assert b["query"]["sha256"] == a["query"]["sha256"]
    code, _, err = run(capsys, "match", str(questioned), "--fingerprint", "--db", db)
    assert code == 1 and "not a purport fingerprint" in err


def test_serve_refuses_bad_settings_before_starting(capsys, db):
    assert run(capsys, "init", "--db", db)[0] == 0
    code, _, err = run(capsys, "serve", "--db", db, "--max-upload", "lots")
    assert code == 1 and "--max-upload" in err
    code, _, err = run(capsys, "serve", "--db", db, "--workers", "0")
    assert code == 1 and "--workers" in err


def test_verify_save_keeps_the_assessment_with_the_recording(capsys, tmp_path):
    from purport import demo

    db = str(tmp_path / "demo.db")
    assert run(capsys, "demo", "--db", db)[0] == 0
    clip = tmp_path / "new_clip.wav"
    from tests.conftest import write_wav

    write_wav(clip, seconds=3, seed=7)
    code, out, _ = run(capsys, "verify", str(clip), "--claimed-speaker", "Abu Fulan",
                       "--save", "--db", db, "--json")
    kept = json.loads(out)["kept"]
    assert code == 0
    code, out, _ = run(capsys, "show", str(kept["recording_id"]), "--db", db, "--json")
    shown = json.loads(out)
    assert shown["role"] == "questioned" and shown["speaker"] == "Abu Fulan al-Mithali"
    assert [a["id"] for a in shown["assessments"]] == [kept["assessment_id"]]
    reference = demo.data_dir() / "fulan_2019-03-01_address.ogg"  # already a reference
    code, out, _ = run(capsys, "verify", str(reference), "--save", "--db", db)
    assert code == 0 and "kept as assessment" in out
    code, out, _ = run(capsys, "show", "1", "--db", db, "--json")
    assert json.loads(out)["role"] == "reference" and len(json.loads(out)["assessments"]) == 1
