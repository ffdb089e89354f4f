"""What the archive hands back: plain dataclasses with a JSON-ready ``to_dict``."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from purport.news.span import Span


def iso(value: dt.date | dt.datetime | None) -> str | None:
    """ISO 8601 text; naive timestamps are UTC (SQLite keeps no zone)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return value.isoformat()


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (dt.date, dt.datetime)):
        return iso(obj)
    return obj


class _Dict:
    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


@dataclass(frozen=True)
class Provenance(_Dict):
    """Where and when the user met a file: what ``add`` records as a sighting."""

    source_url: str | None = None
    outlet: str | None = None
    channel: str | None = None
    released: dt.date | None = None
    first_seen: dt.datetime | None = None
    notes: str | None = None


@dataclass(frozen=True)
class Speaker(_Dict):
    id: int
    name: str
    aliases: list[str]
    notes: str | None
    created_at: dt.datetime
    n_recordings: int = 0


@dataclass(frozen=True)
class Sighting(_Dict):
    id: int
    original_name: str
    source_url: str | None
    outlet: str | None
    channel: str | None
    released: dt.date | None
    first_seen: dt.datetime | None
    notes: str | None
    added_at: dt.datetime


@dataclass(frozen=True)
class Release(_Dict):
    id: int
    speaker: str | None
    date: dt.date | None
    outlet: str | None
    channels: list[str]
    title: str | None
    notes: str | None
    recording_ids: list[int] = field(default_factory=list)
    medium: str | None = None
    duration_minutes: float | None = None
    report_ids: list[int] = field(default_factory=list)
    #: when, as precisely as the sources allow (:class:`purport.news.span.Span`)
    span: Span | None = None


@dataclass(frozen=True)
class Recording(_Dict):
    id: int
    sha256: str
    name: str
    size_bytes: int
    storage: str
    stored_path: str
    container: str
    codec: str
    bit_rate: int | None
    sample_rate: int
    channels: int
    duration: float
    tags: dict[str, str]
    role: str
    speaker: str | None
    notes: str | None
    added_at: dt.datetime
    sightings: list[Sighting] = field(default_factory=list)
    releases: list[Release] = field(default_factory=list)


@dataclass(frozen=True)
class AddResult(_Dict):
    """One file of an ``add``: the recording, and whether it was new or merged into one."""

    path: str
    status: str  # "added" or "already present"
    recording: Recording
    merged: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Token(_Dict):
    """An API token of ``purport serve`` (the secret itself is shown once, never stored)."""

    id: int
    name: str
    scope: str  # "read" or "write" (write includes read)
    created_at: dt.datetime
    last_used_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None

    def allows(self, scope: str) -> bool:
        return self.revoked_at is None and (self.scope == "write" or scope == "read")


@dataclass(frozen=True)
class Job(_Dict):
    """Background work of the web app: its state, progress (0-1) and outcome."""

    id: int
    kind: str
    state: str  # queued, running, done, failed
    progress: float
    message: str
    params: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None


@dataclass(frozen=True)
class StoredAssessment(_Dict):
    """An assessment kept with the recording it assesses (``data`` is the whole document)."""

    id: int
    recording_id: int
    claimed_speaker: str | None
    created_at: dt.datetime
    data: dict[str, Any] = field(default_factory=dict)
