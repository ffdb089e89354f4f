"""The landmark index: every archived triplet in flat arrays sorted by hash.

No Python object per hash: lookups are ``np.searchsorted`` over a uint32 column, and
adding or removing a recording merges or masks whole arrays. Per recording the index
keeps only its peaks and duration (for boundary refinement and the false-match model).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from purport.errors import ParameterError
from purport.reuse.landmarks import METHOD, Fingerprint, Peaks

#: Bytes per indexed triplet in memory: hash u32, recording i32, t1 i32, span i16, f1 f16.
ENTRY_BYTES = 16


class Index:
    """In-memory landmark index over many recordings, updated incrementally."""

    def __init__(self) -> None:
        self.hash = np.zeros(0, np.uint32)
        self.rec = np.zeros(0, np.int32)
        self.t1 = np.zeros(0, np.int32)
        self.span = np.zeros(0, np.int16)
        self.f1 = np.zeros(0, np.float16)
        self.peaks: dict[int, Peaks] = {}
        self.levels: dict[int, np.ndarray] = {}
        self.durations: dict[int, float] = {}

    def __len__(self) -> int:
        return len(self.hash)

    def __contains__(self, recording_id: int) -> bool:
        return recording_id in self.durations

    @property
    def recording_ids(self) -> list[int]:
        return sorted(self.durations)

    @property
    def nbytes(self) -> int:
        peaks = sum(p.t.nbytes + p.f.nbytes for p in self.peaks.values())
        levels = sum(v.nbytes for v in self.levels.values())
        return int(len(self) * ENTRY_BYTES + peaks + levels)

    @property
    def seconds(self) -> float:
        return float(sum(self.durations.values()))

    def add(self, recording_id: int, fp: Fingerprint) -> None:
        """Merge one recording's triplets into the sorted arrays (replacing any earlier ones)."""
        if fp.method != METHOD:
            raise ParameterError(f"fingerprint method {fp.method} is not {METHOD}: "
                                 "run `purport index rebuild`")
        self.add_many([(recording_id, fp)])

    def add_many(self, items: list[tuple[int, Fingerprint]]) -> None:
        """Merge several recordings at once (one sort instead of one per recording)."""
        for recording_id, _ in items:
            if recording_id in self:
                self.remove(recording_id)
        if not items:
            return
        order_new = [np.argsort(fp.hash, kind="stable") for _, fp in items]
        new_hash = np.concatenate([fp.hash[o] for (_, fp), o in zip(items, order_new, strict=True)])
        new_rec = np.concatenate([np.full(len(fp), rid, np.int32) for rid, fp in items])
        new_t1 = np.concatenate([fp.t1[o] for (_, fp), o in zip(items, order_new, strict=True)])
        new_span = np.concatenate([fp.span[o] for (_, fp), o in zip(items, order_new,
                                                                     strict=True)])
        new_f1 = np.concatenate([fp.f1[o].astype(np.float16)
                                 for (_, fp), o in zip(items, order_new, strict=True)])
        if len(items) > 1:
            o = np.argsort(new_hash, kind="stable")
            new_hash, new_rec, new_t1, new_span, new_f1 = (
                new_hash[o], new_rec[o], new_t1[o], new_span[o], new_f1[o])
        self._merge(new_hash, new_rec, new_t1, new_span, new_f1)
        for recording_id, fp in items:
            self.peaks[recording_id] = fp.peaks
            self.durations[recording_id] = fp.duration
            if fp.level is not None:
                self.levels[recording_id] = fp.level

    def _merge(self, h, rec, t1, span, f1) -> None:
        """Merge a sorted block into the sorted columns in one linear pass."""
        n_old, n_new = len(self.hash), len(h)
        where = np.searchsorted(self.hash, h, side="right") + np.arange(n_new)
        is_new = np.zeros(n_old + n_new, dtype=bool)
        is_new[where] = True
        for name, block in (("hash", h), ("rec", rec), ("t1", t1), ("span", span), ("f1", f1)):
            old = getattr(self, name)
            merged = np.empty(n_old + n_new, dtype=old.dtype)
            merged[is_new] = block
            merged[~is_new] = old
            setattr(self, name, merged)

    def remove(self, recording_id: int) -> None:
        """Drop one recording's triplets (a no-op for an unknown id)."""
        if recording_id not in self:
            return
        keep = self.rec != recording_id
        for name in ("hash", "rec", "t1", "span", "f1"):
            setattr(self, name, getattr(self, name)[keep])
        del self.peaks[recording_id]
        del self.durations[recording_id]
        self.levels.pop(recording_id, None)

    _COLUMNS = ("hash", "rec", "t1", "span", "f1")

    def save(self, folder: Path, *, stamp: dict) -> None:
        """Write the index as .npy files (memory-mappable) plus ``stamp``; atomic rename."""
        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".index-"))
        ids = self.recording_ids
        for name in self._COLUMNS:
            np.save(tmp / f"{name}.npy", getattr(self, name))
        np.save(tmp / "peaks_t.npy", _cat([self.peaks[r].t for r in ids], np.int32))
        np.save(tmp / "peaks_f.npy", _cat([self.peaks[r].f for r in ids], np.float32))
        np.save(tmp / "levels.npy", _cat([self.levels.get(r, np.zeros(0, np.uint8))
                                         for r in ids], np.uint8))
        meta = {"stamp": stamp, "ids": ids, "durations": [self.durations[r] for r in ids],
                "n_peaks": [len(self.peaks[r]) for r in ids],
                "n_levels": [len(self.levels.get(r, ())) for r in ids]}
        (tmp / "meta.json").write_text(json.dumps(meta))
        old = folder.with_name(folder.name + ".old")
        if folder.exists():
            os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path) -> tuple[Index, dict]:
        """An index saved by :meth:`save`, its columns memory-mapped; and its stamp."""
        folder = Path(folder)
        meta = json.loads((folder / "meta.json").read_text())
        index = cls()
        for name in cls._COLUMNS:
            setattr(index, name, np.load(folder / f"{name}.npy", mmap_mode="r"))
        peaks_t, peaks_f = np.load(folder / "peaks_t.npy"), np.load(folder / "peaks_f.npy")
        levels = np.load(folder / "levels.npy")
        p0 = l0 = 0
        for rid, dur, n_p, n_l in zip(meta["ids"], meta["durations"], meta["n_peaks"],
                                      meta["n_levels"], strict=True):
            index.peaks[rid] = Peaks(peaks_t[p0:p0 + n_p], peaks_f[p0:p0 + n_p])
            if n_l:
                index.levels[rid] = levels[l0:l0 + n_l]
            index.durations[rid] = dur
            p0, l0 = p0 + n_p, l0 + n_l
        return index, meta["stamp"]

    def lookup(self, hashes: np.ndarray, *,
               max_count: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Every (position in ``hashes``, index entry) pair whose hashes are equal.

        Hashes held more than ``max_count`` times are skipped (see common_hash_limit).
        """
        order = np.argsort(hashes, kind="stable")  # sorted needles: cache-friendly search
        ordered = hashes[order]
        lo, hi = np.empty(len(hashes), np.int64), np.empty(len(hashes), np.int64)
        lo[order] = np.searchsorted(self.hash, ordered, side="left")
        hi[order] = np.searchsorted(self.hash, ordered, side="right")
        counts = hi - lo
        if max_count is not None:
            counts = np.where(counts > max_count, 0, counts)
        total = int(counts.sum())
        qpos = np.repeat(np.arange(len(hashes)), counts)
        starts = np.repeat(lo - np.cumsum(counts) + counts, counts)
        return qpos, starts + np.arange(total)


def to_bytes(fp: Fingerprint, *, query: bool = False,
             source: dict[str, Any] | None = None) -> bytes:
    """A fingerprint as compressed bytes for the archive (what `index stats` counts on disk).

    ``query`` keeps the triplets' peaks too, which a search needs: what `purport
    fingerprint` writes, so a fingerprint can be matched without sending the audio;
    ``source`` (name, sha256 and duration of the file it came from) travels with it.
    """
    buf = io.BytesIO()
    extra = {}
    if query:
        if fp.triplet_peaks is None:
            raise ParameterError("this fingerprint was loaded from storage: fingerprint the "
                                 "audio again")
        extra["triplet_peaks"] = fp.triplet_peaks
    if source is not None:
        extra["source"] = np.array(json.dumps(source))
    np.savez_compressed(
        buf, hash=fp.hash, t1=fp.t1, span=fp.span, f1=fp.f1.astype(np.float16),
        # a query keeps its peaks' frequencies whole: its triplets are formed from them again
        peaks_t=fp.peaks.t, peaks_f=fp.peaks.f.astype(np.float32 if query else np.float16),
        level=fp.level if fp.level is not None else np.zeros(0, np.uint8),
        duration=np.float64(fp.duration), method=np.array(fp.method), **extra)
    return buf.getvalue()


def source_of(data: bytes) -> dict[str, Any]:
    """What a query fingerprint says of the file it came from ({} when it says nothing)."""
    try:
        with np.load(io.BytesIO(data)) as z:
            found = json.loads(str(z["source"])) if "source" in z.files else {}
    except (OSError, ValueError, KeyError, EOFError):
        return {}
    return found if isinstance(found, dict) else {}


def from_bytes(data: bytes) -> Fingerprint:
    """The inverse of :func:`to_bytes`; unreadable bytes raise ParameterError."""
    try:
        with np.load(io.BytesIO(data)) as z:
            level = z["level"] if "level" in z.files and len(z["level"]) else None
            tp = z["triplet_peaks"] if "triplet_peaks" in z.files else None
            fp = Fingerprint(
                hash=z["hash"], t1=z["t1"], span=z["span"], f1=z["f1"].astype(np.float32),
                peaks=Peaks(z["peaks_t"], z["peaks_f"].astype(np.float32)),
                duration=float(z["duration"]), method=str(z["method"]), level=level,
                triplet_peaks=tp)
        n, n_peaks = len(fp.hash), len(fp.peaks.t)
        if not (len(fp.t1) == len(fp.span) == len(fp.f1) == n) \
                or len(fp.peaks.f) != n_peaks or not np.isfinite(fp.duration) \
                or fp.duration < 0 or (tp is not None and (
                    tp.ndim != 2 or tp.shape != (n, 3) or (n and (tp.min() < 0
                                                                  or tp.max() >= n_peaks)))):
            raise ValueError("arrays of inconsistent shapes")
        return fp
    except (OSError, ValueError, KeyError, EOFError) as exc:
        raise ParameterError(f"unreadable stored fingerprint ({exc}): "
                             "run `purport index rebuild`") from exc


def _cat(arrays: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(arrays).astype(dtype) if arrays else np.zeros(0, dtype)
