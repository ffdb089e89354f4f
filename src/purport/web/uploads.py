"""Uploads: a cap on request bodies, and files streamed to disk with their sha256."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import uuid
from pathlib import Path
from typing import IO

from purport.errors import ParameterError

CHUNK = 1024 * 1024


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


def save(stream: IO[bytes], folder: Path, name: str | None) -> tuple[Path, str, int]:
    """Copy an upload to ``folder/<random>/<name>`` in chunks: (path, sha256, bytes)."""
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
