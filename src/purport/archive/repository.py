"""The Archive: every read and write of speakers, recordings and releases goes through here."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import logging
import secrets
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from purport import interrupt, media
from purport.archive import audit, db, store
from purport.archive.model import (
    Job,
    Provenance,
    Recording,
    Release,
    Sighting,
    Speaker,
    StoredAssessment,
    Token,
    iso,
)
from purport.archive.schema import (
    JOB_STATES,
    ROLES,
    SCOPES,
    archive_meta,
    assessments,
    audit_log,
    calibrations,
    fingerprints,
    grid_logs,
    jobs,
    recordings,
    release_recordings,
    releases,
    reports,
    sightings,
    speaker_aliases,
    speakers,
    tokens,
    transcript_segments,
    transcripts,
    voice_embeddings,
)
from purport.errors import ArchiveError, NotFoundError, ParameterError
from purport.media import MediaInfo
from purport.news import span as span_rules
from purport.news.span import Span
from purport.speech.textnorm import fts5_phrase, normalize

log = logging.getLogger("purport.archive")

#: how stale a token's recorded last use may get (see ``Archive.token_for_secret``)
LAST_USED_EVERY = dt.timedelta(minutes=5)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Transaction:
    """One unit of change: a database transaction plus the store files it wrote or doomed."""

    conn: sa.Connection
    new_files: list[Path] = field(default_factory=list)
    doomed_files: list[Path] = field(default_factory=list)


class Archive:
    """A purport archive: an SQLite file by default, or PostgreSQL by URL.

    >>> archive = Archive.init("example.db")        # doctest: +SKIP
    >>> archive.add_speaker("Speaker A", aliases=["A. Example"])  # doctest: +SKIP
    """

    def __init__(self, db_url: str | None = None, *, store_dir: str | Path | None = None,
                 create: bool = False):
        self.url = db.resolve_url(db_url)
        self.engine = db.create_engine(self.url)
        try:
            self.schema_version = db.migrate(self.engine, self.url, create=create)
        except BaseException:
            self.engine.dispose()
            raise
        db_file = db.sqlite_path(self.url)
        self.store = Path(store_dir).resolve() if store_dir else store.default_store(db_file)

    @classmethod
    def init(cls, db_url: str | None = None, **kwargs: Any) -> Archive:
        """Create the archive if needed and bring its schema to the newest version."""
        return cls(db_url, create=True, **kwargs)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @functools.cached_property
    def archive_id(self) -> str:
        """This archive's UUID (copies made by ``purport backup`` share it)."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(archive_meta.c.value).where(
                archive_meta.c.key == "archive_id")).scalar_one()

    # -- transactions -------------------------------------------------------

    @contextmanager
    def transaction(self, *, wait: float | None = None) -> Iterator[Transaction]:
        """All or nothing: rolls back (and deletes new store copies) on any error or Ctrl-C.

        ``wait`` caps the seconds to wait for another writer (default $PURPORT_BUSY_TIMEOUT);
        past it, ArchiveBusyError.
        """
        txn: Transaction | None = None
        committed = False
        try:
            with self.engine.connect() as conn:
                options: dict[str, Any] = {"purport_write": True}
                if wait is not None:
                    options["purport_wait"] = wait
                conn = conn.execution_options(**options)
                trans = conn.begin()
                txn = Transaction(conn)
                try:
                    yield txn
                    interrupt.check()  # a stop request lost on the way: not committed
                    trans.commit()
                    committed = True
                except BaseException:
                    if not committed:
                        trans.rollback()
                    raise
        except BaseException:
            if txn is not None and not committed:  # after COMMIT the copies are the archive's
                store.discard(txn.new_files)
            if not committed:
                raise
        store.discard(txn.doomed_files)

    @contextmanager
    def _use(self, txn: Transaction | None) -> Iterator[Transaction]:
        if txn is not None:
            yield txn
        else:
            with self.transaction() as own:
                yield own

    # -- the archive as a whole ---------------------------------------------

    def info(self) -> dict[str, Any]:
        """Where the archive lives, its schema version and how much it holds."""
        with self.engine.connect() as conn:
            counts = {
                t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                for t in (speakers, recordings, sightings, releases)
            }
            hours = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(recordings.c.duration),
                                                            0.0))).scalar_one()
        return {
            "db": db.redact(self.url),
            "backend": self.engine.dialect.name,
            "schema_version": self.schema_version,
            "store": str(self.store),
            "counts": counts,
            "hours_of_audio": round(float(hours) / 3600.0, 4),
        }

    # -- speakers -------------------------------------------------------------

    def add_speaker(self, name: str, *, aliases: Iterable[str] = (), notes: str | None = None,
                    txn: Transaction | None = None) -> tuple[Speaker, bool]:
        """Add a speaker, or add new aliases to an existing one; returns (speaker, created)."""
        name = _clean(name, "speaker name")
        aliases = [_clean(a, "alias") for a in aliases]
        with self._use(txn) as t:
            row = t.conn.execute(sa.select(speakers.c.id).where(speakers.c.name == name)).first()
            created = row is None
            if created:
                speaker_id = t.conn.execute(
                    speakers.insert().values(name=name, notes=notes, created_at=now())
                ).inserted_primary_key[0]
            else:
                speaker_id = row.id
            have = set(t.conn.execute(sa.select(speaker_aliases.c.alias)
                                      .where(speaker_aliases.c.speaker_id == speaker_id)).scalars())
            new = [a for a in dict.fromkeys(aliases) if a not in have and a != name]
            for alias in new:
                t.conn.execute(speaker_aliases.insert().values(speaker_id=speaker_id,
                                                               alias=alias))
            if created or new:
                audit.append(t.conn, "speaker added" if created else "speaker aliases added",
                             f"speaker {speaker_id}", detail={"name": name, "aliases": new})
            return self._speaker(t.conn, speaker_id), created

    def speaker(self, ref: str | int, *, txn: Transaction | None = None) -> Speaker:
        """A speaker by id, name or alias (an alias two speakers share is refused as ambiguous)."""
        with self._read(txn) as conn:
            return self._speaker(conn, self._speaker_id(conn, ref))

    def speakers(self) -> list[Speaker]:
        with self.engine.connect() as conn:
            ids = conn.execute(sa.select(speakers.c.id).order_by(speakers.c.name)).scalars().all()
            return [self._speaker(conn, i) for i in ids]

    def _speaker_id(self, conn: sa.Connection, ref: str | int) -> int:
        if (key := _key(ref)) is not None:
            row = conn.execute(sa.select(speakers.c.id).where(speakers.c.id == key)).first()
            if row:
                return row.id
        name = str(ref).strip()
        row = conn.execute(sa.select(speakers.c.id).where(speakers.c.name == name)).first()
        if row:
            return row.id
        ids = conn.execute(sa.select(speaker_aliases.c.speaker_id)
                           .where(speaker_aliases.c.alias == name).distinct()).scalars().all()
        if len(ids) == 1:
            return ids[0]
        if len(ids) > 1:
            names = ", ".join(self._speaker(conn, i).name for i in ids)
            raise ArchiveError(f"alias {name!r} is shared by several speakers ({names}): "
                               "use the name")
        raise NotFoundError(f"no speaker {name!r} in the archive: add it with "
                            f"`purport speaker add {name!r}`")

    def _speaker(self, conn: sa.Connection, speaker_id: int) -> Speaker:
        row = conn.execute(sa.select(speakers).where(speakers.c.id == speaker_id)).one()
        aliases = conn.execute(sa.select(speaker_aliases.c.alias)
                               .where(speaker_aliases.c.speaker_id == speaker_id)
                               .order_by(speaker_aliases.c.id)).scalars().all()
        n = conn.execute(sa.select(sa.func.count()).select_from(recordings)
                         .where(recordings.c.speaker_id == speaker_id)).scalar_one()
        return Speaker(id=row.id, name=row.name, aliases=list(aliases), notes=row.notes,
                       created_at=row.created_at, n_recordings=n)

    # -- recordings -------------------------------------------------------------

    def add_recording(self, info: MediaInfo, *, role: str | None = None,
                      speaker: str | int | None = None, provenance: Provenance | None = None,
                      copy: bool = True, notes: str | None = None,
                      txn: Transaction | None = None) -> tuple[Recording, str, list[str]]:
        """File a decoded media file; the same bytes again merge into the existing recording.

        Returns (recording, status, merged) where status is "added" or "already present"
        and merged lists what the new sighting added to an existing recording.
        """
        if role is not None and role not in ROLES:
            raise ParameterError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        provenance = provenance or Provenance()
        for what, value, limit in (("outlet", provenance.outlet, 200),
                                   ("channel", provenance.channel, 100)):
            if value is not None:
                _clean(value, what, limit=limit)
        if len(info.name) > 500:
            info = dataclasses.replace(info, name=_fit(info.name, 500))
        with self._use(txn) as t:
            conn = t.conn
            speaker_id = self._speaker_id(conn, speaker) if speaker is not None else None
            row = conn.execute(sa.select(recordings)
                               .where(recordings.c.sha256 == info.sha256)).first()
            merged: list[str] = []
            if row is None:
                status = "added"
                if copy:
                    path, is_new = store.put(self.store, Path(info.path), info.sha256,
                                             archive_id=self.archive_id)
                    if is_new:
                        t.new_files.append(path)
                    storage, where = "copy", str(path)
                else:
                    storage, where = "link", str(Path(info.path).resolve())
                    if where != media.display_name(where):
                        raise ArchiveError(f"{info.name}: its path is not valid UTF-8, so the "
                                           "archive cannot link to it: add it with --copy")
                recording_id = conn.execute(recordings.insert().values(
                    sha256=info.sha256, name=info.name, size_bytes=info.size_bytes,
                    storage=storage, stored_path=where, container=info.container,
                    codec=info.codec, bit_rate=info.bit_rate, sample_rate=info.sample_rate,
                    channels=info.channels, duration=info.duration, tags=dict(info.tags),
                    role=role or "questioned", speaker_id=speaker_id, notes=notes,
                    added_at=now(),
                )).inserted_primary_key[0]
            else:
                status, recording_id = "already present", row.id
                if role is not None and role != row.role:
                    raise ArchiveError(
                        f"{info.name} is already recording {row.id} with role {row.role}, "
                        f"not {role}: remove it first to re-file it")
                if speaker_id is not None and row.speaker_id not in (None, speaker_id):
                    held = self._speaker(conn, row.speaker_id).name
                    raise ArchiveError(
                        f"{info.name} is already recording {row.id}, filed under speaker "
                        f"{held!r}: remove it first to re-file it")
                if speaker_id is not None and row.speaker_id is None:
                    conn.execute(recordings.update().where(recordings.c.id == row.id)
                                 .values(speaker_id=speaker_id))
                    merged.append(f"speaker set to {self._speaker(conn, speaker_id).name}")
                if notes and notes != row.notes:
                    joined = f"{row.notes}\n{notes}" if row.notes else notes
                    conn.execute(recordings.update().where(recordings.c.id == row.id)
                                 .values(notes=joined))
                    merged.append("notes appended")
            if self._add_sighting(conn, recording_id, info.name, provenance) and row is not None:
                merged.append("new sighting")
            if provenance.released is not None:
                owner = speaker_id if speaker_id is not None or row is None else row.speaker_id
                rel_id, rel_changes = self._file_release(conn, recording_id, owner, provenance)
                merged.extend(rel_changes if row is not None else [])
            if row is None or merged:
                audit.append(conn, "recording added" if row is None else "recording updated",
                             f"recording {recording_id}", sha256=info.sha256, detail={
                                 "name": info.name, "size_bytes": info.size_bytes,
                                 "role": role, "speaker": speaker, "storage": "copy" if copy
                                 else "link", "provenance": provenance.to_dict(),
                                 "changes": merged})
            return self._recording(conn, recording_id), status, merged

    def _add_sighting(self, conn: sa.Connection, recording_id: int, name: str,
                      p: Provenance) -> bool:
        key = dict(original_name=name, source_url=p.source_url, outlet=p.outlet,
                   channel=p.channel, released=p.released)
        clauses = [(sightings.c[k].is_(None) if v is None else sightings.c[k] == v)
                   for k, v in key.items()]
        exists = conn.execute(sa.select(sightings.c.id).where(
            sightings.c.recording_id == recording_id, *clauses)).first()
        if not exists and not any((p.source_url, p.outlet, p.channel, p.released)):
            # the same name again with no provenance tells nothing new
            exists = conn.execute(sa.select(sightings.c.id).where(
                sightings.c.recording_id == recording_id,
                sightings.c.original_name == name)).first()
        if exists:
            return False
        conn.execute(sightings.insert().values(
            recording_id=recording_id, first_seen=p.first_seen or now(), notes=p.notes,
            added_at=now(), **key))
        return True

    def _file_release(self, conn: sa.Connection, recording_id: int, speaker_id: int | None,
                      p: Provenance) -> tuple[int, list[str]]:
        """Link the recording to the speaker's release of its date (the clustering rule of
        :func:`purport.news.span.same_release`), creating it if new."""
        span = Span.day(p.released, "the release date given with the recording")
        release_id, created, changes = self._place(
            conn, speaker_id, span, outlet=p.outlet, channels=[p.channel] if p.channel else [])
        if created:
            changes = [f"new release {p.released.isoformat()}"]
        linked = conn.execute(sa.select(release_recordings).where(
            release_recordings.c.release_id == release_id,
            release_recordings.c.recording_id == recording_id)).first()
        if not linked:
            conn.execute(release_recordings.insert().values(release_id=release_id,
                                                            recording_id=recording_id))
            changes.append(f"linked to release {p.released.isoformat()}")
        return release_id, changes

    def _place(self, conn: sa.Connection, speaker_id: int | None, span: Span, *,
               medium: str | None = None, outlet: str | None = None,
               channels: Iterable[str] = (), duration_minutes: float | None = None,
               ) -> tuple[int, bool, list[str]]:
        """The one clustering rule for recordings and reports: the speaker's release that
        ``span`` belongs to (:func:`purport.news.span.choose`), with what this source adds
        merged in and its span narrowed to the days both allow; or a new release.
        Returns (release id, created, changes)."""
        speaker_clause = (releases.c.speaker_id.is_(None) if speaker_id is None
                          else releases.c.speaker_id == speaker_id)
        rows = conn.execute(sa.select(releases).where(speaker_clause)).all()
        placed = [(r, s) for r in rows if (s := _span(r)) is not None]
        row = span_rules.choose(span, placed, medium=medium, medium_of=lambda r: r.medium)
        channels = list(channels)
        if row is None:
            release_id = conn.execute(releases.insert().values(
                speaker_id=speaker_id, outlet=outlet, channels=channels, medium=medium,
                duration_minutes=duration_minutes, created_at=now(), **_span_columns(span),
            )).inserted_primary_key[0]
            return release_id, True, [f"new release {span.describe()}"]
        values: dict[str, Any] = {}
        if outlet and not row.outlet:
            values["outlet"] = outlet
        if medium and not row.medium:
            values["medium"] = medium
        if duration_minutes and not row.duration_minutes:
            values["duration_minutes"] = duration_minutes
        merged = list(row.channels or [])
        merged += [c for c in channels if c not in merged]
        if merged != list(row.channels or []):
            values["channels"] = merged
        held = _span(row)
        narrowed = span_rules.narrow(held, span)
        if narrowed != held:
            values.update(_span_columns(narrowed))
        if values:
            conn.execute(releases.update().where(releases.c.id == row.id).values(**values))
        return row.id, False, [f"release {narrowed.describe()} updated"] if values else []

    def recording(self, ref: str | int, *, txn: Transaction | None = None) -> Recording:
        """A recording by id or by sha256 (a unique prefix of at least 6 hex digits)."""
        with self._read(txn) as conn:
            return self._recording(conn, self._recording_id(conn, ref))

    def recordings(self, *, speaker: str | int | None = None,
                   role: str | None = None) -> list[Recording]:
        """Recordings in the order they were added, optionally of one speaker or role."""
        if role is not None and role not in ROLES:
            raise ParameterError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        with self.engine.connect() as conn:
            query = sa.select(recordings.c.id).order_by(recordings.c.id)
            if speaker is not None:
                query = query.where(recordings.c.speaker_id == self._speaker_id(conn, speaker))
            if role is not None:
                query = query.where(recordings.c.role == role)
            return [self._recording(conn, i) for i in conn.execute(query).scalars()]

    def remove_recording(self, ref: str | int, *, txn: Transaction | None = None) -> Recording:
        """Delete a recording, its sightings and links; its stored copy goes after commit."""
        with self._use(txn) as t:
            rec = self._recording(t.conn, self._recording_id(t.conn, ref))
            t.conn.execute(recordings.delete().where(recordings.c.id == rec.id))
            orphans = t.conn.execute(sa.select(releases.c.id).where(
                ~sa.exists().where(release_recordings.c.release_id == releases.c.id),
                releases.c.id.in_([r.id for r in rec.releases]))).scalars().all()
            if orphans:
                t.conn.execute(releases.delete().where(releases.c.id.in_(orphans)))
            if rec.storage == "copy":
                t.doomed_files.append(Path(rec.stored_path))
            audit.append(t.conn, "recording removed", f"recording {rec.id}", sha256=rec.sha256,
                         detail={"name": rec.name, "releases_removed": list(orphans)})
            return rec

    def _recording_id(self, conn: sa.Connection, ref: str | int) -> int:
        text = str(ref).strip().lower()
        if text.isdigit() and len(text) < 6:
            row = conn.execute(sa.select(recordings.c.id)
                               .where(recordings.c.id == _key(text))).first()
            if row:
                return row.id
            raise NotFoundError(f"no recording {text} in the archive")
        if len(text) >= 6 and all(c in "0123456789abcdef" for c in text):
            ids = conn.execute(sa.select(recordings.c.id)
                               .where(recordings.c.sha256.startswith(text))).scalars().all()
            if len(ids) == 1:
                return ids[0]
            if len(ids) > 1:
                raise ArchiveError(f"sha256 prefix {text} matches {len(ids)} recordings: "
                                   "give more digits")
            if (key := _key(text)) is not None:
                row = conn.execute(sa.select(recordings.c.id)
                                   .where(recordings.c.id == key)).first()
                if row:
                    return row.id
        raise NotFoundError(f"no recording {ref!r} in the archive (give an id or a sha256 prefix)")

    def _stored(self, row: Any) -> str:
        """Where a recording's file is: its copy in this archive's store when it is there
        (a restored or moved archive), else where it was filed."""
        if row.storage == "copy":
            own = store.stored_path(self.store, row.sha256, Path(row.stored_path).suffix)
            if str(own) != row.stored_path and own.is_file():
                return str(own)
        return row.stored_path

    def _recording(self, conn: sa.Connection, recording_id: int) -> Recording:
        row = conn.execute(sa.select(recordings, speakers.c.name.label("speaker_name"))
                           .select_from(recordings.outerjoin(speakers))
                           .where(recordings.c.id == recording_id)).one()
        seen = conn.execute(sa.select(sightings).where(sightings.c.recording_id == recording_id)
                            .order_by(sightings.c.id)).all()
        rel_ids = conn.execute(sa.select(release_recordings.c.release_id).where(
            release_recordings.c.recording_id == recording_id)).scalars().all()
        return Recording(
            id=row.id, sha256=row.sha256, name=row.name, size_bytes=row.size_bytes,
            storage=row.storage, stored_path=self._stored(row), container=row.container,
            codec=row.codec, bit_rate=row.bit_rate, sample_rate=row.sample_rate,
            channels=row.channels, duration=row.duration, tags=dict(row.tags or {}),
            role=row.role, speaker=row.speaker_name, notes=row.notes, added_at=row.added_at,
            sightings=[Sighting(id=s.id, original_name=s.original_name, source_url=s.source_url,
                                outlet=s.outlet, channel=s.channel, released=s.released,
                                first_seen=s.first_seen, notes=s.notes, added_at=s.added_at)
                       for s in seen],
            releases=[self._release(conn, i) for i in sorted(rel_ids)],
        )

    # -- fingerprints (the reuse index's storage) ---------------------------------

    def put_fingerprint(self, recording_id: int, *, method: str, n_hashes: int,
                        seconds: float, data: bytes, txn: Transaction | None = None) -> None:
        """Store (or replace) a recording's landmark fingerprint."""
        with self._use(txn) as t:
            t.conn.execute(fingerprints.delete().where(
                fingerprints.c.recording_id == recording_id))
            t.conn.execute(fingerprints.insert().values(
                recording_id=recording_id, method=method, n_hashes=n_hashes,
                seconds=seconds, data=data, created_at=now()))

    def has_fingerprint(self, recording_id: int, method: str, *,
                        txn: Transaction | None = None) -> bool:
        with self._read(txn) as conn:
            return conn.execute(sa.select(fingerprints.c.recording_id).where(
                fingerprints.c.recording_id == recording_id,
                fingerprints.c.method == method)).first() is not None

    def fingerprinted(self, sha256: str, method: str) -> bool:
        """Whether the recording with these bytes is in the archive with its fingerprint."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(fingerprints.c.recording_id)
                                .select_from(fingerprints.join(recordings))
                                .where(recordings.c.sha256 == sha256,
                                       fingerprints.c.method == method)).first() is not None

    def fingerprint_stamps(self, method: str) -> dict[int, str]:
        """Recording id -> when its fingerprint was stored: what a cached index is checked by."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(fingerprints.c.recording_id, fingerprints.c.created_at)
                                .where(fingerprints.c.method == method)).all()
        return {r.recording_id: iso(r.created_at) for r in rows}

    def fingerprints_of(self, recording_ids: list[int],
                        method: str) -> Iterator[tuple[int, bytes]]:
        """Fingerprint bytes of the given recordings only (for an incremental index update)."""
        with self.engine.connect() as conn:
            for start in range(0, len(recording_ids), 500):
                chunk = recording_ids[start:start + 500]
                rows = conn.execute(sa.select(fingerprints.c.recording_id, fingerprints.c.data)
                                    .where(fingerprints.c.method == method,
                                           fingerprints.c.recording_id.in_(chunk)))
                for row in rows:
                    yield row.recording_id, bytes(row.data)

    def fingerprint_stats(self) -> list[dict[str, Any]]:
        """Per method: recordings, hashes, seconds of audio and bytes stored."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(
                fingerprints.c.method,
                sa.func.count().label("recordings"),
                sa.func.coalesce(sa.func.sum(fingerprints.c.n_hashes), 0).label("hashes"),
                sa.func.coalesce(sa.func.sum(fingerprints.c.seconds), 0.0).label("seconds"),
                sa.func.coalesce(sa.func.sum(sa.func.length(fingerprints.c.data)), 0)
                .label("bytes"),
            ).group_by(fingerprints.c.method)).all()
        return [dict(r._mapping) for r in rows]

    def delete_fingerprints(self, *, txn: Transaction | None = None) -> int:
        """Drop every stored fingerprint (before a rebuild); returns how many."""
        with self._use(txn) as t:
            return t.conn.execute(fingerprints.delete()).rowcount

    # -- voice: cached embeddings and calibrations ---------------------------------

    def voice_embedding(self, recording_id: int, encoder: str) -> bytes | None:
        """The cached voice embedding bytes of a recording for an encoder, if any."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(voice_embeddings.c.data).where(
                voice_embeddings.c.recording_id == recording_id,
                voice_embeddings.c.encoder == encoder)).first()
        return bytes(row.data) if row else None

    def put_voice_embedding(self, recording_id: int, encoder: str, data: bytes, *,
                            txn: Transaction | None = None) -> None:
        with self._use(txn) as t:
            t.conn.execute(voice_embeddings.delete().where(
                voice_embeddings.c.recording_id == recording_id,
                voice_embeddings.c.encoder == encoder))
            t.conn.execute(voice_embeddings.insert().values(
                recording_id=recording_id, encoder=encoder, data=data, created_at=now()))

    def put_calibration(self, name: str, encoder: str, data: dict[str, Any], *,
                        replace: bool = False, txn: Transaction | None = None) -> None:
        """Store a fitted calibration under its name (refused if the name is taken)."""
        with self._use(txn) as t:
            exists = t.conn.execute(sa.select(calibrations.c.id)
                                    .where(calibrations.c.name == name)).first()
            if exists and not replace:
                raise ArchiveError(f"a calibration named {name!r} exists: choose another name")
            if exists:
                t.conn.execute(calibrations.delete().where(calibrations.c.name == name))
            t.conn.execute(calibrations.insert().values(name=name, encoder=encoder, data=data,
                                                        created_at=now()))
            audit.append(t.conn, "calibration replaced" if exists else "calibration stored",
                         f"calibration {name}", sha256=_json_digest(data),
                         detail={"encoder": encoder})

    def calibration_data(self, name: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(calibrations.c.data)
                               .where(calibrations.c.name == name)).first()
        if row is None:
            raise NotFoundError(f"no calibration {name!r} in the archive "
                                "(see `purport voice calibrations`)")
        return dict(row.data)

    def calibrations_data(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(calibrations.c.data)
                                .order_by(calibrations.c.name)).all()
        return [dict(r.data) for r in rows]

    # -- grid-frequency logs -----------------------------------------------------

    def add_grid_log(self, *, name: str, region: str, start: dt.datetime, seconds: int,
                     nominal_hz: int, source: str, data: bytes,
                     txn: Transaction | None = None) -> int:
        """Store a 1 Hz grid log of a region; returns its id."""
        region = _clean(region, "region")
        with self._use(txn) as t:
            log_id = t.conn.execute(grid_logs.insert().values(
                name=name, region=region, start=start, seconds=seconds, nominal_hz=nominal_hz,
                source=source, data=data, created_at=now())).inserted_primary_key[0]
            audit.append(t.conn, "grid log imported", f"grid log {log_id}",
                         sha256=hashlib.sha256(data).hexdigest(),
                         detail={"name": name, "region": region, "start": start.isoformat(),
                                 "seconds": seconds, "source": source})
            return log_id

    def grid_logs(self, *, region: str | None = None,
                  with_data: bool = False) -> list[dict[str, Any]]:
        """Grid logs (oldest first), optionally of one region, with their data if asked."""
        cols = [c for c in grid_logs.c if with_data or c.name != "data"]
        query = sa.select(*cols).order_by(grid_logs.c.region, grid_logs.c.start)
        if region is not None:
            query = query.where(grid_logs.c.region == region)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        out = []
        for r in rows:
            d = dict(r._mapping)
            if d["start"].tzinfo is None:
                d["start"] = d["start"].replace(tzinfo=dt.UTC)
            out.append(d)
        return out

    # -- press reports -------------------------------------------------------------

    def add_report(self, *, sha256: str, name: str, facts: dict[str, Any],
                   is_release_report: bool, speaker: str | int | None = None,
                   url: str | None = None, outlet: str | None = None,
                   published: dt.date | None = None, title: str | None = None,
                   txn: Transaction | None = None) -> tuple[int, str]:
        """File a report's facts: (id, "added"). The same text again is not filed twice
        ("already present"), unless it now comes with a publication date it lacked or
        contradicts: then its facts are replaced ("updated") and the caller re-files it."""
        with self._use(txn) as t:
            row = t.conn.execute(sa.select(reports).where(reports.c.sha256 == sha256)).first()
            speaker_id = self._speaker_id(t.conn, speaker) if speaker is not None else None
            values = dict(name=name, url=url or (row.url if row else None),
                          outlet=outlet or (row.outlet if row else None), published=published,
                          title=title, speaker_id=speaker_id,
                          is_release_report=is_release_report, facts=facts)
            if row is not None:
                if published is None or published == row.published:
                    return row.id, "already present"
                t.conn.execute(reports.update().where(reports.c.id == row.id).values(**values))
                audit.append(t.conn, "report updated", f"report {row.id}", sha256=sha256,
                             detail={"name": name, "published": published,
                                     "was_published": row.published})
                return row.id, "updated"
            rid = t.conn.execute(reports.insert().values(
                sha256=sha256, created_at=now(), **values)).inserted_primary_key[0]
            audit.append(t.conn, "report added", f"report {rid}", sha256=sha256,
                         detail={"name": name, "url": url, "outlet": outlet,
                                 "published": published, "release_report": is_release_report})
            return rid, "added"

    def file_report_release(self, report_id: int, *, speaker: str | int, span: Span,
                            medium: str | None, outlet: str | None, channels: list[str],
                            duration_minutes: float | None,
                            txn: Transaction | None = None) -> tuple[int, bool]:
        """Link a report to its release by the one clustering rule (``_place``), creating
        the release if new; a report whose span is open (no publication date) gets a
        release of its own. Returns (release id, created)."""
        with self._use(txn) as t:
            speaker_id = self._speaker_id(t.conn, speaker)
            release_id, created, _ = self._place(
                t.conn, speaker_id, span, medium=medium, outlet=outlet, channels=channels,
                duration_minutes=duration_minutes)
            was = t.conn.execute(sa.select(reports.c.release_id)
                                 .where(reports.c.id == report_id)).scalar()
            t.conn.execute(reports.update().where(reports.c.id == report_id)
                           .values(release_id=release_id))
            if was is not None and was != release_id:
                self._drop_if_empty(t.conn, was)
            audit.append(t.conn, "release filed" if created else "release updated",
                         f"release {release_id}", detail={
                             "report": report_id, "speaker": speaker_id,
                             "span": span.to_dict(), "medium": medium, "outlet": outlet,
                             "channels": list(channels), "duration_minutes": duration_minutes})
            return release_id, created

    def _drop_if_empty(self, conn: sa.Connection, release_id: int) -> None:
        """Remove a release no report or recording stands for any more (a report re-filed
        under its dated release leaves its undated one empty)."""
        held = conn.execute(sa.select(reports.c.id).where(reports.c.release_id == release_id)
                            .union_all(sa.select(release_recordings.c.recording_id).where(
                                release_recordings.c.release_id == release_id))).first()
        if held is None:
            conn.execute(releases.delete().where(releases.c.id == release_id))
            audit.append(conn, "release removed", f"release {release_id}",
                         detail={"why": "no report or recording stands for it any more"})

    def reports(self, *, speaker: str | int | None = None,
                release_id: int | None = None) -> list[dict[str, Any]]:
        """Stored reports with their facts, oldest publication first."""
        with self.engine.connect() as conn:
            query = sa.select(reports).order_by(reports.c.published, reports.c.id)
            if speaker is not None:
                query = query.where(reports.c.speaker_id == self._speaker_id(conn, speaker))
            if release_id is not None:
                query = query.where(reports.c.release_id == release_id)
            return [dict(r._mapping) for r in conn.execute(query).all()]

    # -- releases ---------------------------------------------------------------

    def releases(self, *, speaker: str | int | None = None) -> list[Release]:
        """Releases in date order (those not placed in time last), optionally of one
        speaker."""
        with self.engine.connect() as conn:
            query = sa.select(releases.c.id).order_by(releases.c.id)
            if speaker is not None:
                query = query.where(releases.c.speaker_id == self._speaker_id(conn, speaker))
            found = [self._release(conn, i) for i in conn.execute(query).scalars()]
        # placed ones (a day or a window) by their first day; those a weekday alone names last
        return sorted(found, key=lambda r: (not (r.span and r.span.bounded),
                                            r.span.first if r.span and r.span.bounded
                                            else dt.date.min, r.id))

    def _release(self, conn: sa.Connection, release_id: int) -> Release:
        row = conn.execute(sa.select(releases, speakers.c.name.label("speaker_name"))
                           .select_from(releases.outerjoin(speakers))
                           .where(releases.c.id == release_id)).one()
        rec_ids = conn.execute(sa.select(release_recordings.c.recording_id).where(
            release_recordings.c.release_id == release_id)
            .order_by(release_recordings.c.recording_id)).scalars().all()
        rep_ids = conn.execute(sa.select(reports.c.id).where(reports.c.release_id == release_id)
                               .order_by(reports.c.id)).scalars().all()
        return Release(id=row.id, speaker=row.speaker_name, date=row.date, outlet=row.outlet,
                       channels=list(row.channels or []), title=row.title, notes=row.notes,
                       recording_ids=list(rec_ids), medium=row.medium,
                       duration_minutes=row.duration_minutes, report_ids=list(rep_ids),
                       span=_span(row))

    # -- API tokens ----------------------------------------------------------------

    def create_token(self, name: str, *, scope: str = "read",
                     txn: Transaction | None = None) -> tuple[Token, str]:
        """A new API token: (token, secret). Only a hash of the secret is stored."""
        name = _clean(name, "token name")
        if scope not in SCOPES:
            raise ParameterError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
        secret = "pp_" + secrets.token_urlsafe(32)
        with self._use(txn) as t:
            token_id = t.conn.execute(tokens.insert().values(
                name=name, scope=scope, secret_sha256=_digest(secret),
                created_at=now())).inserted_primary_key[0]
            audit.append(t.conn, "token created", f"token {token_id}",
                         detail={"name": name, "scope": scope})
            return self._token(t.conn, token_id), secret

    def tokens(self) -> list[Token]:
        with self.engine.connect() as conn:
            ids = conn.execute(sa.select(tokens.c.id).order_by(tokens.c.id)).scalars().all()
            return [self._token(conn, i) for i in ids]

    def revoke_token(self, token_id: int, *, txn: Transaction | None = None) -> Token:
        """Revoke a token (kept, marked revoked, so its jobs still say who ran them)."""
        if _key(token_id) is None:
            raise NotFoundError(f"no token {token_id}")
        with self._use(txn) as t:
            if t.conn.execute(sa.select(tokens.c.id).where(tokens.c.id == token_id)).first() \
                    is None:
                raise NotFoundError(f"no token {token_id}")
            done = t.conn.execute(tokens.update().where(tokens.c.id == token_id,
                                                        tokens.c.revoked_at.is_(None))
                                  .values(revoked_at=now())).rowcount
            if done:
                audit.append(t.conn, "token revoked", f"token {token_id}")
            return self._token(t.conn, token_id)

    def token_for_secret(self, secret: str) -> Token | None:
        """The live token with this secret, or None.

        A read; its last use is written at most every ``LAST_USED_EVERY`` so that checking
        a token never waits behind a long write (an upload being filed).
        """
        if not secret:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(tokens.c.id, tokens.c.last_used_at).where(
                tokens.c.secret_sha256 == _digest(secret),
                tokens.c.revoked_at.is_(None))).first()
        if row is None:
            return None
        last = row.last_used_at
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=dt.UTC)
        if last is None or now() - last > LAST_USED_EVERY:
            try:  # bookkeeping, not worth waiting for: skipped while another process writes
                with self.transaction(wait=0.0) as t:
                    t.conn.execute(tokens.update().where(tokens.c.id == row.id)
                                   .values(last_used_at=now()))
            except ArchiveError as exc:
                log.info("token %s: last use not recorded (%s)", row.id, exc)
        with self.engine.connect() as conn:
            return self._token(conn, row.id)

    def _token(self, conn: sa.Connection, token_id: int) -> Token:
        row = conn.execute(sa.select(tokens).where(tokens.c.id == token_id)).one()
        return Token(id=row.id, name=row.name, scope=row.scope, created_at=row.created_at,
                     last_used_at=row.last_used_at, revoked_at=row.revoked_at)

    # -- stored assessments ---------------------------------------------------------

    def add_assessment(self, recording: str | int, data: dict[str, Any], *,
                       claimed_speaker: str | None = None,
                       txn: Transaction | None = None) -> StoredAssessment:
        """Keep an assessment with the recording it assesses."""
        with self._use(txn) as t:
            recording_id = self._recording_id(t.conn, recording)
            data = dict(data, custody=self._custody(t.conn, data, recording_id))
            aid = t.conn.execute(assessments.insert().values(
                recording_id=recording_id, claimed_speaker=claimed_speaker, data=data,
                created_at=now())).inserted_primary_key[0]
            audit.append(t.conn, "assessment filed", f"assessment {aid}",
                         sha256=_json_digest(data),
                         detail={"recording": recording_id, "claimed_speaker": claimed_speaker})
            return self._assessment(t.conn, aid, with_data=True)

    def assessment(self, assessment_id: int) -> StoredAssessment:
        if _key(assessment_id) is None:
            raise NotFoundError(f"no assessment {assessment_id} in the archive")
        with self.engine.connect() as conn:
            if conn.execute(sa.select(assessments.c.id)
                            .where(assessments.c.id == assessment_id)).first() is None:
                raise NotFoundError(f"no assessment {assessment_id} in the archive")
            return self._assessment(conn, assessment_id, with_data=True)

    def assessments(self, *, recording: str | int | None = None) -> list[StoredAssessment]:
        """Assessments, newest first (without their documents), optionally of one recording."""
        with self.engine.connect() as conn:
            query = sa.select(assessments.c.id).order_by(assessments.c.id.desc())
            if recording is not None:
                query = query.where(assessments.c.recording_id
                                    == self._recording_id(conn, recording))
            return [self._assessment(conn, i, with_data=False)
                    for i in conn.execute(query).scalars()]

    def _custody(self, conn: sa.Connection, data: dict[str, Any],
                 recording_id: int) -> list[dict[str, Any]]:
        """The audit entries of every recording an assessment used: the assessed one and
        each one its evidence names by SHA-256 (references, matched sources)."""
        own = conn.execute(sa.select(recordings.c.sha256)
                           .where(recordings.c.id == recording_id)).scalar_one()
        digests = {own} | set(_sha256s(data))
        found = conn.execute(sa.select(audit_log).where(
            audit_log.c.input_sha256.in_(sorted(digests)),
            audit_log.c.subject.like("recording %")).order_by(audit_log.c.id)).all()
        return [{k: v for k, v in audit._entry(r).to_dict().items() if k != "prev_hash"}
                for r in found]

    # -- transcripts ---------------------------------------------------------------

    def add_transcript(self, recording: str | int, data: dict[str, Any], *,
                       txn: Transaction | None = None) -> int:
        """Keep a transcript of a recording (``data``: a
        :class:`purport.speech.asr.Transcript` as a dict), its segments searchable. A
        transcript by the same model, or the same user-given text (``input_sha256``),
        replaces the earlier one. Returns its id."""
        source, kind = data.get("source") or "automatic", data.get("kind") or "transcript"
        input_sha256 = data.get("input_sha256")
        if source not in ("automatic", "user") or kind not in ("transcript", "translation"):
            raise ParameterError(f"a transcript is automatic or user-given, a transcript or "
                                 f"a translation, not {source}/{kind}")
        with self._use(txn) as t:
            rid = self._recording_id(t.conn, recording)
            same = sa.select(transcripts.c.id).where(
                transcripts.c.recording_id == rid, transcripts.c.source == source,
                transcripts.c.kind == kind,
                transcripts.c.model == _fit(data["model"], 300) if source == "automatic"
                else transcripts.c.input_sha256 == input_sha256)
            for old in t.conn.execute(same).scalars().all():
                t.conn.execute(transcript_segments.delete()
                               .where(transcript_segments.c.transcript_id == old))
                t.conn.execute(transcripts.delete().where(transcripts.c.id == old))
            tid = t.conn.execute(transcripts.insert().values(
                recording_id=rid, source=source, kind=kind,
                language=(data.get("language") or None),
                language_probability=data.get("language_probability"),
                model=_fit(data["model"], 300), model_sha256=data.get("model_sha256"),
                input_sha256=input_sha256, data=data, created_at=now(),
            )).inserted_primary_key[0]
            rows = [{"transcript_id": tid, "idx": i, "start": float(seg["start"]),
                     "end": float(seg["end"]), "text": seg["text"],
                     "norm": normalize(seg["text"])}
                    for i, seg in enumerate(data["segments"]) if seg["text"].strip()]
            if rows:
                t.conn.execute(transcript_segments.insert(), rows)
            audit.append(t.conn, "transcript added", f"recording {rid}", sha256=input_sha256,
                         detail={"transcript": tid, "source": source, "kind": kind,
                                 "model": data["model"], "language": data.get("language"),
                                 "segments": len(rows)})
            return tid

    def transcripts(self, recording: str | int) -> list[dict[str, Any]]:
        """A recording's transcripts, newest first: id, source, kind, language, model,
        created_at and the whole ``data``."""
        with self.engine.connect() as conn:
            rid = self._recording_id(conn, recording)
            rows = conn.execute(sa.select(transcripts).where(transcripts.c.recording_id == rid)
                                .order_by(transcripts.c.id.desc())).all()
        return [dict(r._mapping) for r in rows]

    def search_transcripts(self, phrase: str, *, speaker: str | int | None = None,
                           limit: int = 50) -> list[dict[str, Any]]:
        """Segments whose text holds ``phrase`` (every word, in order, after
        :func:`purport.speech.textnorm.normalize`), with their recording, time span and the
        segments either side; SQLite FTS5 or PostgreSQL full text."""
        if not normalize(phrase):
            raise ParameterError("search for words: the phrase holds none")
        seg, tr = transcript_segments, transcripts
        with self.engine.connect() as conn:
            if self.engine.dialect.name == "postgresql":
                match = sa.text("to_tsvector('simple', transcript_segments.norm) @@ "
                                "phraseto_tsquery('simple', :q)").bindparams(q=normalize(phrase))
                query = sa.select(seg.c.id).where(match)
            else:
                hits = sa.text("SELECT rowid FROM transcript_search WHERE transcript_search "
                               "MATCH :q").bindparams(q=fts5_phrase(phrase))
                query = sa.select(seg.c.id).where(seg.c.id.in_(hits.columns(
                    sa.column("rowid", sa.Integer))))
            query = (sa.select(seg, tr.c.recording_id, tr.c.source, tr.c.kind, tr.c.model,
                               tr.c.language, recordings.c.name.label("recording_name"),
                               speakers.c.name.label("speaker"))
                     .select_from(seg.join(tr).join(recordings).outerjoin(speakers))
                     .where(seg.c.id.in_(query))
                     .order_by(tr.c.recording_id, seg.c.start).limit(limit))
            if speaker is not None:
                query = query.where(recordings.c.speaker_id == self._speaker_id(conn, speaker))
            out = []
            for r in conn.execute(query).all():
                near = conn.execute(sa.select(seg.c.idx, seg.c.text).where(
                    seg.c.transcript_id == r.transcript_id,
                    seg.c.idx.between(r.idx - 1, r.idx + 1)).order_by(seg.c.idx)).all()
                out.append({"recording_id": r.recording_id, "recording": r.recording_name,
                            "speaker": r.speaker, "transcript_id": r.transcript_id,
                            "source": r.source, "kind": r.kind, "model": r.model,
                            "language": r.language, "start": r.start, "end": r.end,
                            "text": r.text,
                            "before": next((n.text for n in near if n.idx == r.idx - 1), None),
                            "after": next((n.text for n in near if n.idx == r.idx + 1), None)})
            return out

    # -- the audit log --------------------------------------------------------------

    def audit_count(self, *, subject: str | None = None) -> int:
        with self.engine.connect() as conn:
            return audit.count(conn, subject=subject)

    def audit(self, *, subject: str | None = None, sha256: str | None = None,
              limit: int | None = None) -> list[audit.Entry]:
        """Audit entries, oldest first: every change, who made it, when, the input's digest."""
        with self.engine.connect() as conn:
            return audit.entries(conn, subject=subject, sha256=sha256, limit=limit)

    def _assessment(self, conn: sa.Connection, assessment_id: int, *,
                    with_data: bool) -> StoredAssessment:
        cols = [c for c in assessments.c if with_data or c.name != "data"]
        row = conn.execute(sa.select(*cols).where(assessments.c.id == assessment_id)).one()
        return StoredAssessment(id=row.id, recording_id=row.recording_id,
                                claimed_speaker=row.claimed_speaker, created_at=row.created_at,
                                data=dict(row.data) if with_data else {})

    # -- background jobs -------------------------------------------------------------

    def add_job(self, kind: str, params: dict[str, Any], *, token_id: int | None = None,
                txn: Transaction | None = None) -> Job:
        with self._use(txn) as t:
            job_id = t.conn.execute(jobs.insert().values(
                kind=kind, state="queued", progress=0.0, message="queued", params=params,
                token_id=token_id, created_at=now())).inserted_primary_key[0]
            return self._job(t.conn, job_id)

    def update_job(self, job_id: int, *, state: str | None = None,
                   progress: float | None = None, message: str | None = None,
                   result: dict[str, Any] | None = None, error: str | None = None) -> Job:
        """Move a job on; each update is its own short transaction, so pages see it at once."""
        values: dict[str, Any] = {}
        if state is not None:
            if state not in JOB_STATES:
                raise ParameterError(f"job state must be one of {', '.join(JOB_STATES)}")
            values["state"] = state
            if state == "running":
                values["started_at"] = now()
            if state in ("done", "failed"):
                values["finished_at"] = now()
        if progress is not None:
            values["progress"] = float(min(max(progress, 0.0), 1.0))
        if message is not None:
            values["message"] = message
        if result is not None:
            values["result"] = result
        if error is not None:
            values["error"] = error
        with self.transaction() as t:
            t.conn.execute(jobs.update().where(jobs.c.id == job_id).values(**values))
            return self._job(t.conn, job_id)

    def job(self, job_id: int) -> Job:
        if _key(job_id) is None:
            raise NotFoundError(f"no job {job_id}")
        with self.engine.connect() as conn:
            if conn.execute(sa.select(jobs.c.id).where(jobs.c.id == job_id)).first() is None:
                raise NotFoundError(f"no job {job_id}")
            return self._job(conn, job_id)

    def jobs(self, *, states: Iterable[str] | None = None, limit: int = 50) -> list[Job]:
        """Jobs, newest first."""
        with self.engine.connect() as conn:
            query = sa.select(jobs.c.id).order_by(jobs.c.id.desc()).limit(limit)
            if states is not None:
                query = query.where(jobs.c.state.in_(list(states)))
            return [self._job(conn, i) for i in conn.execute(query).scalars()]

    def _job(self, conn: sa.Connection, job_id: int) -> Job:
        r = conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).one()
        return Job(id=r.id, kind=r.kind, state=r.state, progress=r.progress, message=r.message,
                   params=dict(r.params or {}), result=r.result, error=r.error,
                   created_at=r.created_at, started_at=r.started_at, finished_at=r.finished_at)

    @contextmanager
    def _read(self, txn: Transaction | None) -> Iterator[sa.Connection]:
        if txn is not None:
            yield txn.conn
        else:
            with self.engine.connect() as conn:
                yield conn


#: the largest id a database row can have (a signed 64-bit integer, in SQLite and PostgreSQL)
MAX_ID = 2**63 - 1


def _span(row: Any) -> Span | None:
    """A release row's span (a row filed on a day before spans were kept is that day)."""
    if row.precision:
        return Span(row.date_first, row.date_last, row.precision, row.date_basis or "",
                    row.weekday)
    return Span.day(row.date, row.date_basis or "filed on this day") if row.date else None


def _span_columns(span: Span) -> dict[str, Any]:
    return {"date": span.date, "date_first": span.first, "date_last": span.last,
            "precision": span.precision, "weekday": span.weekday, "date_basis": span.basis}


def _key(ref: object) -> int | None:
    """``ref`` as a row id, or None when it is not one (not digits, or past any row id)."""
    if isinstance(ref, bool):
        return None
    if isinstance(ref, str):
        ref = ref.strip()
        if not (ref.isascii() and ref.isdigit()):
            return None
    try:
        key = int(ref)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    return key if 0 < key <= MAX_ID else None


def _sha256s(data: Any) -> Iterator[str]:
    """Every SHA-256 a document names under a ``sha256`` key, at any depth."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "sha256" and isinstance(value, str) and len(value) == 64:
                yield value.lower()
            else:
                yield from _sha256s(value)
    elif isinstance(data, list):
        for item in data:
            yield from _sha256s(item)


def _json_digest(data: Any) -> str:
    """SHA-256 of a document as canonical JSON (what the audit log cites for it)."""
    body = json.dumps(data, sort_keys=True, ensure_ascii=True, separators=(",", ":"),
                      default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _clean(text: str, what: str, *, limit: int = 200) -> str:
    """A name as the archive keeps it: trimmed, not empty, no control characters (they
    would reach terminals and pages), at most ``limit`` characters."""
    text = (text or "").strip()
    if not text:
        raise ParameterError(f"{what} must not be empty")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in text):
        raise ParameterError(f"{what} must not hold control characters or bytes that are "
                             f"not UTF-8: {text[:60]!r}")
    if len(text) > limit:
        raise ParameterError(f"{what} is {len(text)} characters long; the archive keeps at "
                             f"most {limit}")
    return text


def _fit(text: str, limit: int) -> str:
    """A file's name cut to what its column holds (the SHA-256, not the name, is its id)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
