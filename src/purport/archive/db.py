"""Where the archive lives: URL resolution, engines, and in-place schema migration."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from purport.errors import ArchiveError, NotFoundError, ParameterError

DEFAULT_DB = "purport.db"
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


def create_engine(url: str) -> sa.Engine:
    """An engine with foreign keys on and, for SQLite, WAL mode and real transactions."""
    backend = sa.engine.make_url(url).get_backend_name()
    if backend == "postgresql":
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            raise ArchiveError("PostgreSQL needs psycopg: pip install 'purport[postgres]'") from exc
        return sa.create_engine(url, pool_pre_ping=True)
    engine = sa.create_engine(url)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # let BEGIN below own the transaction
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        if sqlite_path(url) is not None:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):
        # writers take the lock up front; readers never wait for a long write (WAL)
        write = connection.get_execution_options().get("purport_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


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
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as probe:
            probe.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise ArchiveError(f"{path} is not a purport archive (not an SQLite database)") from exc


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
