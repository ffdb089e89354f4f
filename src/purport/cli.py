"""`purport ...`: a thin shell over the Python API, with --json on everything that reports."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from purport import __version__, ingest, interrupt, media
from purport.archive import Archive, Provenance, Recording
from purport.errors import ParameterError, PurportError

app = typer.Typer(
    help="purport: verify purported audio statements and keep the speaker's record.\n\n"
    "The archive is an SQLite file (purport.db, or $PURPORT_DB) or a postgresql:// URL. "
    "Errors are one line; --debug anywhere on the line shows the traceback of one purport "
    "did not expect (otherwise kept in a log file the message names).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
speaker_app = typer.Typer(help="Speakers: names and aliases.", no_args_is_help=True)
app.add_typer(speaker_app, name="speaker")
voice_app = typer.Typer(help="Voice: calibrated likelihood ratios that the claimed speaker "
                        "spoke.", no_args_is_help=True)
app.add_typer(voice_app, name="voice")
news_app = typer.Typer(help="Press reports: the facts each states about a release.",
                       no_args_is_help=True)
app.add_typer(news_app, name="news")
grid_app = typer.Typer(help="Grid-frequency logs that ENF traces are placed in.",
                       no_args_is_help=True)
app.add_typer(grid_app, name="grid")
index_app = typer.Typer(help="The reuse index: landmark fingerprints of every recording.",
                        no_args_is_help=True)
app.add_typer(index_app, name="index")
token_app = typer.Typer(help="API tokens for `purport serve` (read or write scope).",
                        no_args_is_help=True)
app.add_typer(token_app, name="token")

out = Console(highlight=False, soft_wrap=True, markup=False)  # names are data, not markup
if not out.is_terminal:  # pipes and files get whole rows, not 80-column wraps
    out = Console(highlight=False, soft_wrap=True, markup=False, width=200)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)

Db = Annotated[str | None, typer.Option(
    "--db", envvar="PURPORT_DB", show_envvar=True,
    help="Archive: SQLite file path or postgresql:// URL [default: purport.db].")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
Language = Annotated[str, typer.Option(
    help="Language of the speech: auto (detected) or a Whisper code (en, ar, fr...).")]
AsrModelOpt = Annotated[str | None, typer.Option(
    "--model", help="Speech model: 'base' (the speech extra's) or a local CTranslate2 "
    "Whisper folder [default: $PURPORT_ASR_MODEL, else base].")]
Transcribe = Annotated[bool | None, typer.Option(
    "--transcribe/--no-transcribe", help="Transcribe the recording to date what it says "
    "[default: when no --transcript is given and the speech extra is installed].")]
Store = Annotated[Path | None, typer.Option(
    "--store", envvar="PURPORT_STORE", show_envvar=True, file_okay=False,
    help="Folder for copies of added files [default: <db name>-files beside the db].")]


class Role(StrEnum):
    reference = "reference"
    questioned = "questioned"


def _emit(obj: Any) -> None:
    text = json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a path that is not UTF-8: JSON's \\udcxx escapes keep it
        text = json.dumps(obj, indent=2, ensure_ascii=True, sort_keys=False)
    print(text)


def _date(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ParameterError(f"{option} wants a date as YYYY-MM-DD, not {text!r}") from None


def _timestamp(text: str | None, option: str) -> dt.datetime | None:
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ParameterError(f"{option} wants an ISO date or time (2024-03-01T12:00Z), "
                             f"not {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _size(text: str, option: str = "--max-size") -> int:
    units = {"k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
    t = text.strip().lower().removesuffix("b").removesuffix("i")
    try:
        if t and t[-1] in units:
            return int(float(t[:-1]) * units[t[-1]])
        return int(t)
    except ValueError:
        raise ParameterError(f"{option} wants a size like 500M or 2G, not {text!r}") from None


def _hms(seconds: float) -> str:
    """H:MM:SS.s (or M:SS.s); rounded first, so 839.96 s is 14:00.0, never 13:60.0."""
    seconds = round(float(seconds), 1)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{int(h)}:{int(m):02d}:{s:04.1f}" if h else f"{int(m)}:{s:04.1f}"


def _recording_lines(rec: Recording) -> list[str]:
    rate = f"{rec.sample_rate / 1000:g} kHz"
    kbps = f", {rec.bit_rate // 1000} kbit/s" if rec.bit_rate else ""
    lines = [
        f"recording {rec.id}: {rec.name}",
        f"  sha256      {rec.sha256}",
        f"  role        {rec.role}" + (f", speaker {rec.speaker}" if rec.speaker else ""),
        f"  duration    {_hms(rec.duration)} ({rec.duration:.2f} s)",
        f"  audio       {rec.codec} in {rec.container}, {rate}, {rec.channels} ch{kbps}",
        f"  size        {rec.size_bytes:,} bytes",
        f"  stored      {rec.storage}: {rec.stored_path}",
    ]
    for key, value in rec.tags.items():
        lines.append(f"  tag         {key} = {value}")
    if rec.notes:
        lines.append(f"  notes       {rec.notes}")
    for s in rec.sightings:
        facts = [f"as {s.original_name}"]
        facts += [f"{k} {v}" for k, v in (("released", s.released), ("outlet", s.outlet),
                                          ("channel", s.channel), ("url", s.source_url)) if v]
        first = s.first_seen.date().isoformat() if s.first_seen else "?"
        lines.append(f"  seen        {first}: " + ", ".join(str(f) for f in facts))
    for r in rec.releases:
        chans = ", ".join(r.channels) or "channel unknown"
        lines.append(f"  release     {r.id}: {r.date or 'undated'} {r.speaker or ''} "
                     f"({r.outlet or 'outlet unknown'}; {chans})")
    return lines


@app.command()
def init(db: Db = None, json_: Json = False) -> None:
    """Create the archive (or upgrade its schema in place) and say what it holds."""
    with Archive.init(db) as archive:
        info = archive.info()
    if json_:
        _emit(info)
    else:
        c = info["counts"]
        out.print(f"purport archive at {info['db']} (schema {info['schema_version']}): "
                  f"{c['speakers']} speakers, {c['recordings']} recordings, "
                  f"{c['releases']} releases")


@app.command()
def info(db: Db = None, json_: Json = False) -> None:
    """Where the archive lives, its schema version, and how much it holds."""
    with Archive(db) as archive:
        data = archive.info()
    if json_:
        _emit(data)
        return
    for key in ("db", "backend", "schema_version", "store", "hours_of_audio"):
        out.print(f"{key:15} {data[key]}")
    for key, value in data["counts"].items():
        out.print(f"{key:15} {value}")


@speaker_app.command("add")
def speaker_add(
    name: Annotated[str, typer.Argument(help="The speaker's name as the archive files it.")],
    alias: Annotated[list[str] | None, typer.Option(
        "--alias", help="Another name or spelling (repeatable).")] = None,
    notes: Annotated[str | None, typer.Option(help="Free text.")] = None,
    db: Db = None, json_: Json = False,
) -> None:
    """Add a speaker, or add aliases to one already there."""
    with Archive(db) as archive:
        speaker, created = archive.add_speaker(name, aliases=alias or [], notes=notes)
    if json_:
        _emit({"created": created, "speaker": speaker.to_dict()})
    else:
        also = f" (aliases: {', '.join(speaker.aliases)})" if speaker.aliases else ""
        verb = "added" if created else "already present:"
        out.print(f"{verb} speaker {speaker.id} {speaker.name}{also}")


@speaker_app.command("list")
def speaker_list(db: Db = None, json_: Json = False) -> None:
    """List the speakers with their aliases and number of recordings."""
    with Archive(db) as archive:
        found = archive.speakers()
    if json_:
        _emit([s.to_dict() for s in found])
        return
    if not found:
        out.print("no speakers in the archive")
        return
    table = Table("id", "name", "aliases", "recordings", box=None)
    for s in found:
        table.add_row(str(s.id), s.name, ", ".join(s.aliases), str(s.n_recordings))
    out.print(table)


@app.command()
def add(
    files: Annotated[list[Path], typer.Argument(help="Media files (any format FFmpeg reads).",
                                                 show_default=False)],
    speaker: Annotated[str | None, typer.Option(
        help="Speaker (name or alias): the known speaker of a reference, the claimed one of "
        "a questioned recording.")] = None,
    role: Annotated[Role | None, typer.Option(
        help="reference (authenticated) or questioned [default: questioned for new files].")
    ] = None,
    released: Annotated[str | None, typer.Option(
        help="Release date YYYY-MM-DD: files the recording under the speaker's release.")] = None,
    outlet: Annotated[str | None, typer.Option(
        help="Media outlet that published it (the group's arm, not the newspaper).")] = None,
    channel: Annotated[str | None, typer.Option(
        help="Where it was published: telegram, twitter, website...")] = None,
    source_url: Annotated[str | None, typer.Option(help="Where this copy came from.")] = None,
    first_seen: Annotated[str | None, typer.Option(
        help="When this copy was first seen (ISO date or time) [default: now].")] = None,
    notes: Annotated[str | None, typer.Option(help="Free text kept with the recording.")] = None,
    copy: Annotated[bool, typer.Option(
        "--copy/--no-copy", help="Keep a copy in the archive's store, or only link the path.")
    ] = True,
    max_size: Annotated[str, typer.Option(help="Refuse files larger than this.")] = "2G",
    max_duration: Annotated[float, typer.Option(
        help="Refuse audio longer than this many seconds.")] = media.DEFAULT_MAX_DURATION,
    transcribe: Annotated[bool, typer.Option(
        "--transcribe", help="Also transcribe each file (speech extra) and keep the "
        "transcript with it, searchable.")] = False,
    language: Language = "auto", model: AsrModelOpt = None,
    store: Store = None, db: Db = None, json_: Json = False,
) -> None:
    """Add media files to the archive, all of them or none; the same bytes again merge."""
    heard = None
    if transcribe:
        from purport.assess import speech
        from purport.speech import asr
        from purport.speech import model as asr_model

        asr.check_language(language)
        asr_model.resolve(model)  # a missing extra fails before any decoding

        def heard(signal: media.Signal) -> dict[str, Any]:
            return speech.transcribe_signal(signal, model=model, language=language).to_dict()
    provenance = Provenance(
        source_url=source_url, outlet=outlet, channel=channel,
        released=_date(released, "--released"), first_seen=_timestamp(first_seen, "--first-seen"),
    )
    max_bytes = _size(max_size)
    with (_interruptible(), Archive(db, store_dir=store) as archive,
          _progress("adding", show=len(files) > 1) as progress):
        results = ingest.add_files(
            archive, files, role=role.value if role else None, speaker=speaker,
            provenance=provenance, copy=copy, notes=notes, max_bytes=max_bytes,
            max_duration=max_duration, transcribe=heard,
            progress=progress and (lambda i, n, p: progress(i, n, p.name)))
    if json_:
        _emit([r.to_dict() for r in results])
        return
    for r in results:
        rec = r.recording
        extra = f" (merged: {'; '.join(r.merged)})" if r.merged else ""
        out.print(f"{r.status:15} recording {rec.id:<4} {rec.name}  {_hms(rec.duration)}  "
                  f"{rec.codec} {rec.sample_rate / 1000:g} kHz  {rec.role}"
                  f"{'  ' + rec.speaker if rec.speaker else ''}  sha256 {rec.sha256[:12]}{extra}")


@app.command("list")
def list_(
    speaker: Annotated[str | None, typer.Option(help="Only this speaker's recordings.")] = None,
    role: Annotated[Role | None, typer.Option(help="Only recordings of this role.")] = None,
    db: Db = None, json_: Json = False,
) -> None:
    """List recordings in the archive."""
    with Archive(db) as archive:
        found = archive.recordings(speaker=speaker, role=role.value if role else None)
    if json_:
        _emit([r.to_dict() for r in found])
        return
    if not found:
        out.print("no recordings in the archive" + (" match" if speaker or role else ""))
        return
    table = Table("id", "name", "duration", "role", "speaker", "released", "codec", "sha256",
                  box=None)
    for r in found:
        dates = sorted(s.released for s in r.sightings if s.released)
        table.add_row(str(r.id), r.name, _hms(r.duration), r.role, r.speaker or "",
                      dates[0].isoformat() if dates else "", r.codec, r.sha256[:12])
    out.print(table)


@app.command()
def show(
    recording: Annotated[str, typer.Argument(help="Recording id or sha256 prefix.")],
    db: Db = None, json_: Json = False,
) -> None:
    """Everything the archive holds about one recording."""
    with Archive(db) as archive:
        rec = archive.recording(recording)
        kept = archive.assessments(recording=rec.id)
    if json_:
        _emit(dict(rec.to_dict(), assessments=[
            {k: v for k, v in a.to_dict().items() if k != "data"} for a in kept]))
    else:
        out.print("\n".join(_recording_lines(rec)))
        for a in kept:
            out.print(f"  assessment {a.id} of {a.to_dict()['created_at']}, claimed speaker "
                      f"{a.claimed_speaker or 'none given'}")


@app.command()
def remove(
    recording: Annotated[str, typer.Argument(help="Recording id or sha256 prefix.")],
    db: Db = None, json_: Json = False,
) -> None:
    """Remove a recording, its sightings and links (and its stored copy)."""
    with Archive(db) as archive:
        rec = archive.remove_recording(recording)
    if json_:
        _emit({"removed": rec.to_dict()})
    else:
        out.print(f"removed recording {rec.id} {rec.name} (sha256 {rec.sha256[:12]})")


@app.command()
def demo(
    db: Annotated[str, typer.Option(
        "--db", help="Where to build the demo archive.")] = "demo/purport.db",
    json_: Json = False,
) -> None:
    """Build a demo archive from the fictional recordings bundled with purport, and show it."""
    from purport import demo as demo_

    with _interruptible(), Archive.init(db) as archive:
        summary = demo_.build(archive)
        info_ = archive.info()
        found = archive.recordings()
    if json_:
        with Archive(db) as archive:
            assessment = demo_.verify(archive)
        _emit({"archive": info_, "added": summary, "recordings": [r.to_dict() for r in found],
               "verify": assessment.to_dict()})
        return
    out.print(f"demo archive at {info_['db']} (schema {info_['schema_version']})")
    out.print(demo_.ATTRIBUTION_LINE)
    for line in summary:
        out.print(f"  {line['status']:15} {line['name']}")
    table = Table("id", "name", "duration", "role", "speaker", "released", "outlet", "codec",
                  box=None, title="what the archive holds")
    for r in found:
        s = r.sightings[0] if r.sightings else None
        table.add_row(str(r.id), r.name, _hms(r.duration), r.role, r.speaker or "",
                      str(s.released or "") if s else "", (s.outlet or "") if s else "",
                      r.codec)
    out.print(table)
    from purport.assess import reuse
    from purport.report.html import render

    with Archive(db) as archive:
        questioned = demo_.data_dir() / "questioned_2024-03-10_telegram.ogg"
        report = reuse.match_file(archive, questioned)
        assessment = demo_.verify(archive)
    out.print(f"\nreuse: {questioned.name}: {report.summary}")
    for m in sorted(report.matches, key=lambda m: m["query_start"]):
        out.print(f"  query {_hms(m['query_start'])}-{_hms(m['query_end'])}  <-  "
                  f"{m['name']} {_hms(m['ref_start'])}-{_hms(m['ref_end'])}  "
                  f"false-match p {m['false_match_probability']:.1e}")
    page = Path(db).parent / "report.html"
    _write(page, render(assessment))
    out.print(f"\nverify: {assessment.recording['name']} claimed as "
              f"{assessment.claimed_speaker}")
    _print_summary(assessment)
    out.print(f"  report: {page}")
    out.print(f"\ntry: .venv/bin/purport show 4 --db {db}\n"
              f"     .venv/bin/purport match {questioned} --db {db}\n"
              f"     .venv/bin/purport record 'Abu Fulan' --db {db}")


def _print_summary(assessment) -> None:
    """The Assessment's short summary, one labelled line per question."""
    for key, line in assessment.summary().items():
        label = "" if key == "content" else f"{key}:"
        out.print(f"  {label:7} {line}")


@app.command("match")
def match_(
    file: Annotated[Path, typer.Argument(help="The questioned recording (any media file).")],
    self_: Annotated[bool, typer.Option(
        "--self", help="Find spans repeated inside this one recording (copy-paste edits).")
    ] = False,
    max_false_match: Annotated[float, typer.Option(
        help="Report matches whose false-match probability is at most this.")] = 1e-2,
    fingerprint: Annotated[bool, typer.Option(
        "--fingerprint", help="FILE is a fingerprint written by `purport fingerprint`, "
        "not audio.")] = False,
    db: Db = None, json_: Json = False,
) -> None:
    """Which seconds of a recording re-use archive recordings, at what speed and pitch."""
    from purport.assess import reuse

    if not 0 < max_false_match <= 1:
        raise ParameterError("--max-false-match must be in (0, 1]")
    with _interruptible(), Archive(db) as archive:
        if fingerprint:
            fp, query = reuse.read_fingerprint(_read_bytes(file), name=file.name)
            report = reuse.match_fingerprint(archive, fp, query, self_match=self_,
                                              max_false_match=max_false_match)
        else:
            report = reuse.match_file(archive, file, self_match=self_,
                                       max_false_match=max_false_match)
    if json_:
        _emit(report.to_dict())
        return
    q = report.query
    known = f", archive recording {q['recording_id']}" if q["recording_id"] else ""
    digest = f"sha256 {q['sha256'][:12]}" if q.get("sha256") else "fingerprint only"
    out.print(f"query: {q['name']} ({_hms(q['duration'])}, {digest}{known})")
    if not self_:
        ref = report.reference
        excluded = (f" (recording {ref['excluded'][0]}, the query itself, left out)"
                    if ref["excluded"] else "")
        out.print(f"searched: {ref['recordings']} archive recordings, {ref['hours']} h{excluded}")
    out.print(report.summary)
    for m in sorted(report.matches, key=lambda m: m["query_start"]):
        source = "earlier in itself" if self_ else f"recording {m['recording_id']} {m['name']}"
        out.print(f"  query {_hms(m['query_start'])}-{_hms(m['query_end'])}  <-  {source} "
                  f"{_hms(m['ref_start'])}-{_hms(m['ref_end'])}  time x{m['time_factor']:.3f}  "
                  f"pitch x{m['pitch_factor']:.3f}  score {m['score']}  "
                  f"false-match p {m['false_match_probability']:.1e}")
    out.print(f"method: {report.method}")
    out.print(f"limits: {report.limits}")


def _write(path: Path, data: str | bytes) -> None:
    """Write an output file the user named; a path that cannot be written is one error line."""
    try:
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    except OSError as exc:
        raise ParameterError(f"cannot write {path}: {exc.strerror or exc}") from None


def _read_bytes(path: Path, *, limit: int = 256 * 1024**2) -> bytes:
    if not path.is_file():
        raise ParameterError(f"{path}: no such file")
    if path.stat().st_size > limit:
        raise ParameterError(f"{path}: larger than {limit // 1024**2} MiB")
    return path.read_bytes()


@app.command("fingerprint")
def fingerprint_(
    file: Annotated[Path, typer.Argument(help="A recording (any media file).")],
    output: Annotated[Path, typer.Option(
        "--output", "-o", help="Where to write the fingerprint.")],
) -> None:
    """Write a recording's landmark fingerprint: match it elsewhere without sending audio."""
    from purport.assess import reuse

    data = reuse.fingerprint_file(file)
    _write(output, data)
    out.print(f"wrote {output} ({len(data)} bytes): match it with `purport match {output} "
              "--fingerprint` or POST it to /api/match")


@index_app.command("rebuild")
def index_rebuild(db: Db = None, json_: Json = False) -> None:
    """Re-fingerprint every recording from its stored file (after a method change)."""
    from purport.assess import reuse

    with (_interruptible(), Archive(db) as archive,
          _progress("fingerprinting") as progress):
        result = reuse.rebuild(archive, progress=progress)
    if json_:
        _emit(result)
    else:
        out.print(f"rebuilt the index of {result['recordings']} recordings "
                  f"({_hms(result['seconds'])} of audio, {result['x_real_time']}x real time)")


@index_app.command("stats")
def index_stats(db: Db = None, json_: Json = False) -> None:
    """How much the reuse index holds, and its size on disk and in memory per hour."""
    from purport.assess import reuse

    with Archive(db) as archive:
        data = reuse.stats(archive)
    if json_:
        _emit(data)
        return
    for key, value in data.items():
        if key != "other_methods":
            out.print(f"{key:31} {value}")
    for method, row in data["other_methods"].items():
        out.print(f"stale fingerprints ({method}): {row['recordings']} recordings: "
                  "run `purport index rebuild`")


Calib = Annotated[str | None, typer.Option(
    "--calibration", help="Calibration name (see `purport voice calibrations`) "
    "[default: purport-default-v2].")]


def _print_voice(report, questioned: Path) -> None:
    net = report.net_speech_seconds
    out.print(f"questioned: {questioned.name} (net speech {net['questioned']:.1f} s) against "
              f"{len(report.references)} reference(s) (net speech {net['reference']:.1f} s)")
    if report.log10_lr is None:
        out.print(report.verbal)
    else:
        lr = 10 ** report.log10_lr
        lr_text = f"{lr:.3g}" if lr >= 1 else f"1/{1 / lr:.3g}"
        out.print(f"log10 LR = {report.log10_lr:+.2f} (LR {lr_text}): {report.verbal}")
    c = report.calibration
    out.print(f"calibration: {c['name']} ({c['population']}); held-out Cllr {c['cllr']}, "
              f"EER {c['eer']:.1%}, {c['n_speakers']} speakers")
    cond = c.get("condition") or {}
    m = cond.get("measured")
    if m:
        snr = "clean" if m["snr_db"] is None else f"SNR {m['snr_db']:.0f} dB"
        band = "?" if m["bandwidth_hz"] is None else f"{m['bandwidth_hz'] / 1000:.1f} kHz"
        out.print(f"measured: {m['net_speech_seconds']:.1f} s of net speech, {snr}, "
                  f"band up to {band}")
    if cond.get("bucket"):
        extra = ""
        if "cllr" in cond:
            lo, hi = cond["bounds_log10"]
            extra = (f"; in it, held-out Cllr {cond['cllr']}, EER {cond['eer']:.1%}, "
                     f"log10 LR bounded to [{lo:+.2f}, {hi:+.2f}]")
        out.print(f"calibrated for: {cond['description']}{extra}")
    if c.get("notes"):
        out.print(f"  note: {c['notes']}")
    for w in report.warnings:
        out.print(f"warning: {w}")
    for s in report.segments:
        flag = "  <- different voice?" if s.different_voice else ""
        out.print(f"  {_hms(s.start)}-{_hms(s.end)}  log10 LR {s.log10_lr:+.2f}{flag}")
    out.print(f"method: {report.method}")
    out.print(f"limits: {report.limits}")


@voice_app.command("compare")
def voice_compare(
    questioned: Annotated[Path, typer.Argument(help="The questioned recording.")],
    reference: Annotated[list[Path], typer.Option(
        "--reference", help="An authenticated recording of the claimed speaker (repeatable).")],
    calibration: Calib = None, db: Db = None, json_: Json = False,
) -> None:
    """Questioned recording against reference files: a calibrated likelihood ratio."""
    from purport.assess import voice

    with _interruptible():
        with _archive_if(bool(calibration), db) as archive:
            cal = voice.get_calibration(archive, calibration)
        report = voice.compare_files(questioned, reference, cal)
    if json_:
        _emit(report.to_dict())
    else:
        _print_voice(report, questioned)


@voice_app.command("check")
def voice_check(
    questioned: Annotated[Path, typer.Argument(help="The questioned recording.")],
    speaker: Annotated[str, typer.Option(help="The claimed speaker (name or alias).")],
    calibration: Calib = None, db: Db = None, json_: Json = False,
) -> None:
    """Questioned recording against the claimed speaker's references in the archive."""
    from purport.assess import voice

    with _interruptible(), Archive(db) as archive:
        cal = voice.get_calibration(archive, calibration)
        report = voice.check_file(archive, questioned, speaker, cal)
    if json_:
        _emit(report.to_dict())
    else:
        _print_voice(report, questioned)


@voice_app.command("calibrate")
def voice_calibrate(
    population: Annotated[Path, typer.Option(
        help="Folder of speaker folders: DIR/<speaker>/*.wav|mp3|ogg...")],
    name: Annotated[str, typer.Option(help="Name to file the calibration under.")],
    description: Annotated[str | None, typer.Option(
        help="What the population is (language, channel, sex...).")] = None,
    conditions: Annotated[Path | None, typer.Option(
        help="A questioned recording: render the population like it (net speech, band, "
        "noise, codec) before fitting.")] = None,
    db: Db = None, json_: Json = False,
) -> None:
    """Fit and validate a calibration on your own relevant population, and store it."""
    from purport.assess import voice

    with _interruptible(), Archive(db) as archive:
        cal = voice.calibrate_population(population, name=name, description=description,
                                         conditions=conditions)
        archive.put_calibration(cal.name, cal.encoder, cal.to_dict())
    if json_:
        _emit(cal.summary())
    else:
        out.print(f"stored calibration {cal.name}: {cal.population}; {cal.rendering}")
        for key, c in sorted(cal.cells.items()):
            usable = "" if c["useful"] else "  (no useful LR in this condition)"
            out.print(f"  {key}: held-out Cllr {c['cllr']}, EER {c['eer']:.1%}, log10 LR "
                      f"bounded to [{c['llr_min'] / 2.302585:+.2f}, "
                      f"{c['llr_max'] / 2.302585:+.2f}]{usable}")


@voice_app.command("calibrations")
def voice_calibrations(db: Db = None, json_: Json = False) -> None:
    """List the calibrations: purport's default and those fitted on your populations."""
    from purport.voice import Calibration, default_calibration

    found = [default_calibration()]
    if db is not None or Path(os.environ.get("PURPORT_DB", "purport.db")).exists():
        with Archive(db) as archive:
            found += [Calibration.from_dict(d) for d in archive.calibrations_data()]
    if json_:
        _emit([c.summary() for c in found])
        return
    for c in found:
        useful = sum(cell["useful"] for cell in c.cells.values())
        out.print(f"{c.name}: {c.population} [{c.encoder}]\n  fitted in {len(c.cells)} "
                  f"conditions, {useful} of them informative enough to give an LR; "
                  f"6 s clean: held-out Cllr {c.cllr}, EER {c.eer:.1%}; {c.validation}")


@grid_app.command("import")
def grid_import(
    file: Annotated[Path, typer.Argument(
        help="A timestamp,frequency_hz CSV, or a recording of the mains itself.")],
    region: Annotated[str, typer.Option(help="The grid it belongs to (gb, de, lab...).")],
    start: Annotated[str | None, typer.Option(
        help="For a mains recording: when it began (ISO 8601, UTC).")] = None,
    name: Annotated[str | None, typer.Option(help="A name for the log.")] = None,
    db: Db = None, json_: Json = False,
) -> None:
    """Add a grid-frequency log of a region (resampled to one value per second)."""
    from purport.assess import timing

    with Archive(db) as archive:
        info_ = timing.import_grid(archive, file, region=region, start=start, name=name)
    if json_:
        _emit(info_)
    else:
        out.print(f"grid log {info_['id']} ({info_['region']}, {info_['nominal_hz']} Hz): "
                  f"{info_['start']} to {info_['end']}, {info_['seconds']} s, "
                  f"{info_['gap_seconds']} s of gaps")


@grid_app.command("list")
def grid_list(db: Db = None, json_: Json = False) -> None:
    """List the grid logs by region."""
    with Archive(db) as archive:
        rows = archive.grid_logs()
    data = [dict(r, start=r["start"].isoformat().replace("+00:00", "Z"),
                 created_at=str(r["created_at"])) for r in rows]
    if json_:
        _emit(data)
        return
    if not data:
        out.print("no grid logs: add one with `purport grid import`")
    for r in data:
        out.print(f"{r['id']:>3}  {r['region']:10} {r['nominal_hz']} Hz  from {r['start']}  "
                  f"{_hms(r['seconds'])}  {r['name']} ({r['source']})")


@app.command()
def when(
    file: Annotated[Path, typer.Argument(help="The questioned recording.")],
    region: Annotated[str | None, typer.Option(
        help="Place the hum in this region's grid logs in the archive.")] = None,
    grid: Annotated[Path | None, typer.Option(
        "--grid", help="Place the hum in this timestamp,frequency_hz CSV (no archive).")
    ] = None,
    between: Annotated[tuple[str, str] | None, typer.Option(
        help="Only search between these two dates/times.")] = None,
    transcript: Annotated[Path | None, typer.Option(
        help="Transcript or translation of the speech (text).")] = None,
    events: Annotated[Path | None, typer.Option(
        help="Events catalog CSV: date,title,description,keywords.")] = None,
    transcribe: Transcribe = None, language: Language = "auto", model: AsrModelOpt = None,
    db: Db = None, json_: Json = False,
) -> None:
    """When was it recorded: mains hum (ENF) against grid logs, and the events it mentions
    (in a transcript given, or in the recording's own words when the speech extra is
    installed)."""
    from purport.assess import speech, timing

    if region and grid:
        raise ParameterError("give --region or --grid, not both")
    words = transcript is not None or speech.wanted(transcript, transcribe)
    # words are dated against the user's events and the archive's press reports: the
    # archive is needed for a region or a transcript with no events CSV, else used if there
    needed = bool(region) or (transcript is not None and events is None)
    wanted = words and (db is not None or Path("purport.db").exists())
    with _interruptible():
        with _archive_if(needed or wanted, db) as archive:
            result = timing.when_file(file, archive=archive, region=region, grid_csv=grid,
                                     between=between, transcript=transcript, events=events,
                                     transcribe=transcribe, model=model, language=language)
    if json_:
        _emit(result)
        return
    e = result["enf"]
    out.print(f"ENF: {e['message']}")
    d = e["detection"]
    rough = (f"roughness {d['roughness_mhz_per_s']} mHz/s"
             if d.get("roughness_mhz_per_s") is not None
             else f"roughness {d.get('roughness_note') or 'not measured'}")
    out.print(f"  hum {'present' if e['present'] else 'absent'} (nominal {e['nominal_hz']} Hz, "
              f"{rough}, harmonics {e['harmonics_used']})")
    for a in e["alternatives"]:
        out.print(f"  alternative: {a['start']} ({a.get('rms_mhz')} mHz RMS, correlation "
                  f"{a['score']}, z {a['z']})")
    pieces = e.get("pieces") or []
    for p in pieces if len(pieces) > 1 else []:  # one piece: the placement above
        where = (f"recorded at {p['recorded_at']}" if p["placed"] else
                 "not placed" + (f" (best guess {p['recorded_at']})" if p["recorded_at"] else ""))
        out.print(f"  piece {_hms(p['query_start'])}-{_hms(p['query_end'])}: {where}, "
                  f"{p.get('rms_mhz')} mHz RMS, false-match probability "
                  f"{p['false_match_probability']:.1e} (searched: "
                  f"{p.get('searched', 'the whole log')})")
    for d in e["discontinuities"]:
        out.print(f"  discontinuity at {_hms(d['time'])}: {d['kind']} step {d['strength']} "
                  f"({d['significance']}x its noise)")
    c = result["content"]
    if c is not None:
        out.print(f"content: {c['message']}")
        for ev in c["evidence"]:
            out.print(f"  {ev['event_date']} {ev['event']}: \"{ev['sentence']}\" "
                      f"(similarity {ev['similarity']}, keywords {ev['keywords']})"
                      + (f" [from {ev['source']}]" if ev.get("source") else ""))
    out.print(f"method: {e['method']}")
    out.print(f"limits: {e['limits']}")


@app.command()
def edits(
    file: Annotated[Path, typer.Argument(help="The questioned recording.")],
    grid_csv: Annotated[Path | None, typer.Option(
        "--grid-csv", "--grid", help="Place the hum piece by piece in this "
        "timestamp,frequency_hz CSV (no archive).")] = None,
    region: Annotated[str | None, typer.Option(
        help="Place the hum piece by piece in this region's grid logs in the archive.")
    ] = None,
    db: Db = None, json_: Json = False,
) -> None:
    """Was it cut or spliced, and where: every edit detector, each candidate with how often
    its detector fires by chance."""
    from purport.assess import edits as edits_

    if region and grid_csv:
        raise ParameterError("give --region or --grid-csv, not both")
    with _interruptible():
        with _archive_if(bool(region), db) as archive:
            result = edits_.edits_file(file, archive=archive, region=region,
                                       grid_csv=grid_csv)
    if json_:
        _emit(result)
        return
    rec = result["recording"]
    cands = result["candidates"]
    out.print(f"{rec['name']}: {_hms(rec['duration'])}, hum {rec['hum']}; "
              f"{len(cands)} candidate edit point(s)")
    for c in cands:
        fa = c["false_alarms_per_hour"]
        rate = "not measured" if fa is None else f"{fa:.2g} false alarms/h"
        span = f"-{_hms(c['end'])}" if c.get("end") is not None else ""
        out.print(f"  {_hms(c['time'])}{span}  {c['family']}/{c['detector']}  strength "
                  f"{c['strength']:g}  ({rate})  {c['detail']}")
    explained = result.get("explained") or []
    if explained:
        out.print(f"set aside ({len(explained)}): changes inside a stretch whose hum follows "
                  "the grid log without a break")
        for c in explained:
            out.print(f"  {_hms(c['time'])}  {c['family']}/{c['detector']}  strength "
                      f"{c['strength']:g}: {c['explained_by']}")
    out.print("detectors (threshold; false alarms per hour of unedited speech):")
    for d in result["detectors"]:
        fa = d["false_alarms_per_hour"]
        out.print(f"  {d['family']}/{d['name']}: "
                  f"{'-' if d['threshold'] is None else format(d['threshold'], 'g')}; "
                  f"{'not measured' if fa is None else format(fa, '.2g') + '/h'}")
    if result["detectors"] and result["detectors"][0]["measured_on"]:
        measured = {d["measured_on"] for d in result["detectors"]
                    if d["false_alarms_per_hour"] is not None}
        for m in sorted(measured):
            out.print(f"measured on: {m}")
    out.print(f"method: {result['method']}")
    out.print(f"limits: {result['limits']}")


@news_app.command("extract")
def news_extract(
    file: Annotated[Path, typer.Argument(help="An article: HTML or plain text.")],
    published: Annotated[str | None, typer.Option(
        help="Publication date YYYY-MM-DD (read from HTML when not given).")] = None,
    outlet: Annotated[str | None, typer.Option(help="The newspaper or site.")] = None,
    url: Annotated[str | None, typer.Option(help="Where the article was published.")] = None,
    db: Db = None, json_: Json = False,
) -> None:
    """Extract one article's record (nothing is stored); speakers resolve against --db."""
    from purport.assess import record

    known = bool(db) or Path(os.environ.get("PURPORT_DB", "purport.db")).exists()
    with _archive_if(known, db) as archive:
        rec = record.extract_file(file, published=published, outlet=outlet, url=url,
                                archive=archive)
    if json_:
        _emit(rec.to_dict())
        return
    for key, value in rec.to_dict().items():
        if key not in ("evidence",) and value not in (None, [], {}, ""):
            out.print(f"{key:18} {value}")
    for key, sentence in rec.evidence.items():
        out.print(f"  evidence {key}: {sentence}")


@news_app.command("add")
def news_add(
    files: Annotated[list[Path], typer.Argument(help="Article files or folders of them.")],
    meta: Annotated[Path | None, typer.Option(
        help="JSON: file name -> {published, outlet, url}.")] = None,
    published: Annotated[str | None, typer.Option(
        help="Publication date YYYY-MM-DD of the one article given (what the text cannot "
        "say of itself).")] = None,
    outlet: Annotated[str | None, typer.Option(
        help="The newspaper or site of the one article given.")] = None,
    url: Annotated[str | None, typer.Option(help="Where the one article given came from.")
                   ] = None,
    db: Db = None, json_: Json = False,
) -> None:
    """Extract and file articles: each report is linked to the release it reports."""
    from purport.assess import record

    _date(published, "--published")
    given = {k: v for k, v in (("published", published), ("outlet", outlet), ("url", url))
             if v is not None}
    if given and (len(files) != 1 or files[0].is_dir()):
        raise ParameterError("--published, --outlet and --url describe one article file: "
                             "give one file, or a --meta file for several")
    if given and meta is not None:
        raise ParameterError("give the article's facts with --published/--outlet/--url or "
                             "in --meta, not both")
    with _interruptible(), Archive(db) as archive:
        results = record.add_reports(archive, files, meta=meta,
                                     facts={files[0].name: given} if given else None)
    if json_:
        _emit(results)
        return
    for r in results:
        if r["release_id"] and r["release_date"]:
            what = f"release {r['release_id']} of {r['speaker']} on {r['release_date']}"
        elif r["release_id"]:
            what = (f"release {r['release_id']} of {r['speaker']}: {r['when']}, from "
                    f"{r['span']['basis']}")
            if not r.get("published"):
                what += " (give --published YYYY-MM-DD to date it)"
        elif r["status"] == "already present":
            what = "filed before (give --published to re-file it with a publication date)"
        elif not r["is_release_report"]:
            what = "no release (the article reports none)"
        else:
            missing = [w for w, have in (("speaker", r["speaker"]),
                                         ("release date", r["release_date"])) if not have]
            what = ("a release report, not filed under a release: the text gives no "
                    + " and no ".join(missing))
            if not r.get("published"):
                what += " (and no publication date: give --published YYYY-MM-DD)"
        out.print(f"{r['status']:15} report {r['report_id']} {r['file']}: {what}")


@app.command("record")
def record_(
    speaker: Annotated[str, typer.Argument(help="The speaker (name or alias).")],
    html: Annotated[Path | None, typer.Option(
        "--html", help="Also write the record as a self-contained HTML page here.")] = None,
    db: Db = None, json_: Json = False,
) -> None:
    """The speaker's timeline of releases, with their reports, recordings and checks."""
    from purport.assess import record
    from purport.news.record import describe_contradiction, record_html

    with Archive(db) as archive:
        data = record.record(archive, speaker)
    if html is not None:
        _write(html, record_html(data))
    if json_:
        _emit(data)
        return
    out.print(f"record of {data['speaker']}: {len(data['releases'])} releases")
    for r in data["releases"]:
        gap = f", {r['gap_days']} days after the previous" if r["gap_days"] is not None else ""
        facts = ", ".join(str(x) for x in (r["medium"], r["media_outlet"],
                                           ", ".join(r["channels"]) or None,
                                           f"{r['duration_minutes']:g} min"
                                           if r["duration_minutes"] else None) if x)
        when = f"{r['date']} {r['weekday']}" if r["date"] else r["when"]
        out.print(f"{when}: {facts or 'no details'}{gap}")
        for p in r["reports"]:
            out.print(f"    report: {p['outlet'] or p['name']} "
                      f"({p['published'] or 'publication date not known'})"
                      f"{', could not verify' if p['unverified'] else ''}")
        for x in r["recordings"]:
            out.print(f"    recording {x['recording_id']}: {x['name']}")
        for c in r["contradictions"]:
            out.print(f"    disagree: {describe_contradiction(c)}")
        for c in r["checks"]:
            out.print(f"    check: {c}")
    if html is not None:
        out.print(f"wrote {html}")


@app.command()
def transcribe(
    file: Annotated[Path, typer.Argument(help="The recording.")],
    language: Language = "auto", model: AsrModelOpt = None,
    srt: Annotated[bool, typer.Option("--srt", help="Print SubRip subtitles.")] = False,
    txt: Annotated[bool, typer.Option("--txt", help="Print plain text with times "
                                      "[the default].")] = False,
    save: Annotated[bool, typer.Option(
        "--save", help="Keep the transcript with the archive's recording of this file.")
    ] = False,
    from_text: Annotated[Path | None, typer.Option(
        "--from-text", help="Keep this text file (a transcript or translation someone made) "
        "as the recording's user-given transcript instead of recognising speech.")] = None,
    kind: Annotated[str, typer.Option(
        help="With --from-text: transcript or translation.")] = "transcript",
    db: Db = None, json_: Json = False,
) -> None:
    """What was said: speech recognition (faster-whisper) with segment and word times, the
    language detected and the model named; or a user's text kept beside it."""
    from purport.assess import speech
    from purport.speech import asr

    if sum((srt, txt, json_)) > 1:
        raise ParameterError("give one of --srt, --txt, --json")
    with _interruptible():
        if from_text is not None:
            if not save:
                raise ParameterError("--from-text keeps a text with the recording: give --save")
            info = media.probe(file)
            said = speech.user_text(from_text, duration=info.duration, kind=kind,
                                    language=None if language == "auto" else language)
        else:
            said, info = speech.transcribe_file(file, model=model, language=language)
        kept = None
        if save:
            with Archive(db) as archive:
                kept = speech.save(archive, info.sha256, said)
    if json_:
        _emit(dict(said.to_dict(), file=info.name, sha256=info.sha256, transcript_id=kept))
        return
    if srt:
        out.print(asr.to_srt(said), end="")
    else:
        lang = (f"{said.language} (probability {said.language_probability:.2f})"
                if said.language_probability is not None else said.language or "not stated")
        speed = (f", {said.duration / said.elapsed_s:.1f}x real time"
                 if said.elapsed_s else "")
        out.print(f"# {info.name}: {_hms(said.duration)}, language {lang}, {said.model}"
                  f"{speed}")
        out.print(asr.to_txt(said), end="")
    if kept is not None:
        out.print(f"kept as transcript {kept} of the archive's recording "
                  f"(sha256 {info.sha256[:12]})")


@app.command()
def search(
    phrase: Annotated[str, typer.Argument(help="Words to find, in order.")],
    speaker: Annotated[str | None, typer.Option(help="Only this speaker's recordings.")
                       ] = None,
    limit: Annotated[int, typer.Option(help="At most this many hits.")] = 50,
    db: Db = None, json_: Json = False,
) -> None:
    """Where the archive's transcripts say a phrase (Arabic spelling variants included)."""
    from purport.assess import speech

    with Archive(db) as archive:
        found = speech.search(archive, phrase, speaker=speaker, limit=limit)
    if json_:
        _emit(found)
        return
    out.print(f"{len(found['hits'])} hits for {phrase!r}")
    for h in found["hits"]:
        who = f" ({h['speaker']})" if h["speaker"] else ""
        out.print(f"recording {h['recording_id']} {h['recording']}{who} "
                  f"{_hms(h['start'])}-{_hms(h['end'])} [{h['source']} {h['kind']}]: "
                  f"{h['text']}")


@app.command()
def verify(
    file: Annotated[Path, typer.Argument(help="The questioned recording.")],
    claimed_speaker: Annotated[str | None, typer.Option(
        help="Who it is said to be (name or alias in the archive).")] = None,
    transcript: Annotated[Path | None, typer.Option(help="Transcript or translation.")] = None,
    events: Annotated[Path | None, typer.Option(help="Events catalog CSV.")] = None,
    region: Annotated[str | None, typer.Option(help="Grid region for ENF dating.")] = None,
    grid: Annotated[Path | None, typer.Option("--grid", help="Grid CSV for ENF dating.")
                    ] = None,
    calibration: Calib = None,
    html: Annotated[Path | None, typer.Option(
        "--html", help="Write the self-contained HTML report here.")] = None,
    save: Annotated[bool, typer.Option(
        "--save", help="File the recording (questioned, under the claimed speaker, if new) "
        "and keep the assessment (and the transcript) with it.")] = False,
    transcribe: Transcribe = None, language: Language = "auto", model: AsrModelOpt = None,
    db: Db = None, json_: Json = False,
) -> None:
    """Answer every question that applies: reuse, voice, timing, edits, and the record."""
    from purport import assess
    from purport.report.html import render

    if region and grid:
        raise ParameterError("give --region or --grid, not both")
    stored = None
    with _interruptible(), Archive(db) as archive:
        questions = dict(claimed_speaker=claimed_speaker, transcript=transcript, events=events,
                         region=region, grid_csv=grid, calibration=calibration,
                         transcribe=transcribe, asr_model=model, language=language)
        if save:
            result, stored = assess.verify_and_file(file, archive=archive, **questions)
        else:
            result = assess.verify(file, archive=archive, **questions)
    if html is not None:
        _write(html, render(result))
    if json_:
        data = result.to_dict()
        _emit(dict(data, kept={"assessment_id": stored.id, "recording_id": stored.recording_id})
              if stored is not None else data)
        return
    out.print(f"assessment of {result.recording['name']} "
              f"(sha256 {result.recording['sha256'][:12]})")
    _print_summary(result)
    if stored is not None:
        out.print(f"kept as assessment {stored.id} of recording {stored.recording_id}")
    if html is not None:
        out.print(f"wrote {html}")


class Scope(StrEnum):
    read = "read"
    write = "write"


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="Who or what the token is for.")],
    scope: Annotated[Scope, typer.Option(
        help="read: browse and query; write: also add recordings and start verifications.")
    ] = Scope.read,
    db: Db = None, json_: Json = False,
) -> None:
    """Create an API token; its secret is printed once and only a hash of it is kept."""
    with Archive(db) as archive:
        token, secret = archive.create_token(name, scope=scope.value)
    if json_:
        _emit(dict(token.to_dict(), secret=secret))
        return
    out.print(f"token {token.id} {token.name!r} ({token.scope}): {secret}")
    out.print("keep it now: purport keeps only its hash and cannot show it again")


@token_app.command("list")
def token_list(db: Db = None, json_: Json = False) -> None:
    """List API tokens (never their secrets)."""
    with Archive(db) as archive:
        found = archive.tokens()
    if json_:
        _emit([t.to_dict() for t in found])
        return
    table = Table("id", "name", "scope", "created", "last used", "revoked", box=None)
    for t in found:
        d = t.to_dict()
        table.add_row(str(t.id), t.name, t.scope, d["created_at"], d["last_used_at"] or "",
                      d["revoked_at"] or "")
    out.print(table)


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(help="The token's id.")],
                 db: Db = None, json_: Json = False) -> None:
    """Revoke an API token: requests with it are refused from now on."""
    with Archive(db) as archive:
        token = archive.revoke_token(token_id)
    if json_:
        _emit(token.to_dict())
        return
    out.print(f"revoked token {token.id} {token.name!r}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    max_upload: Annotated[str, typer.Option(
        help="Refuse uploads larger than this (413).")] = "512M",
    max_duration: Annotated[float, typer.Option(
        "--max-upload-duration", help="Refuse uploads longer than this many seconds.")
    ] = 3 * 3600.0,
    workers: Annotated[int, typer.Option(
        help="Background jobs run at once (verification is CPU-bound).")] = 1,
    secure_cookies: Annotated[bool, typer.Option(
        "--secure-cookies", help="Send the login cookie over HTTPS only (behind a TLS "
        "proxy).")] = False,
    max_concurrent: Annotated[int | None, typer.Option(
        help="Heavy requests (match, add, an upload's probe) worked on at once [default: "
        "one per CPU].")] = None,
    queue: Annotated[int, typer.Option(
        help="More heavy requests wait their turn, at most this many; past it 503 with "
        "Retry-After.")] = 8,
    queue_timeout: Annotated[float, typer.Option(
        help="Seconds a heavy request may wait for its turn before 503.")] = 60.0,
    max_jobs: Annotated[int, typer.Option(
        help="Verification jobs queued or running at most; past it 503.")] = 32,
    store: Store = None, db: Db = None,
) -> None:
    """Serve the web app and REST API over the archive (pages, uploads, jobs; tokens)."""
    import uvicorn

    from purport.web import Settings, create_app

    if workers < 1:
        raise ParameterError("--workers must be at least 1")
    if max_duration <= 0:
        raise ParameterError("--max-upload-duration must be positive")
    limit = _size(max_upload, "--max-upload")
    _check_port_free(host, port)
    web = create_app(Settings(db=db, store_dir=store, max_upload_bytes=limit,
                              max_duration=max_duration, workers=workers,
                              secure_cookies=secure_cookies, max_concurrent=max_concurrent,
                              max_queue=queue, queue_timeout=queue_timeout,
                              max_jobs=max_jobs))
    if not web.state.archive.tokens():
        err.print("no API tokens yet: create one with `purport token create NAME --scope "
                  "write`", markup=False)
    err.print(f"purport serving {web.state.archive.info()['db']} on http://{host}:{port}/",
              markup=False)
    uvicorn.run(web, host=host, port=port, log_level="info")


@app.command()
def check(
    clean: Annotated[bool, typer.Option(
        "--clean", help="Remove partial copies left by a crash; move store files no "
        "recording points to into <store>/orphaned/ (nothing is deleted).")] = False,
    quick: Annotated[bool, typer.Option(
        "--quick", help="Check that stored files exist, without re-hashing them.")] = False,
    store: Store = None, db: Db = None, json_: Json = False,
) -> None:
    """fsck for the archive: database integrity, the audit chain, every stored file's SHA-256.

    Exit status 1 when anything is wrong, so it can run from cron after a backup restore.
    """
    from purport.archive import check as check_

    with Archive(db, store_dir=store) as archive, _progress("checking") as progress:
        report = check_.check(archive, clean=clean, verify_files=not quick,
                              progress=progress)
    if json_:
        _emit(report.to_dict())
    else:
        out.print(f"checked {report.db}: {report.recordings} recordings, "
                  f"{report.files_verified} stored files verified against their SHA-256, "
                  f"{report.audit_entries} audit entries (head {(report.audit_head or '-')[:16]})")
        for line in report.problems:
            out.print(f"PROBLEM  {line}")
        for line in report.notes + report.cleaned:
            out.print(f"note     {line}")
        out.print("the archive is sound" if report.ok else
                  f"{len(report.problems)} problems: restore from a backup, or see above")
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def backup(
    dest: Annotated[Path, typer.Argument(help="A new (or empty) folder for the copy.")],
    store: Store = None, db: Db = None, json_: Json = False,
) -> None:
    """A consistent copy of a live archive and its stored files (SQLite online backup).

    Verify the copy with `purport check --db DEST/<name>.db`.
    """
    from purport.archive import check as check_

    with _interruptible(), Archive(db, store_dir=store) as archive, \
            _progress("copying") as progress:
        report = check_.backup(archive, dest, progress=progress)
    if json_:
        _emit(report.to_dict())
        if report.missing:
            raise typer.Exit(1)
        return
    out.print(f"backed up to {report.db} and {report.files} files ({report.bytes:,} bytes) in "
              f"{report.store}; database SHA-256 {report.db_sha256[:16]}…, audit head "
              f"{(report.audit_head or '-')[:16]}")
    for line in report.missing:
        out.print(f"missing  {line} (not in the store when copied)")
    out.print(f"verify it with: purport check --db {report.db} --store {report.store}")
    if report.missing:
        err.print(f"error: {len(report.missing)} stored files were gone when copied (removed "
                  "while the backup ran?): the copy is incomplete, run the backup again")
        raise typer.Exit(1)


@app.command()
def audit(
    subject: Annotated[str | None, typer.Option(
        help="Only entries about this subject, e.g. 'recording 3' or 'token 2'.")] = None,
    sha256: Annotated[str | None, typer.Option(
        help="Only entries whose input had this SHA-256.")] = None,
    last: Annotated[int | None, typer.Option(help="Only the last N entries.")] = None,
    db: Db = None, json_: Json = False,
) -> None:
    """The audit log: every change to the archive, who made it, when, and the input's SHA-256.

    Append-only and hash-chained (`purport check` verifies the chain): the chain of
    custody of every recording, report, grid log, assessment and token.
    """
    if last is not None and last < 1:
        raise ParameterError("--last must be at least 1")
    with Archive(db) as archive:
        found = archive.audit(subject=subject, sha256=sha256.lower() if sha256 else None,
                              limit=last)
    if json_:
        _emit([e.to_dict() for e in found])
        return
    if not found:
        out.print("no audit entries" + (" match" if subject or sha256 else ""))
        return
    table = Table("id", "at (UTC)", "actor", "action", "subject", "input sha256", box=None)
    for e in found:
        table.add_row(str(e.id), e.to_dict()["at"][:19].replace("T", " "), e.actor, e.action,
                      e.subject, (e.input_sha256 or "")[:16])
    out.print(table)


def _check_port_free(host: str, port: int) -> None:
    """Refuse a port another process listens on before saying "serving" (uvicorn would
    print its error after the banner and exit 3)."""
    import socket

    if not 0 < port < 65536:
        raise ParameterError(f"--port must be 1 to 65535, not {port}")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ParameterError(f"--host {host!r} is not an address here ({exc.strerror})") \
            from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise ParameterError(f"cannot listen on {host}:{port}: {exc.strerror} (another "
                                 "server there? choose --port)") from None


@app.command()
def version() -> None:
    """Print purport's version and the archive schema version it writes."""
    from purport.archive.db import head_version

    out.print(f"purport {__version__} (archive schema {head_version()})")


@contextmanager
def _progress(what: str, *, show: bool = True) -> Iterator[Any]:
    """A progress bar on a terminal's stderr: yields ``update(i, n, label)``, or None."""
    if not (show and err.is_terminal):
        yield None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=err, transient=True) as bar:
        task = bar.add_task(what, total=None)
        yield lambda i, n, label: bar.update(task, completed=i, total=n, description=label)


@contextmanager
def _archive_if(needed: bool, db: str | None) -> Iterator[Archive | None]:
    """The archive opened (and closed after) when the command needs it, else None."""
    archive = Archive(db) if needed else None
    try:
        yield archive
    finally:
        if archive is not None:
            archive.close()


@contextmanager
def _interruptible() -> Iterator[None]:
    """Ctrl-C during long work: say that the archive was rolled back, exit 130."""
    try:
        yield
    except KeyboardInterrupt:
        err.print("interrupted: the archive is as it was before this command (nothing "
                  "was added)", markup=False)
        raise typer.Exit(130) from None


#: where the CLI writes the traceback of an error it did not expect ($PURPORT_LOG_DIR)
def _log_dir() -> Path:
    if env := os.environ.get("PURPORT_LOG_DIR"):
        return Path(env).expanduser()
    state = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(state) / "purport"


def _crash_log(exc: BaseException) -> Path | None:
    """Write the traceback to a log file for a bug report; its path, or None if unwritable."""
    import traceback

    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    try:
        folder = _log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"error-{stamp}-{os.getpid()}.log"
        path.write_text(f"purport {__version__}: {' '.join(sys.argv)}\n"
                        + "".join(traceback.format_exception(exc)), encoding="utf-8",
                        errors="backslashreplace")
        return path
    except OSError:
        return None


def _one_line(text: object) -> str:
    return " ".join(str(text).split()) or "no detail"


def _user_error(exc: BaseException) -> str | None:
    """The one line a fault of the machine, not of purport, means to the user, or None."""
    import errno

    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        where = f" writing {exc.filename}" if exc.filename else ""
        return f"the disk is full{where}: nothing was changed; free some space and try again"
    if isinstance(exc, OSError) and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"cannot write {exc.filename or 'a file'}: {exc.strerror}"
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        name = str(exc.filename)
        name = name if len(name) <= 80 else name[:60] + "…" + name[-10:]
        return f"{name}: {exc.strerror}"
    if isinstance(exc, UnicodeEncodeError):
        bad = exc.object[max(exc.start - 20, 0): exc.end + 20] if isinstance(exc.object, str) \
            else ""
        return ("a name or argument holds bytes that are not UTF-8 "
                f"({bad.encode('utf-8', 'backslashreplace').decode()!r}): rename it or give "
                "it as UTF-8")
    if isinstance(exc, MemoryError):
        return "out of memory: the input is too large for this machine"
    return None


class _StderrHandler(logging.StreamHandler):
    """Notices (the archive is busy, waiting) to whatever stderr is now."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def main(argv: list[str] | None = None) -> None:
    """Run the CLI: a PurportError becomes one line on stderr and exit status 1.

    Any other error is a bug or a fault of the machine: one line and exit status 2, the
    traceback in a log file (printed as well with ``--debug`` or $PURPORT_DEBUG=1).
    """
    import signal

    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("PURPORT_DEBUG", "") not in ("", "0")
    args = [a for a in args if a != "--debug"]
    notices = logging.getLogger("purport")
    if not notices.handlers:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("purport: %(message)s"))
        handler.setLevel(logging.WARNING)
        notices.addHandler(handler)
    interrupt.reset()
    if threading_main():
        # SIGTERM stops work as Ctrl-C does; both are remembered (purport.interrupt), so
        # an interrupt lost inside a C extension's callback still stops before a commit
        signal.signal(signal.SIGTERM, interrupt.request)
        signal.signal(signal.SIGINT, interrupt.request)
    try:
        app(args=args, prog_name="purport")
    except PurportError as exc:
        err.print(f"error: {_one_line(exc)}", markup=False)
        if debug:
            raise
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        sys.exit(130)
    except Exception as exc:
        if debug:
            raise
        if (line := _user_error(exc)) is not None:
            err.print(f"error: {line}", markup=False)
            sys.exit(1)
        log_path = _crash_log(exc)
        where = f"; the traceback is in {log_path}" if log_path else ""
        err.print(f"error: unexpected {type(exc).__name__}: {_one_line(exc)[:300]}{where} "
                  "(please report it; --debug shows it here)", markup=False)
        sys.exit(2)


def threading_main() -> bool:
    """Whether this is the main thread (only it may set signal handlers)."""
    import threading

    return threading.current_thread() is threading.main_thread()
