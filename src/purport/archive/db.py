"""Where the archive lives: URL resolution, engines, and in-place schema migration."""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import time
import urllib.parse
from contextlib import closing
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from purport.errors import ArchiveBusyError, ArchiveError, NotFoundError, ParameterError

log = logging.getLogger("purport.archive")

DEFAULT_DB = "purport.db"
#: seconds a writer waits for another process's write to finish ($PURPORT_BUSY_TIMEOUT)
DEFAULT_BUSY_TIMEOUT = 30.0
#: seconds before a waiting writer says that it waits
WAIT_NOTICE_AFTER = 1.0
VERSION_TABLE = "purport_schema_version"
MIGRATIONS = Path(__file__).parent / "migrations"


def resolve_url(db: str | os.PathLike | None = None) -> str:
    """The SQLAlchemy URL for ``db``: a file path or sqlite/postgresql URL; default $PURPORT_DB."""
    raw = str(db) if db is not None else os.environ.get("PURPORT_DB") or DEFAULT_DB
    if raw.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + raw.split("://", 1)[1]
    if raw.startswith("postgresql+"):
        return raw
    if raw.startswith("sqlite:"):
        return raw
    if "://" in raw:
        raise ParameterError(f"unsupported database URL {redact(raw)!r}: use a file path, "
                             "sqlite:///path or postgresql://user@host/db")
    return "sqlite:///" + str(Path(raw).expanduser().resolve())


def redact(url: str) -> str:
    """The URL with any password replaced by ***, for messages and reports."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: nothing to hide
        return url


def sqlite_path(url: str) -> Path | None:
    """The database file of an SQLite URL, or None (PostgreSQL, in-memory)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def busy_timeout() -> float:
    """Seconds a writer waits for the write lock: $PURPORT_BUSY_TIMEOUT, default 30."""
    raw = os.environ.get("PURPORT_BUSY_TIMEOUT")
    if raw is None or not raw.strip():
        return DEFAULT_BUSY_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 86400:
        raise ParameterError(f"$PURPORT_BUSY_TIMEOUT wants seconds (0 to 86400), not {raw!r}")
    return value


def read_only_reason(path: Path) -> str | None:
    """Why an existing archive file cannot be written (read-only filesystem, file or
    folder not writable, immutable), or None when it can."""
    try:
        if os.statvfs(path).f_flag & os.ST_RDONLY:
            return "on a read-only filesystem"
    except OSError:
        return None
    if not os.access(path, os.W_OK):
        return "the file is not writable"
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return "its folder is not writable"
    return None


def sqlite_uri(path: Path, **params: str) -> str:
    """An SQLite ``file:`` URI for ``path`` (quoted: a ``#`` or ``?`` in a folder name must not
    cut the path short) with query parameters such as ``mode="ro"``."""
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"file:{urllib.parse.quote(str(path))}" + (f"?{query}" if query else "")


def read_only_uri(path: Path) -> str:
    """How to open an archive that cannot be written, so that it reads what it holds.

    ``mode=ro`` reads a WAL database when SQLite can use (or make) its shared-memory file;
    when it cannot (a read-only folder or filesystem), ``immutable=1`` reads the main file
    alone, which is right only when no committed change waits in the ``-wal`` file: then
    the archive is refused rather than read stale.
    """
    plain = sqlite_uri(path, mode="ro")
    try:
        with closing(sqlite3.connect(plain, uri=True)) as probe:
            probe.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return plain
    except sqlite3.DatabaseError as exc:
        text = str(exc).lower()
        if "not a database" in text or "malformed" in text:
            return plain  # check_sqlite_file says what is wrong with it
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise ArchiveError(f"the archive {path} is read-only and holds changes not yet merged "
                           f"into it (its {wal.name} file), which SQLite cannot read without "
                           "writing: copy its folder somewhere writable and open the copy")
    return sqlite_uri(path, mode="ro", immutable="1")


def reading_uri(path: Path) -> str:
    """The URI to read an existing archive file by, without ever writing to it."""
    return read_only_uri(path) if read_only_reason(path) else sqlite_uri(path, mode="ro")


def create_engine(url: str) -> sa.Engine:
    """An engine with foreign keys on and, for SQLite, WAL mode and real transactions.

    An SQLite file that cannot be written is opened read-only (immutable on a read-only
    filesystem, where SQLite cannot keep its shared-memory file): reads work and every
    write is refused with the reason. Writers that find the archive locked by another
    process wait up to ``busy_timeout()`` seconds, saying so after a second.
    """
    backend = sa.engine.make_url(url).get_backend_name()
    if backend == "postgresql":
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            raise ArchiveError("PostgreSQL needs psycopg: pip install 'purport[postgres]'") from exc
        engine = sa.create_engine(url, pool_pre_ping=True)
        wait = busy_timeout()

        @sa.event.listens_for(engine, "begin")
        def _pg_begin(connection):
            options = connection.get_execution_options()
            if not options.get("purport_write", False):
                return
            # one writer at a time, as SQLite does: the audit log is one chain, and a
            # writer that waits, waits a bounded time (0 would mean for ever to PostgreSQL)
            ms = max(int(options.get("purport_wait", wait) * 1000), 1)
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{ms}ms'")
            connection.exec_driver_sql("LOCK TABLE audit_log IN EXCLUSIVE MODE")

        _translate_errors(engine, url)
        return engine
    path = sqlite_path(url)
    read_only = read_only_reason(path) if path is not None and path.exists() else None
    wait = busy_timeout()
    if read_only:
        target = read_only_uri(path)
        engine = sa.create_engine("sqlite://", creator=lambda: sqlite3.connect(
            target, uri=True, check_same_thread=False))
    else:
        engine = sa.create_engine(url)
    engine.info_read_only = read_only  # type: ignore[attr-defined]

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # let BEGIN below own the transaction
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {int(WAIT_NOTICE_AFTER * 1000)}")
        if path is not None and not read_only:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):
        # writers take the lock up front; readers never wait for a long write (WAL)
        options = connection.get_execution_options()
        write = options.get("purport_write", False)
        if not write:
            connection.exec_driver_sql("BEGIN")
            return
        if read_only:
            raise ArchiveError(f"the archive {path} is read-only ({read_only}): it can be "
                               "read, not changed")
        _begin_write(connection, options.get("purport_wait", wait))

    _translate_errors(engine, url)
    return engine


def _begin_write(connection: sa.Connection, wait: float) -> None:
    """BEGIN IMMEDIATE, waiting for another writer up to ``wait`` seconds and saying so."""
    raw = connection.connection.dbapi_connection
    first = min(wait, WAIT_NOTICE_AFTER)
    try:
        raw.execute(f"PRAGMA busy_timeout = {int(first * 1000)}")
        try:
            raw.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if not _locked(exc):
                raise translate(exc, "the archive") or exc from None
            if wait <= first:
                raise ArchiveBusyError("the archive is busy: another process is writing to "
                                       "it; nothing was changed") from None
        started = time.monotonic()
        log.warning("the archive is busy: another purport process is writing; waiting up "
                    "to %g s (set $PURPORT_BUSY_TIMEOUT to change)", wait)
        raw.execute(f"PRAGMA busy_timeout = {int((wait - first) * 1000)}")
        try:
            raw.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if not _locked(exc):
                raise translate(exc, "the archive") or exc from None
            raise ArchiveBusyError(
                f"the archive is busy: another process has been writing to it for "
                f"{time.monotonic() - started + first:.0f} s; nothing was changed, try again "
                "when it is done (or set $PURPORT_BUSY_TIMEOUT to wait longer)") from None
    finally:
        raw.execute(f"PRAGMA busy_timeout = {int(WAIT_NOTICE_AFTER * 1000)}")


def _locked(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "database is locked" in text or "database table is locked" in text


def _translate_errors(engine: sa.Engine, url: str) -> None:
    """Database faults a user can meet become one-line ArchiveErrors (no SQL, no traceback)."""

    @sa.event.listens_for(engine, "handle_error")
    def _handle(ctx):
        error = translate(ctx.original_exception, url)
        if error is not None:
            raise error from ctx.original_exception


def translate(exc: BaseException, url: str) -> ArchiveError | None:
    """The ArchiveError a database fault means to a user, or None for a programming error."""
    if isinstance(exc, ArchiveError):
        return exc
    text = str(exc).lower()
    where = redact(url)
    if (_locked(exc) or "lock timeout" in text or "lock_timeout" in text
            or "deadlock detected" in text):
        return ArchiveBusyError("the archive is busy: another process is writing to it; "
                                "nothing was changed, try again when it is done")
    if "readonly database" in text or "read-only" in text or "read only" in text:
        return ArchiveError(f"the archive {where} is read-only: it can be read, not changed")
    if "value too long" in text:
        return ArchiveError(f"a value is longer than the archive keeps ({_first_line(exc)}): "
                            "shorten it")
    if "disk is full" in text or "no space left" in text:
        return ArchiveError(f"the disk holding the archive {where} is full: nothing was "
                            "changed; free some space and try again")
    if "malformed" in text or "file is not a database" in text or "disk i/o error" in text:
        return ArchiveError(f"the archive {where} is damaged ({_first_line(exc)}): run "
                            "`purport check`, and restore it from a backup (`purport backup`)")
    if isinstance(exc, sqlite3.OperationalError) and "unable to open" in text:
        return ArchiveError(f"cannot open the archive {where}: {_first_line(exc)}")
    return None


def _alembic_config(connection: sa.Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_version() -> str:
    """The schema version this purport writes."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()


def current_version(engine: sa.Engine) -> str | None:
    """The schema version the database says it has, or None for an empty database."""
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            return ctx.get_current_revision()
    except sa.exc.DatabaseError as exc:
        raise ArchiveError(f"cannot read the archive: {_first_line(exc)}") from exc


def check_sqlite_file(path: Path) -> None:
    """Refuse a path that exists but is not an SQLite database (before SQLAlchemy touches it)."""
    if path.is_dir():
        raise ArchiveError(f"{path} is a directory, not an archive file")
    target = reading_uri(path)
    try:
        with closing(sqlite3.connect(target, uri=True)) as probe:
            probe.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        text = str(exc).lower()
        if "not a database" in text:
            raise ArchiveError(f"{path} is not a purport archive (not an SQLite database)") \
                from exc
        if "malformed" in text:
            raise ArchiveError(f"the archive {path} is damaged ({exc}): restore it from a "
                               "backup (`purport backup`)") from exc
        raise ArchiveError(f"cannot open the archive {path}: {exc}") from exc


def migrate(engine: sa.Engine, url: str, *, create: bool) -> str:
    """Bring the schema to the newest version in place; back up an SQLite file first."""
    path = sqlite_path(url)
    if path is not None:
        if not path.exists():
            if not create:
                raise NotFoundError(f"no archive at {path}: run `purport init` first "
                                    "(or pass --db / set $PURPORT_DB)")
            path.parent.mkdir(parents=True, exist_ok=True)
        else:
            check_sqlite_file(path)
    have, head = current_version(engine), head_version()
    if have == head:
        return head
    if getattr(engine, "info_read_only", None):
        raise ArchiveError(f"the archive {path} has schema {have} and this purport writes "
                           f"{head}, but it is read-only ({engine.info_read_only}): open it "
                           "with the purport that wrote it, or copy it somewhere writable")
    if have is not None:
        script = ScriptDirectory(str(MIGRATIONS))
        known = {rev.revision for rev in script.walk_revisions()}
        if have not in known:
            raise ArchiveError(f"the archive's schema version {have} is newer than this purport "
                               f"knows ({head}): upgrade purport")
        if path is not None:
            backup = path.with_name(f"{path.name}.bak-{have}")
            shutil.copy2(path, backup)
    elif not create:
        with engine.connect() as conn:
            if sa.inspect(conn).get_table_names():
                raise ArchiveError(f"{redact(url)} holds tables but no purport schema version: "
                                   "not a purport archive")
    try:
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "head")
    except sa.exc.SQLAlchemyError as exc:
        raise ArchiveError(f"schema migration failed: {_first_line(exc)}") from exc
    return head


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
