"""fsck for an archive: the database's integrity, the audit chain, and every stored file
against its SHA-256; and consistent backups of a live archive."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import time
import uuid
from collections.abc import Callable
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from purport.archive import audit, db, store
from purport.archive.schema import fingerprints, recordings
from purport.errors import ArchiveError, ParameterError

#: a partial store copy younger than this may belong to an `add` still running
INCOMING_GRACE_S = 3600.0

Progress = Callable[[int, int, str], None]


@dataclass
class CheckReport:
    """What ``purport check`` found: problems (the archive is not sound) and notes."""

    db: str
    store: str
    recordings: int = 0
    files_verified: int = 0
    audit_entries: int = 0
    audit_head: str | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)
    cleaned: list[str] = field(default_factory=list)
    missing: dict[int, str] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return dict({k: v for k, v in asdict(self).items() if k != "missing"}, ok=self.ok)


def check(archive, *, clean: bool = False, verify_files: bool = True,
          progress: Progress | None = None) -> CheckReport:
    """Check the archive; with ``clean``, remove partial copies left by a crash and move
    store files that no recording points to into ``<store>/orphaned/`` (never deleted).

    A stored copy is looked for in this archive's store first (a restored or moved archive
    is checked against its own files, not the ones its paths were filed at). ``clean``
    holds the write lock while it scans, so no ``add`` is half-way through meanwhile.
    """
    report = CheckReport(db=db.redact(archive.url), store=str(archive.store))
    path = db.sqlite_path(archive.url)
    if path is not None:
        _sqlite_integrity(path, report)
    with archive.engine.connect() as conn:
        report.problems += audit.verify_chain(conn)
        chain = audit.entries(conn, limit=1)
        report.audit_entries = audit.count(conn)
        report.audit_head = chain[-1].entry_hash if chain else None
    if clean:
        with archive.transaction() as t:
            _check_files(archive, t.conn, report, verify_files, progress, clean=True)
    else:
        with archive.engine.connect() as conn:
            _check_files(archive, conn, report, verify_files, progress, clean=False)
    return report


def _check_files(archive, conn: sa.Connection, report: CheckReport, verify: bool,
                 progress: Progress | None, *, clean: bool) -> None:
    rows = conn.execute(sa.select(recordings.c.id, recordings.c.sha256, recordings.c.name,
                                  recordings.c.storage, recordings.c.stored_path)
                        .order_by(recordings.c.id)).all()
    printed = set(conn.execute(sa.select(fingerprints.c.recording_id)).scalars())
    report.recordings = len(rows)
    elsewhere = 0
    for i, r in enumerate(rows, 1):
        if progress is not None:
            progress(i, len(rows), r.name)
        if r.id not in printed:
            report.problems.append(f"recording {r.id} ({r.name}) has no fingerprint: the reuse "
                                   "index misses it (run `purport index rebuild`)")
        elsewhere += _check_file(r, report, verify, archive.store)
    marked = store.owner(archive.store)
    if marked is not None and marked != archive.archive_id and not clean:
        report.problems.append(
            f"the store {archive.store} belongs to another archive (id {marked}, this one is "
            f"{archive.archive_id}): its files say nothing of this archive's; give --store")
    if clean and marked is not None and marked != archive.archive_id:
        raise ArchiveError(
            f"the store {archive.store} belongs to another archive (id {marked}, this one is "
            f"{archive.archive_id}): give this archive's store with --store; --clean moves "
            "nothing")
    if clean and elsewhere:
        raise ArchiveError(
            f"{elsewhere} stored copies are not in the store {archive.store} but where the "
            "database filed them: this is not the store of this database (give --store), so "
            "--clean moves nothing")
    referenced = {store.stored_path(archive.store, r.sha256, Path(r.stored_path).suffix)
                  .resolve() for r in rows if r.storage == "copy"}
    referenced |= {Path(r.stored_path).resolve() for r in rows if r.storage == "copy"}
    _store_leftovers(archive.store, referenced, report, clean=clean)
    if report.missing and not clean:  # a recording removed while we looked is no problem
        with archive.engine.connect() as fresh:
            still = set(fresh.execute(sa.select(recordings.c.id).where(
                recordings.c.id.in_(sorted(report.missing)))).scalars())
        for rid in set(report.missing) - still:
            report.problems.remove(report.missing.pop(rid))


def _sqlite_integrity(path: Path, report: CheckReport) -> None:
    try:
        with closing(sqlite3.connect(db.reading_uri(path), uri=True)) as conn:
            found = [r[0] for r in conn.execute("PRAGMA integrity_check(20)")]
            broken = conn.execute("PRAGMA foreign_key_check").fetchall()
    except sqlite3.DatabaseError as exc:
        report.problems.append(f"the database file cannot be checked: {exc}")
        return
    if found != ["ok"]:
        report.problems += [f"database: {line}" for line in found]
    if broken:
        report.problems.append(f"database: {len(broken)} rows point to rows that are gone "
                               f"(first: table {broken[0][0]}, row {broken[0][1]})")


def _check_file(r: Any, report: CheckReport, verify: bool, folder: Path) -> int:
    """Check one recording's file; 1 when its copy is not in ``folder`` but where filed."""
    filed = Path(r.stored_path)
    what = f"recording {r.id} ({r.name})"
    where, elsewhere = filed, 0
    if r.storage == "copy":
        own = store.stored_path(folder, r.sha256, filed.suffix)
        if own.is_file():
            if own.resolve() != filed.resolve():
                report.notes.append(f"{what}: checked the copy in this store, {own} (filed "
                                    f"at {filed}: a restored or moved archive)")
            where = own
        elif filed.is_file():
            report.notes.append(f"{what}: its copy is not in the store {folder}; checked it "
                                f"where it was filed, {filed}")
            elsewhere = 1
    if not where.is_file():
        if r.storage == "copy":
            line = f"{what}: its stored copy {where} is missing"
            report.problems.append(line)
            report.missing[r.id] = line
        else:
            report.notes.append(f"{what}: the linked file {where} is gone (added with "
                                "--no-copy; the archive keeps its facts, not its audio)")
        return elsewhere
    if not verify:
        return elsewhere
    try:
        digest = _sha256(where)
    except OSError as exc:
        report.problems.append(f"{what}: its file {where} cannot be read ({exc.strerror})")
        return elsewhere
    if digest != r.sha256:
        kind = "stored copy" if r.storage == "copy" else "linked file"
        report.problems.append(f"{what}: its {kind} {where} has changed: SHA-256 {digest[:16]}…"
                               f" where the archive holds {r.sha256[:16]}…")
    else:
        report.files_verified += 1
    return elsewhere


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _store_leftovers(folder: Path, referenced: set[Path], report: CheckReport, *,
                     clean: bool) -> None:
    if not folder.is_dir():
        return
    now = time.time()
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and len(p.name) == 2):
        for f in sorted(sub.iterdir()):
            if not f.is_file():
                continue
            if f.name.startswith(store.INCOMING):
                try:
                    age = now - f.stat().st_mtime
                except FileNotFoundError:  # an add just renamed it into place
                    continue
                if age < INCOMING_GRACE_S:
                    report.notes.append(f"{f}: a copy being written (younger than an hour)")
                    continue
                report.leftovers.append(str(f))
                if clean:
                    f.unlink(missing_ok=True)
                    report.cleaned.append(f"removed partial copy {f}")
            elif f.resolve() not in referenced:
                report.orphans.append(str(f))
                if clean:
                    target = folder / "orphaned" / f.name
                    target.parent.mkdir(exist_ok=True)
                    os.replace(f, target)
                    report.cleaned.append(f"moved {f} to {target}")
    if report.leftovers and not clean:
        report.notes.append(f"{len(report.leftovers)} partial copies left by an interrupted "
                            "add: `purport check --clean` removes them")
    if report.orphans and not clean:
        report.notes.append(f"{len(report.orphans)} stored files no recording points to: "
                            "`purport check --clean` moves them to <store>/orphaned/")


@dataclass
class BackupReport:
    """What ``purport backup`` wrote."""

    db: str
    store: str
    files: int
    bytes: int
    db_sha256: str
    audit_head: str | None
    made_at: str
    missing: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def backup(archive, dest: str | Path, *, progress: Progress | None = None) -> BackupReport:
    """A consistent copy of a live SQLite archive and its store in the folder ``dest``.

    The database is copied with SQLite's online backup API (a snapshot, while other
    processes keep reading and writing); then the stored files that snapshot refers to.
    ``purport check --db DEST/NAME.db`` verifies the copy.
    """
    src = db.sqlite_path(archive.url)
    if src is None:
        raise ArchiveError(
            "purport backup copies SQLite archives: back up a PostgreSQL archive with "
            "`pg_dump --format=custom --file=purport.dump URL` (a consistent snapshot while "
            f"it runs) and copy the store folder {archive.store}; restore with pg_restore, "
            "then run `purport check`")
    dest = Path(dest).expanduser().resolve()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ParameterError(f"{dest} exists and is not an empty folder: give a new folder")
    target_db = dest / src.name
    target_store = store.default_store_beside(target_db)
    try:
        dest.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(db.reading_uri(src), uri=True)) as source, \
                closing(sqlite3.connect(target_db)) as copy:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        with closing(sqlite3.connect(db.sqlite_uri(target_db, mode="ro"), uri=True)) as snap:
            rows = snap.execute("SELECT id, sha256, stored_path FROM recordings "
                                "WHERE storage = 'copy' ORDER BY id").fetchall()
            head = snap.execute("SELECT entry_hash FROM audit_log ORDER BY id DESC "
                                "LIMIT 1").fetchone()
        report = BackupReport(db=str(target_db), store=str(target_store), files=0, bytes=0,
                              db_sha256=_sha256(target_db), audit_head=head[0] if head else None,
                              made_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
        moves: list[tuple[int, str, Path]] = []
        for i, (rid, sha, stored) in enumerate(rows, 1):
            source_file = Path(stored)
            if progress is not None:
                progress(i, len(rows), source_file.name)
            if not source_file.is_file():
                report.missing.append(f"recording {rid}: {stored}")
                continue
            copy_to = store.stored_path(target_store, sha, source_file.suffix)
            copy_to.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source_file, copy_to)
            report.files += 1
            report.bytes += copy_to.stat().st_size
            moves.append((rid, stored, copy_to))
        copy_id = _repoint(target_db, moves)
        store.mark(target_store, copy_id)
        report.db_sha256 = _sha256(target_db)
        (dest / "BACKUP.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n",
                                          encoding="utf-8")
    except OSError as exc:
        raise ArchiveError(f"backup to {dest} failed: {exc.strerror or exc} "
                           f"({exc.filename or dest})") from exc
    return report


def _repoint(target_db: Path, moves: list[tuple[int, str, Path]]) -> str:
    """Point the copy's recordings at the copy's store and give the copy its own archive
    id (a backup must stand on its own: checking it never touches the live store).
    Returns the copy's id. The audit log is untouched: its entries keep saying where the
    files were filed.
    """
    copy_id = str(uuid.uuid4())
    with closing(sqlite3.connect(target_db)) as conn:
        conn.executemany("UPDATE recordings SET stored_path = ? WHERE id = ?",
                         [(str(new), rid) for rid, _, new in moves])
        conn.execute("UPDATE archive_meta SET value = ? WHERE key = 'archive_id'", (copy_id,))
        conn.commit()
    return copy_id
