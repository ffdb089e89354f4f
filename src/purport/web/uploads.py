"""Uploads: a cap on request bodies, files streamed to disk with their sha256, the folder a
server keeps them in (and what a dead server left there), and server paths kept out of
what clients are told."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

from purport.errors import ParameterError

try:
    import fcntl
except ImportError:  # pragma: no cover - no flock (Windows): every folder is stale
    fcntl = None

log = logging.getLogger("purport.web")

CHUNK = 1024 * 1024
_FOLDER = re.compile(r"[0-9a-f]{32}")


class BodyLimit:
    """ASGI middleware: refuse request bodies over ``max_bytes`` with 413, before or while
    they arrive (a declared Content-Length is checked first; a chunked body is counted)."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        seen, over, started = 0, False, False

        async def counted():
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message):
            nonlocal started
            if over:
                return  # whatever the app says about a cut-off body, the answer is 413
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted, guarded)
        if over and not started:
            await self._refuse(send)

    async def _refuse(self, send):
        mib = self.max_bytes / 1024**2
        body = json.dumps({"error": {"status": 413, "message":
                                     f"upload larger than the server's limit of {mib:g} MiB"}})
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body.encode()})


def safe_name(name: str | None, default: str = "upload") -> str:
    """A file name from a client, reduced to its last part and harmless characters."""
    base = Path((name or "").replace("\\", "/")).name
    base = re.sub(r"[^\w.\- ]+", "_", base).strip(" .")
    return base[:200] or default


def save(stream: IO[bytes], folder: Path, name: str | None, *,
         folder_ready: bool = False) -> tuple[Path, str, int]:
    """Copy an upload to ``folder/<random>/<name>`` (``folder/<name>`` if ``folder_ready``)
    in chunks: (path, sha256, bytes)."""
    if folder_ready:
        target = folder / safe_name(name)
    else:
        target = folder / uuid.uuid4().hex / safe_name(name)
        target.parent.mkdir(parents=True)
    digest, size = hashlib.sha256(), 0
    with open(target, "wb") as fh:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            fh.write(chunk)
    if size == 0:
        discard(target)
        raise ParameterError(f"{safe_name(name)}: the upload is empty")
    return target, digest.hexdigest(), size


def discard(path: Path | None) -> None:
    """Remove an upload and the folder made for it."""
    if path is not None:
        shutil.rmtree(path.parent, ignore_errors=True)


class UploadArea:
    """The folder a server keeps uploads in while it works on them: each upload in its own
    ``<root>/<random>/`` folder, on which the server holds an exclusive lock (``flock``)
    until :meth:`discard`. The lock goes with the process, even one that is killed, so a
    later server tells what a dead one left (the upload of a job cut short by a crash) from
    what a live one is still using, and :meth:`sweep` removes the first kind only.
    Background jobs note their upload's folder (:meth:`alive`) for the same reason.
    """

    #: a folder younger than this may be one another server has made and not yet locked
    GRACE = 2.0

    def __init__(self, root: Path):
        self.root = Path(root)
        self._held: dict[str, int] = {}
        self._mutex = threading.Lock()

    def save(self, stream: IO[bytes], name: str | None) -> tuple[Path, str, int]:
        """:func:`save` into a new locked folder: (path, sha256, bytes)."""
        folder = self.root / uuid.uuid4().hex
        folder.mkdir(parents=True)
        if fcntl is not None:
            fd = os.open(folder, os.O_RDONLY)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            with self._mutex:
                self._held[folder.name] = fd
        try:
            return save(stream, folder, name, folder_ready=True)
        except BaseException:
            self.discard(folder / "-")
            raise

    def discard(self, path: Path | None) -> None:
        """Remove an upload, the folder made for it, and its lock."""
        if path is None:
            return
        shutil.rmtree(path.parent, ignore_errors=True)
        with self._mutex:
            fd = self._held.pop(path.parent.name, None)
        if fd is not None:
            os.close(fd)

    def alive(self, folder: str | None) -> bool:
        """Whether a running server (this one or another) holds the upload folder ``folder``
        (a name inside the root)."""
        if fcntl is None or not isinstance(folder, str) or not _FOLDER.fullmatch(folder):
            return False
        with self._mutex:
            if folder in self._held:
                return True
        try:
            fd = os.open(self.root / folder, os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        finally:
            os.close(fd)  # closing lets go of a lock taken just now
        return False

    def sweep(self) -> list[Path]:
        """Remove what no running server holds (and was not made in the last ``GRACE``
        seconds). Returns what went."""
        gone = []
        now = time.time()
        try:
            entries = sorted(self.root.iterdir())
        except FileNotFoundError:
            return gone
        for entry in entries:
            try:
                if now - entry.lstat().st_mtime < self.GRACE or self.alive(entry.name):
                    continue
            except FileNotFoundError:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            gone.append(entry)
        if gone:
            log.info("removed %d upload(s) a stopped server left in %s", len(gone), self.root)
        return gone

    def close(self) -> None:
        """Let go of every upload still held (a server stopping with a job unfinished: the
        next server's sweep removes them)."""
        with self._mutex:
            fds, self._held = list(self._held.values()), {}
        for fd in fds:
            os.close(fd)


def path_scrubber(roots: Iterable[Path | str | None]) -> Callable[[str], str]:
    """A function that takes the server's folders out of a message for a client.

    Every path under one of ``roots`` (as given, and resolved) becomes its last part: an
    upload's path its file name as the client sent it (made safe by :func:`safe_name`), a
    stored copy's path its file name. ``/`` itself is never a root, and a root inside a
    longer path or a URL (``https://host/tmp/x``) is not one.
    """
    forms: set[str] = set()
    for root in roots:
        if root is None or str(root) == "":
            continue
        for p in (Path(root).absolute(), Path(root).resolve()):
            text = str(p).rstrip("/\\")
            if text and Path(text).parent != Path(text):
                forms.add(text)
    if not forms:
        return lambda text: text
    either = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
    pattern = re.compile(r"(?<![\w.\-~])(?:" + either + r")(?![\w.\-])(?:[/\\][^\s'\"]*)?")

    def scrub(text: str) -> str:
        return pattern.sub(lambda m: re.split(r"[/\\]", m.group(0).rstrip("/\\"))[-1],
                           text)

    return scrub
