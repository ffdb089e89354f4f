"""Reuse against the archive: load the index, match a file, rebuild, and measure the index.

The pure core (landmarks, index, match) knows nothing of storage; this module reads and
writes fingerprints only through :class:`purport.archive.Archive`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from purport import media
from purport.archive import Archive
from purport.errors import ArchiveError, ParameterError, PurportError
from purport.reuse.index import Index, from_bytes, source_of, to_bytes
from purport.reuse.landmarks import METHOD, SR, Fingerprint, fingerprint
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


def cache_folder(archive: Archive) -> Path:
    """Where the memory-mappable copy of the index lives: beside the stored files."""
    return archive.store / "index" / METHOD


def load_index(archive: Archive, *, use_cache: bool = True) -> Index:
    """Every stored fingerprint of the current method in one sorted in-memory index.

    The archive is the truth; a cached copy (``.npy`` columns, memory-mapped) is used when
    its stamp of (recording, fingerprint time) pairs matches the archive, brought up to date
    incrementally when recordings were added or removed since, and rewritten then.
    """
    stamps = {str(k): v for k, v in archive.fingerprint_stamps(METHOD).items()}
    folder = cache_folder(archive)
    index, cached = Index(), {}
    if use_cache and (folder / "meta.json").is_file():
        try:
            index, cached = Index.load(folder)
        except (OSError, ValueError, KeyError):
            index, cached = Index(), {}
    if cached == stamps:
        return index
    stale = [int(k) for k, v in cached.items() if stamps.get(k) != v]
    for recording_id in stale:
        index.remove(recording_id)
    missing = sorted(int(k) for k, v in stamps.items() if cached.get(k) != v)
    batch = []
    for recording_id, data in archive.fingerprints_of(missing, METHOD):
        batch.append((recording_id, from_bytes(data)))
        if len(batch) >= 256:
            index.add_many(batch)
            batch = []
    index.add_many(batch)
    if use_cache:
        try:
            index.save(folder, stamp=stamps)
        except OSError:
            pass  # a read-only store still answers, just more slowly next time
    return index


def match_file(archive: Archive, path: str | Path, *, self_match: bool = False,
               max_false_match: float = MAX_FALSE_MATCH) -> ReuseReport:
    """Which spans of the file come from archive recordings (or, ``self_match``, from itself)."""
    signal = media.load(path, sr=SR)
    info = signal.info
    query = {"name": info.name, "sha256": info.sha256, "duration": round(info.duration, 3),
             "codec": info.codec, "sample_rate": info.sample_rate, "recording_id": None}
    return match_fingerprint(archive, fingerprint(signal.y, sr=signal.sr), query,
                             self_match=self_match, max_false_match=max_false_match)


def fingerprint_file(path: str | Path) -> bytes:
    """A file's query fingerprint as bytes (what ``purport fingerprint`` writes): it can be
    matched by ``purport match --fingerprint`` or the web API without sending the audio."""
    signal = media.load(path, sr=SR)
    info = signal.info
    return to_bytes(fingerprint(signal.y, sr=signal.sr), query=True,
                    source={"name": info.name, "sha256": info.sha256,
                            "duration": round(info.duration, 3)})


def read_fingerprint(data: bytes, *, name: str = "fingerprint") -> tuple[Fingerprint, dict]:
    """A query fingerprint from ``fingerprint_file`` bytes, and the query it describes."""
    try:
        fp = from_bytes(data)
    except PurportError as exc:
        raise ParameterError(f"{name} is not a purport fingerprint (write one with "
                             "`purport fingerprint FILE`)") from exc
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


def match_fingerprint(archive: Archive, query_fp: Fingerprint, query: dict[str, Any], *,
                      self_match: bool = False,
                      max_false_match: float = MAX_FALSE_MATCH) -> ReuseReport:
    """The matches of one query fingerprint; ``query`` describes it (name, sha256, ...)."""
    query = dict(query)
    known = ([r for r in archive.recordings() if r.sha256 == query["sha256"]]
             if query.get("sha256") else [])
    if known:
        query["recording_id"] = known[0].id
    name, sha256, duration = query["name"], query.get("sha256"), query["duration"]
    if self_match:
        found = match_self(query_fp, max_false_match=max_false_match)
        matches = [dict(m.to_dict(), recording_id=query["recording_id"], sha256=sha256,
                        name=name) for m in found]
        summary = (f"{len(matches)} span(s) repeat earlier spans of the same recording"
                   if matches else "no span repeats inside this recording")
        return ReuseReport(query=query, matches=matches, summary=summary,
                           reference={"searched": "the query itself"})
    index = load_index(archive)
    if query["recording_id"] is not None:
        index.remove(query["recording_id"])  # the file itself is no evidence of re-use
    found = match(index, query_fp, max_false_match=max_false_match)
    by_id = {r.id: r for r in archive.recordings()} if found else {}
    matches = []
    for m in found:
        rec = by_id[m.recording_id]
        matches.append(dict(m.to_dict(), sha256=rec.sha256, name=rec.name,
                            speaker=rec.speaker, role=rec.role))
    reference = {"recordings": len(index.recording_ids), "hours": round(index.seconds / 3600, 3),
                 "excluded": [query["recording_id"]] if query["recording_id"] else []}
    if matches:
        covered = sum(m["query_end"] - m["query_start"] for m in matches)
        sources = len({m["recording_id"] for m in matches})
        summary = (f"{len(matches)} span(s) covering {covered:.1f} s of {duration:.1f} s "
                   f"re-use {sources} archive recording(s)")
    else:
        summary = (f"nothing in the archive ({reference['recordings']} recordings, "
                   f"{reference['hours']} h) matches at false-match probability "
                   f"<= {max_false_match:g}")
    return ReuseReport(query=query, matches=matches, summary=summary, reference=reference)


def rebuild(archive: Archive, *,
            progress: Callable[[int, int, str], None] | None = None) -> dict[str, Any]:
    """Re-fingerprint every recording from its stored file, in one transaction."""
    recordings = archive.recordings()
    started = time.process_time()
    seconds = 0.0
    with archive.transaction() as txn:
        archive.delete_fingerprints(txn=txn)
        for i, rec in enumerate(recordings, 1):
            if not Path(rec.stored_path).is_file():
                raise ArchiveError(f"recording {rec.id} ({rec.name}): its file "
                                   f"{rec.stored_path} is gone; nothing was rebuilt")
            try:
                signal = media.load(rec.stored_path, sr=SR)
            except PurportError as exc:
                raise ArchiveError(f"recording {rec.id} ({rec.name}): {exc}; "
                                   "nothing was rebuilt") from exc
            fp = fingerprint(signal.y, sr=signal.sr)
            archive.put_fingerprint(rec.id, method=fp.method, n_hashes=len(fp),
                                    seconds=fp.duration, data=to_bytes(fp), txn=txn)
            seconds += fp.duration
            if progress is not None:
                progress(i, len(recordings), rec.name)
    cpu = time.process_time() - started
    return {"recordings": len(recordings), "seconds": round(seconds, 1),
            "cpu_seconds": round(cpu, 2),
            "x_real_time": round(seconds / cpu, 1) if cpu > 0 else None}


def stats(archive: Archive) -> dict[str, Any]:
    """Size of the index on disk and in memory, per hour of audio, and its load time."""
    stored = {s["method"]: s for s in archive.fingerprint_stats()}
    current = stored.get(METHOD, {"recordings": 0, "hashes": 0, "seconds": 0.0, "bytes": 0})
    started = time.perf_counter()
    index = load_index(archive, use_cache=False)
    load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    load_index(archive)
    cached_seconds = time.perf_counter() - started
    hours = float(current["seconds"]) / 3600
    n_recordings = len(archive.recordings())
    return {
        "method": METHOD,
        "recordings": int(current["recordings"]),
        "recordings_without_fingerprint": n_recordings - int(current["recordings"]),
        "hours": round(hours, 4),
        "hashes": int(current["hashes"]),
        "disk_bytes": int(current["bytes"]),
        "memory_bytes": index.nbytes,
        "disk_mb_per_hour": round(current["bytes"] / 1e6 / hours, 3) if hours else None,
        "memory_mb_per_hour": round(index.nbytes / 1e6 / hours, 3) if hours else None,
        "hashes_per_second": round(current["hashes"] / (hours * 3600), 1) if hours else None,
        "load_seconds_from_archive": round(load_seconds, 3),
        "load_seconds_from_cache": round(cached_seconds, 3),
        "cache": str(cache_folder(archive)),
        "other_methods": {k: v for k, v in stored.items() if k != METHOD},
    }
