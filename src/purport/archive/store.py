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
        return db_file.with_name(db_file.stem + "-files")
    return Path("purport-files").resolve()


def stored_path(store: Path, sha256: str, suffix: str) -> Path:
    """Where the copy of the file with this digest lives: ``ab/abcdef....ext``."""
    return store / sha256[:2] / f"{sha256}{suffix.lower()}"


def put(store: Path, source: Path, sha256: str) -> tuple[Path, bool]:
    """Copy ``source`` into the store atomically; return the path and whether it is new."""
    target = stored_path(store, sha256, source.suffix)
    if target.exists():
        return target, False
    tmp: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
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
