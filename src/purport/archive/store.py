"""Content-addressed copies of the recordings, so evidence outlives the user's download folder."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from purport.errors import ArchiveError

#: prefix of a copy still being written (``purport check`` removes any left by a crash)
INCOMING = ".incoming-"


def default_store(db_file: Path | None) -> Path:
    """``$PURPORT_STORE``, else ``<name>-files`` beside an SQLite file, else ``./purport-files``."""
    if env := os.environ.get("PURPORT_STORE"):
        return Path(env).expanduser().resolve()
    if db_file is not None:
        return default_store_beside(db_file)
    return Path("purport-files").resolve()


def default_store_beside(db_file: Path) -> Path:
    """``<name>-files`` beside an SQLite file, whatever $PURPORT_STORE says."""
    return db_file.with_name(db_file.stem + "-files")


def stored_path(store: Path, sha256: str, suffix: str) -> Path:
    """Where the copy of the file with this digest lives: ``ab/abcdef....ext``."""
    return store / sha256[:2] / f"{sha256}{suffix.lower()}"


#: the file in a store naming the archive it belongs to (its ``archive_id``)
MARK = ".purport-archive"


def mark(store: Path, archive_id: str) -> None:
    """Say which archive a store belongs to (once; an existing mark is kept)."""
    path = store / MARK
    if not path.exists():
        store.mkdir(parents=True, exist_ok=True)
        path.write_text(archive_id + "\n", encoding="utf-8")


def owner(store: Path) -> str | None:
    """The archive_id a store is marked with, or None."""
    try:
        return (store / MARK).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def put(store: Path, source: Path, sha256: str, *, archive_id: str | None = None
        ) -> tuple[Path, bool]:
    """Copy ``source`` into the store atomically; return the path and whether it is new."""
    target = stored_path(store, sha256, source.suffix)
    if target.exists():
        return target, False
    tmp: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if archive_id is not None:
            mark(store, archive_id)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=INCOMING)
        os.close(fd)
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except BaseException as exc:  # a full disk or Ctrl-C must not leave a partial copy
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise ArchiveError(f"cannot copy {source.name} into the store {store}: "
                               f"{exc.strerror or exc}") from exc
        raise
    return target, True


def discard(paths: list[Path]) -> None:
    """Delete files (best effort): copies of a rolled-back add, or of removed recordings."""
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass
