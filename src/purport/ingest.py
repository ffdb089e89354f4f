"""Add media files to the archive: decode each, file it, all in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from purport import interrupt, media, reuse
from purport.archive import AddResult, Archive, Provenance, Transaction
from purport.assess.reuse import fingerprint_signal
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
              transcribe: Callable[[media.Signal], dict[str, Any]] | None = None,
              txn: Transaction | None = None) -> list[AddResult]:
    """Decode and file every path, or none: the first bad file rolls the whole batch back.

    Re-adding bytes already in the archive merges the new provenance into the existing
    recording (status "already present") instead of duplicating it. Each new recording's
    landmark fingerprint is stored in the same transaction, so the reuse index never
    misses a recording the archive holds. Pass ``txn`` to make the batch part of a larger
    transaction. ``transcribe`` (a decoded signal to a transcript dict) keeps each file's
    transcript with it, computed before the write lock like the fingerprint.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise PurportError("no files given")
    if speaker is not None:
        archive.speaker(speaker)  # fail before decoding anything
    # decode and fingerprint first, outside the transaction: the archive's write lock is
    # held only while filing, not for minutes of decoding
    ready: list[tuple[Path, media.MediaInfo, reuse.Fingerprint | None,
                      dict[str, Any] | None]] = []
    for i, path in enumerate(paths, 1):
        with _which_file(i, len(paths)):
            # speech recognition wants 16 kHz; the landmarks resample from it
            signal = media.load(path, sr=ANALYSIS_SR if transcribe is None else media.SR,
                                max_bytes=max_bytes, max_duration=max_duration)
            said = transcribe(signal) if transcribe is not None else None
        interrupt.check()
        known = archive.fingerprinted(signal.info.sha256, reuse.METHOD)
        ready.append((path, signal.info, None if known else fingerprint_signal(signal), said))
        interrupt.check()
        del signal
        if progress is not None:
            progress(i, len(paths), path)
    results: list[AddResult] = []
    with nullcontext(txn) if txn is not None else archive.transaction() as txn:
        for i, (path, info, fp, said) in enumerate(ready, 1):
            with _which_file(i, len(paths)):
                recording, status, merged = archive.add_recording(
                    info, role=role, speaker=speaker, provenance=provenance, copy=copy,
                    notes=notes, txn=txn)
                if not archive.has_fingerprint(recording.id, reuse.METHOD, txn=txn):
                    if fp is None:  # fingerprinted when we looked, removed since: decode again
                        fp = fingerprint_signal(media.load(info.path, sr=ANALYSIS_SR,
                                                           max_bytes=max_bytes,
                                                           max_duration=max_duration))
                    archive.put_fingerprint(recording.id, method=fp.method, n_hashes=len(fp),
                                            seconds=fp.duration, data=reuse.to_bytes(fp),
                                            txn=txn)
                if said is not None:
                    archive.add_transcript(recording.id, said, txn=txn)
            results.append(AddResult(path=str(path), status=status, recording=recording,
                                     merged=merged))
    return results


@contextmanager
def _which_file(i: int, n: int) -> Iterator[None]:
    """In a batch, a file's refusal says which file it was and that nothing was added."""
    try:
        yield
    except PurportError as exc:
        if n == 1:
            raise
        raise type(exc)(f"file {i} of {n} failed, nothing was added: {exc}") from exc


def add_signal(archive: Archive, signal: media.Signal, *, role: str | None = None,
               speaker: str | int | None = None, provenance: Provenance | None = None,
               copy: bool = True, notes: str | None = None,
               fingerprint: reuse.Fingerprint | None = None,
               txn: Transaction | None = None) -> AddResult:
    """File one file already decoded (``signal.info`` names it) with its fingerprint.

    ``fingerprint`` is the signal's landmarks when the caller already computed them
    (``verify_and_file`` does); otherwise they are computed here, if the archive lacks them.
    """
    with nullcontext(txn) if txn is not None else archive.transaction() as txn:
        recording, status, merged = archive.add_recording(
            signal.info, role=role, speaker=speaker, provenance=provenance, copy=copy,
            notes=notes, txn=txn)
        if not archive.has_fingerprint(recording.id, reuse.METHOD, txn=txn):
            store_fingerprint(archive, recording.id, signal, fp=fingerprint, txn=txn)
    return AddResult(path=signal.info.path, status=status, recording=recording, merged=merged)


def store_fingerprint(archive: Archive, recording_id: int, signal: media.Signal, *,
                      fp: reuse.Fingerprint | None = None, txn=None) -> reuse.Fingerprint:
    """Fingerprint decoded audio (unless ``fp`` already holds its landmarks) and file it
    for the reuse index."""
    if fp is None:
        fp = fingerprint_signal(signal)
    archive.put_fingerprint(recording_id, method=fp.method, n_hashes=len(fp),
                            seconds=fp.duration, data=reuse.to_bytes(fp), txn=txn)
    return fp
