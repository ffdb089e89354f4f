"""The audit log: who changed the archive, when, what, and the SHA-256 of what they gave it.

Entries are appended inside the transaction that makes the change, so a change and its
entry are filed together or not at all. The table refuses UPDATE and DELETE (database
triggers), and each entry carries the SHA-256 of its content and of the entry before it:
an entry removed or altered behind purport's back (with the triggers dropped) breaks the
chain, and ``verify_chain`` (``purport check``) says where. What it cannot tell: an
archive replaced wholesale by an older copy with a consistent chain, or changes made
while its last entries were cut off the end (compare the head hash with one kept apart).
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from purport.archive.schema import audit_log

#: the hash before the first entry
GENESIS = "0" * 64

_actor: ContextVar[str | None] = ContextVar("purport_audit_actor", default=None)


def local_actor() -> str:
    """Who runs this process: ``local user NAME@HOST`` ($PURPORT_ACTOR overrides)."""
    if env := os.environ.get("PURPORT_ACTOR"):
        return env.strip()[:300]
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid {os.getuid()}"
    return f"local user {user}@{socket.gethostname()}"


def current_actor() -> str:
    return _actor.get() or local_actor()


@contextmanager
def acting_as(actor: str) -> Iterator[None]:
    """Attribute the changes made inside (in this thread or task) to ``actor``."""
    reset = _actor.set(actor[:300])
    try:
        yield
    finally:
        _actor.reset(reset)


@dataclass(frozen=True)
class Entry:
    """One change to the archive."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    subject: str
    input_sha256: str | None
    detail: dict[str, Any]
    prev_hash: str
    entry_hash: str

    def to_dict(self) -> dict[str, Any]:
        at = self.at if self.at.tzinfo else self.at.replace(tzinfo=dt.UTC)
        return {"id": self.id, "at": at.astimezone(dt.UTC).isoformat(), "actor": self.actor,
                "action": self.action, "subject": self.subject,
                "input_sha256": self.input_sha256, "detail": self.detail,
                "prev_hash": self.prev_hash, "entry_hash": self.entry_hash}


def entry_hash(prev_hash: str, *, at: dt.datetime, actor: str, action: str, subject: str,
               input_sha256: str | None, detail: dict[str, Any]) -> str:
    """SHA-256 over the previous hash and this entry's content (canonical JSON)."""
    at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    body = json.dumps({"prev": prev_hash, "at": at.astimezone(dt.UTC).isoformat(),
                       "actor": actor, "action": action, "subject": subject,
                       "input_sha256": input_sha256, "detail": detail},
                      sort_keys=True, ensure_ascii=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def append(conn: sa.Connection, action: str, subject: str, *, sha256: str | None = None,
           detail: dict[str, Any] | None = None) -> int:
    """Append one entry in the caller's write transaction (``Archive.transaction``, which
    lets one writer in at a time on either backend, so the chain stays one line); returns
    its id."""
    prev = conn.execute(sa.select(audit_log.c.entry_hash).order_by(audit_log.c.id.desc())
                        .limit(1)).scalar()
    prev = prev or GENESIS
    # microseconds dropped: every backend stores and returns the same instant
    at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    actor = current_actor()
    detail = json.loads(json.dumps(detail or {}, default=str))
    digest = entry_hash(prev, at=at, actor=actor, action=action, subject=subject,
                        input_sha256=sha256, detail=detail)
    return conn.execute(audit_log.insert().values(
        at=at, actor=actor, action=action, subject=subject, input_sha256=sha256,
        detail=detail, prev_hash=prev, entry_hash=digest)).inserted_primary_key[0]


def count(conn: sa.Connection, *, subject: str | None = None) -> int:
    """How many entries there are, optionally about one subject."""
    query = sa.select(sa.func.count()).select_from(audit_log)
    if subject is not None:
        query = query.where(audit_log.c.subject == subject)
    return conn.execute(query).scalar_one()


def entries(conn: sa.Connection, *, subject: str | None = None, sha256: str | None = None,
            limit: int | None = None) -> list[Entry]:
    """Entries oldest first, optionally about one subject ("recording 3") or input digest."""
    query = sa.select(audit_log).order_by(audit_log.c.id)
    if subject is not None:
        query = query.where(audit_log.c.subject == subject)
    if sha256 is not None:
        query = query.where(audit_log.c.input_sha256 == sha256)
    if limit is not None:
        query = query.order_by(None).order_by(audit_log.c.id.desc()).limit(limit)
    rows = conn.execute(query).all()
    found = [_entry(r) for r in rows]
    return sorted(found, key=lambda e: e.id)


def _entry(r: Any) -> Entry:
    return Entry(id=r.id, at=r.at, actor=r.actor, action=r.action, subject=r.subject,
                 input_sha256=r.input_sha256, detail=dict(r.detail or {}),
                 prev_hash=r.prev_hash, entry_hash=r.entry_hash)


def verify_chain(conn: sa.Connection) -> list[str]:
    """Every break in the hash chain, as one line each (an empty list: the chain holds)."""
    problems: list[str] = []
    prev = GENESIS
    for r in conn.execute(sa.select(audit_log).order_by(audit_log.c.id)):
        e = _entry(r)
        if e.prev_hash != prev:
            problems.append(f"audit entry {e.id} does not follow the entry before it (an entry "
                            "was removed or altered)")
        want = entry_hash(e.prev_hash, at=e.at, actor=e.actor, action=e.action,
                          subject=e.subject, input_sha256=e.input_sha256, detail=e.detail)
        if want != e.entry_hash:
            problems.append(f"audit entry {e.id} ({e.action} {e.subject}) was altered after "
                            "it was written")
        prev = e.entry_hash
    return problems
