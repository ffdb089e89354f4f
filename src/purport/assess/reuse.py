"""Reuse against the archive: load the index, match a file or a fingerprint, rebuild, measure.

The pure core (:mod:`purport.reuse`: landmarks, index, match, report) knows nothing of
storage; this module reads and writes fingerprints only through
:class:`purport.archive.Archive`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from purport import media
from purport.archive import Archive, Recording
from purport.errors import ArchiveError, PurportError
from purport.reuse.index import FingerprintFileError, Index, from_bytes, to_bytes
from purport.reuse.landmarks import METHOD, Fingerprint, fingerprint
from purport.reuse.landmarks import SR as LANDMARK_SR
from purport.reuse.match import MAX_FALSE_MATCH
from purport.reuse.report import (
    ReuseReport,
    fingerprint_bytes,
    index_report,
    query_of,
    self_report,
)
from purport.reuse.report import read_fingerprint as _read_fingerprint

__all__ = [
    "ReuseReport",
    "cache_folder",
    "fingerprint_file",
    "fingerprint_signal",
    "load_index",
    "match_file",
    "match_fingerprint",
    "query_of",
    "read_fingerprint",
    "rebuild",
    "stats",
]


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
        try:  # the archive's own: no cap on the duration, every other check kept
            fp = from_bytes(data, name=f"the stored fingerprint of recording {recording_id}",
                            max_seconds=None)
        except FingerprintFileError as exc:
            raise ArchiveError(f"{exc}: run `purport index rebuild`") from exc
        batch.append((recording_id, fp))
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


def read_fingerprint(data: bytes, *, name: str = "fingerprint") -> tuple[Fingerprint, dict]:
    """A query fingerprint file's fingerprint and the query it describes (see
    :func:`purport.reuse.report.read_fingerprint`).

    A damaged file, one larger than any real fingerprint (a zip bomb) or one with wrong
    arrays inside is refused in one line that names it and says why.
    """
    return _read_fingerprint(data, name=name)


def fingerprint_signal(signal: media.Signal) -> Fingerprint:
    """The landmarks of decoded audio at any rate.

    The audio is brought to the landmarks' rate by FFmpeg's resampler, the one that
    decodes archive recordings straight to that rate as they are added: a query decoded
    once at :data:`purport.media.SR` then gets the same landmarks as if decoded at 8 kHz
    (resampling with another filter shifts a few peaks and lowers scores).
    """
    y = signal.y
    if signal.sr != LANDMARK_SR:
        y = media.resample(y, orig_sr=signal.sr, target_sr=LANDMARK_SR)
    return fingerprint(y, sr=LANDMARK_SR)


def match_fingerprint(archive: Archive, query_fp: Fingerprint, query: dict[str, Any], *,
                      self_match: bool = False, max_false_match: float = MAX_FALSE_MATCH,
                      recordings: Sequence[Recording] | None = None) -> ReuseReport:
    """The matches of one query fingerprint; ``query`` describes it (name, sha256, ...).

    ``recordings`` is the archive's list when the caller already holds it (``verify``
    reads it once for every question); otherwise it is read here, once.
    """
    if recordings is None:
        recordings = archive.recordings()
    query = dict(query)
    known = [r for r in recordings if r.sha256 == query["sha256"]] if query.get("sha256") else []
    if known:
        query["recording_id"] = known[0].id
    if self_match:
        return self_report(query_fp, query, max_false_match=max_false_match)
    index = load_index(archive)
    if query["recording_id"] is not None:
        index.remove(query["recording_id"])  # the file itself is no evidence of re-use
    sources = {r.id: {"sha256": r.sha256, "name": r.name, "speaker": r.speaker, "role": r.role}
               for r in recordings}
    unsearched = [r.id for r in recordings
                  if r.id not in index and r.id != query["recording_id"]]
    return index_report(index, query_fp, query, sources=sources,
                        max_false_match=max_false_match, unsearched=unsearched)


def match_file(archive: Archive, path: str | Path, *, self_match: bool = False,
               max_false_match: float = MAX_FALSE_MATCH) -> ReuseReport:
    """Which spans of the file come from archive recordings (or, ``self_match``, from itself).

    Decoded at :data:`purport.media.SR`, as ``purport verify`` decodes, so both give the
    same answer.
    """
    signal = media.load(path, sr=media.SR)
    return match_fingerprint(archive, fingerprint_signal(signal), query_of(signal.info),
                             self_match=self_match, max_false_match=max_false_match)


def fingerprint_file(path: str | Path) -> bytes:
    """A file's query fingerprint as bytes (what ``purport fingerprint`` writes): it can be
    matched by ``purport match --fingerprint`` or the web API without sending the audio."""
    signal = media.load(path, sr=media.SR)
    return fingerprint_bytes(fingerprint_signal(signal), signal.info)


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
                signal = media.load(rec.stored_path, sr=LANDMARK_SR)
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
