"""Add media files to the archive: decode each, file it, all in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path

from purport import media, reuse
from purport.archive import AddResult, Archive, Provenance, Transaction
from purport.errors import PurportError

#: Ingest decodes straight to the landmarks' rate (decoding proves the file usable, and
#: FFmpeg's resampler inside the decoder is cheaper than resampling afterwards).
ANALYSIS_SR = reuse.SR

Progress = Callable[[int, int, Path], None]


def add_files(archive: Archive, paths: Sequence[str | Path], *, role: str | None = None,
              speaker: str | int | None = None, provenance: Provenance | None = None,
              copy: bool = True, notes: str | None = None,
              max_bytes: int = media.DEFAULT_MAX_BYTES,
              max_duration: float = media.DEFAULT_MAX_DURATION,
              progress: Progress | None = None,
              txn: Transaction | None = None) -> list[AddResult]:
    """Decode and file every path, or none: the first bad file rolls the whole batch back.

    Re-adding bytes already in the archive merges the new provenance into the existing
    recording (status "already present") instead of duplicating it. Each new recording's
    landmark fingerprint is stored in the same transaction, so the reuse index never
    misses a recording the archive holds. Pass ``txn`` to make the batch part of a larger
    transaction.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise PurportError("no files given")
    if speaker is not None:
        archive.speaker(speaker)  # fail before decoding anything
    results: list[AddResult] = []
    with nullcontext(txn) if txn is not None else archive.transaction() as txn:
        for i, path in enumerate(paths, 1):
            try:
                signal = media.load(path, sr=ANALYSIS_SR, max_bytes=max_bytes,
                                    max_duration=max_duration)
                recording, status, merged = archive.add_recording(
                    signal.info, role=role, speaker=speaker, provenance=provenance,
                    copy=copy, notes=notes, txn=txn)
                if not archive.has_fingerprint(recording.id, reuse.METHOD, txn=txn):
                    store_fingerprint(archive, recording.id, signal, txn=txn)
            except PurportError as exc:
                if len(paths) == 1:
                    raise
                raise type(exc)(f"file {i} of {len(paths)} failed, nothing was added: "
                                f"{exc}") from exc
            results.append(AddResult(path=str(path), status=status, recording=recording,
                                     merged=merged))
            if progress is not None:
                progress(i, len(paths), path)
    return results


def store_fingerprint(archive: Archive, recording_id: int, signal: media.Signal,
                      txn=None) -> reuse.Fingerprint:
    """Fingerprint decoded audio and file it for the reuse index."""
    fp = reuse.fingerprint(signal.y, sr=signal.sr)
    archive.put_fingerprint(recording_id, method=fp.method, n_hashes=len(fp),
                            seconds=fp.duration, data=reuse.to_bytes(fp), txn=txn)
    return fp
