"""The reuse question's answer as ``purport match`` prints it, from a query fingerprint.

Pure: a fingerprint, an :class:`~purport.reuse.index.Index` and plain facts about the
indexed recordings in, a :class:`ReuseReport` out. Loading the index from the archive and
naming its recordings is the service layer's work (:mod:`purport.assess.reuse`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from purport.errors import ParameterError
from purport.media import MediaInfo
from purport.reuse.index import Index, from_bytes, source_of, to_bytes
from purport.reuse.landmarks import METHOD, Fingerprint
from purport.reuse.match import LIMITS_TEXT, MAX_FALSE_MATCH, METHOD_TEXT, match, match_self


@dataclass(frozen=True)
class ReuseReport:
    """What ``purport match`` prints: the query, its matches, and how they were found."""

    query: dict[str, Any]
    matches: list[dict[str, Any]]
    summary: str
    method: str = METHOD_TEXT
    limits: str = LIMITS_TEXT
    reference: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReuseReport:
        """The report again from its ``to_dict()`` (a stored Assessment's part)."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def query_of(info: MediaInfo) -> dict[str, Any]:
    """The ``query`` part of a report for a decoded file (``recording_id`` still unknown)."""
    return {"name": info.name, "sha256": info.sha256, "duration": round(info.duration, 3),
            "codec": info.codec, "sample_rate": info.sample_rate, "recording_id": None}


def fingerprint_bytes(fp: Fingerprint, info: MediaInfo) -> bytes:
    """A query fingerprint as bytes (what ``purport fingerprint`` writes), with the file's
    name, SHA-256 and duration: it can be matched without the audio."""
    return to_bytes(fp, query=True, source={"name": info.name, "sha256": info.sha256,
                                            "duration": round(info.duration, 3)})


def read_fingerprint(data: bytes, *, name: str = "fingerprint") -> tuple[Fingerprint, dict]:
    """A query fingerprint from ``fingerprint_bytes``, and the query it describes."""
    fp = from_bytes(data, name=name)  # its refusal names the file and says why
    if fp.method != METHOD:
        raise ParameterError(f"{name} was made with landmark method {fp.method}, not "
                             f"{METHOD}: fingerprint the audio again with this purport")
    if fp.triplet_peaks is None:
        raise ParameterError(f"{name} is a stored fingerprint, not a query one: write it "
                             "with `purport fingerprint FILE`")
    source = source_of(data)
    sha256 = source.get("sha256")
    if not (isinstance(sha256, str) and len(sha256) == 64
            and all(c in "0123456789abcdef" for c in sha256)):
        sha256 = None
    query = {"name": str(source.get("name") or name), "sha256": sha256,
             "duration": round(fp.duration, 3), "codec": None, "sample_rate": None,
             "recording_id": None, "fingerprint_only": True}
    return fp, query


def self_report(fp: Fingerprint, query: dict[str, Any], *,
                max_false_match: float = MAX_FALSE_MATCH) -> ReuseReport:
    """Spans of the query repeated inside itself (copy-paste edits)."""
    found = match_self(fp, max_false_match=max_false_match)
    matches = [dict(m.to_dict(), recording_id=query["recording_id"], sha256=query.get("sha256"),
                    name=query["name"]) for m in found]
    summary = (f"{len(matches)} span(s) repeat earlier spans of the same recording"
               if matches else "no span repeats inside this recording")
    return ReuseReport(query=dict(query), matches=matches, summary=summary,
                       reference={"searched": "the query itself"})


def index_report(index: Index, fp: Fingerprint, query: dict[str, Any], *,
                 sources: Mapping[int, Mapping[str, Any]],
                 max_false_match: float = MAX_FALSE_MATCH,
                 unsearched: Sequence[int] = ()) -> ReuseReport:
    """Spans of the query that re-use recordings of ``index``.

    ``unsearched`` lists archive recordings without a fingerprint of the current landmark
    method (filed before an upgrade changed it): the report says they were not searched.

    ``sources`` names every indexed recording: ``{recording_id: {"sha256", "name",
    "speaker", "role"}}``. The caller leaves the query's own recording out of ``index``
    (the file itself is no evidence of re-use) and says so in ``query["recording_id"]``.
    """
    found = match(index, fp, max_false_match=max_false_match)
    matches = []
    for m in found:
        rec = sources[m.recording_id]
        matches.append(dict(m.to_dict(), sha256=rec["sha256"], name=rec["name"],
                            speaker=rec["speaker"], role=rec["role"]))
    own = query.get("recording_id")
    reference = {"recordings": len(index.recording_ids), "hours": round(index.seconds / 3600, 3),
                 "excluded": [own] if own else [], "not_searched": list(unsearched)}
    if matches:
        covered = sum(m["query_end"] - m["query_start"] for m in matches)
        n_sources = len({m["recording_id"] for m in matches})
        summary = (f"{len(matches)} span(s) covering {covered:.1f} s of {query['duration']:.1f} s "
                   f"re-use {n_sources} archive recording(s)")
    else:
        summary = (f"nothing in the archive ({reference['recordings']} recordings, "
                   f"{reference['hours']} h) matches at false-match probability "
                   f"<= {max_false_match:g}")
    if unsearched:
        summary += (f"; {len(unsearched)} archive recording(s) not searched: their fingerprints "
                    "are of an older landmark method (run `purport index rebuild`)")
    return ReuseReport(query=dict(query), matches=matches, summary=summary, reference=reference)
