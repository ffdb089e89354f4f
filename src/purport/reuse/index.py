"""The landmark index: every archived triplet in flat arrays sorted by hash.

No Python object per hash: lookups are ``np.searchsorted`` over a uint32 column, and
adding or removing a recording merges or masks whole arrays. Per recording the index
keeps only its peaks and duration (for boundary refinement and the false-match model).
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from purport.errors import ParameterError
from purport.reuse.landmarks import FRAME, MAX_DT, METHOD, Fingerprint, Peaks

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


# -- reading fingerprint files ----------------------------------------------------------
#
# A fingerprint file is an npz (a zip of .npy arrays) that may come from anyone (`purport
# match --fingerprint`, POST /api/match). It is refused before anything is inflated when its
# zip directory promises more than a real fingerprint needs, then read with bounded reads,
# then checked array by array.
#
# The caps, measured: a fingerprint holds 24 peaks and 106-118 triplets per second of
# audio (speech-like audio, white noise). The query file of a 3-hour recording of
# speech-like audio (``to_bytes(query=True)``) is 12.6 MB and inflates to 30.2 MB
# (2.8 kB/s), its largest entry (``triplet_peaks``, 12 bytes a triplet) 13.7 MB; reading
# it takes 0.14 s and 45 MB at the peak. By construction no fingerprint holds more than 48
# peaks a second (a peak is kept with fewer than 24 better ones within half a second of
# it, so any half second keeps at most 24) nor 288 triplets (6 per anchor): the caps allow
# 60 peaks and 300 triplets a second for ``MAX_SECONDS``, the longest recording ``purport
# fingerprint`` decodes (media's default limit, 6 h): 5.5 times the measured 3-hour file.
# Real entries inflate at most 7 times (deflate on these arrays); only the loudness
# contour of a silent stretch inflates more (280 times), and it is 63 bytes a second, so
# the ratio is capped only above ``RATIO_FREE_BYTES``.

#: Longest recording a fingerprint file may describe (seconds): media.DEFAULT_MAX_DURATION.
MAX_SECONDS = 6 * 3600.0
#: Triplets and peaks per second of audio a fingerprint may hold (above the most possible).
MAX_TRIPLETS_PER_SECOND = 300
MAX_PEAKS_PER_SECOND = 60
#: Entries: the format writes 11 (see ``_SCHEMA``).
MAX_ENTRIES = 16
#: Largest entry, inflated: 12-byte triplet rows for MAX_SECONDS (77.8 MB), rounded up.
MAX_ENTRY_BYTES = 80 * 1024**2
#: All entries together, inflated: 24 bytes a triplet, 8 a peak and 1 a frame at those rates
#: for MAX_SECONDS (167 MB; a real 6-hour file inflates to about 60 MB).
MAX_TOTAL_BYTES = 160 * 1024**2
#: Inflated over compressed size of an entry, and of the whole file, above RATIO_FREE_BYTES.
MAX_RATIO = 50
RATIO_FREE_BYTES = 4 * 1024**2
#: Small entries (duration, method, source) are read with their own cap.
SMALL_ENTRY_BYTES = 64 * 1024

#: name -> (allowed dtype kinds and item sizes, dimensions, required)
_SCHEMA: dict[str, tuple[tuple[str, ...], int, bool]] = {
    "hash": (("u4",), 1, True),
    "t1": (("i4",), 1, True),
    "span": (("i2",), 1, True),
    "f1": (("f2", "f4"), 1, True),
    "peaks_t": (("i4",), 1, True),
    "peaks_f": (("f2", "f4"), 1, True),
    "level": (("u1",), 1, False),
    "duration": (("f8",), 0, True),
    "method": (("U",), 0, True),
    "triplet_peaks": (("i4",), 2, False),
    "source": (("U",), 0, False),
}
_SMALL = {"duration", "method", "source"}


class FingerprintFileError(ParameterError):
    """A fingerprint file that is damaged, not a fingerprint, or larger than any real one."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name} is not a purport fingerprint file ({reason})")
        self.reason = reason

    def named(self, name: str) -> FingerprintFileError:
        """The same refusal, naming the file ``name``."""
        return FingerprintFileError(name, self.reason)


def source_of(data: bytes) -> dict[str, Any]:
    """What a query fingerprint says of the file it came from ({} when it says nothing).

    A ``name`` that is not a printable string of at most 255 characters is left out: it is
    printed as the query's name.
    """
    try:
        arrays = _read_npz(data, "fingerprint", only={"source"})
    except FingerprintFileError:
        return {}
    if "source" not in arrays:
        return {}
    try:
        found = json.loads(str(arrays["source"]))
    except (ValueError, RecursionError):
        return {}
    if not isinstance(found, dict):
        return {}
    name = found.get("name")
    if name is not None and not (isinstance(name, str) and len(name) <= 255
                                 and name.isprintable()):
        del found["name"]
    return found


def from_bytes(data: bytes, *, name: str = "fingerprint",
               max_seconds: float | None = MAX_SECONDS) -> Fingerprint:
    """The inverse of :func:`to_bytes`.

    Anything else raises :class:`FingerprintFileError` (a ParameterError) in one line that
    names ``name``: not a zip, truncated or damaged, larger than the caps above, missing or
    extra arrays, wrong dtypes or shapes, values no fingerprint holds. ``max_seconds`` (None:
    no limit, for the archive's own fingerprints) bounds the duration and, with it, the caps.
    """
    arrays = _read_npz(data, name, max_seconds=max_seconds)
    bad = _refuse(name)
    duration = float(arrays["duration"])
    if not math.isfinite(duration) or duration < 0:
        raise bad(f"its duration {duration} is not a number of seconds")
    if max_seconds is not None and duration > max_seconds:
        raise bad(f"it describes {duration:.3g} s of audio, more than the limit of "
                  f"{max_seconds:.0f} s")
    n, n_peaks = len(arrays["hash"]), len(arrays["peaks_t"])
    for key in ("t1", "span", "f1"):
        if len(arrays[key]) != n:
            raise bad(f"its {key} has {len(arrays[key])} rows, its hash {n}")
    if len(arrays["peaks_f"]) != n_peaks:
        raise bad(f"its peaks_f has {len(arrays['peaks_f'])} rows, its peaks_t {n_peaks}")
    frames = duration / FRAME + 2  # frames of the audio, with the last partial one
    seconds = max(duration, 1.0)
    if n > MAX_TRIPLETS_PER_SECOND * seconds or n_peaks > MAX_PEAKS_PER_SECOND * seconds:
        raise bad(f"{n} triplets and {n_peaks} peaks for {duration:.1f} s of audio")
    peaks_t, peaks_f = arrays["peaks_t"], arrays["peaks_f"].astype(np.float32)
    t1, span, f1 = arrays["t1"], arrays["span"], arrays["f1"].astype(np.float32)
    if n_peaks and (peaks_t[0] < 0 or peaks_t[-1] > frames or np.any(np.diff(peaks_t) < 0)):
        raise bad("its peak times are out of order or outside the audio")
    if n and (t1.min() < 0 or t1.max() > frames or span.min() < 0 or span.max() > MAX_DT):
        raise bad("its triplet times are outside the audio")
    if not (np.isfinite(peaks_f).all() and np.isfinite(f1).all()):
        raise bad("it holds frequencies that are not numbers")
    level = arrays.get("level")
    if level is not None and len(level) > frames:
        raise bad(f"its loudness contour has {len(level)} frames for {duration:.1f} s")
    tp = arrays.get("triplet_peaks")
    if tp is not None:
        if tp.shape != (n, 3):
            raise bad(f"its triplet_peaks has shape {tp.shape}, not ({n}, 3)")
        if n and (tp.min() < 0 or tp.max() >= n_peaks):
            raise bad("its triplet_peaks point past its peaks")
        if n and not (np.array_equal(t1, peaks_t[tp[:, 0]])
                      and np.array_equal(span, peaks_t[tp[:, 2]] - peaks_t[tp[:, 0]])):
            raise bad("its triplets do not lie on its peaks")
    method = str(arrays["method"])
    if not method or len(method) > 100 or not method.isprintable():
        raise bad("its method name is not one")
    return Fingerprint(
        hash=arrays["hash"], t1=t1, span=span, f1=f1, peaks=Peaks(peaks_t, peaks_f),
        duration=duration, method=method,
        level=level if level is not None and len(level) else None, triplet_peaks=tp)


def _refuse(name: str):
    def bad(reason: str) -> FingerprintFileError:
        return FingerprintFileError(name, reason)
    return bad


def _read_npz(data: bytes, name: str, *, max_seconds: float | None = MAX_SECONDS,
              only: set[str] | None = None) -> dict[str, np.ndarray]:
    """The arrays of an npz as ``to_bytes`` writes it, every cap checked before inflating.

    ``only`` reads just those entries (the others are still listed and checked).
    """
    bad = _refuse(name)
    damaged = bad("truncated or damaged")
    scale = 1.0 if max_seconds is None else max(max_seconds, 1.0) / MAX_SECONDS
    entry_cap = None if max_seconds is None else int(MAX_ENTRY_BYTES * scale)
    total_cap = None if max_seconds is None else int(MAX_TOTAL_BYTES * scale)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            keys = _check_directory(infos, bad, entry_cap=entry_cap, total_cap=total_cap)
            out = {}
            for info, key in zip(infos, keys, strict=True):
                if only is not None and key not in only:
                    continue
                cap = SMALL_ENTRY_BYTES if key in _SMALL else entry_cap
                raw = _bounded_read(zf, info, cap)
                if raw is None:
                    raise bad(f"its {key} inflates past the {cap} bytes allowed")
                out[key] = _array(raw, key, bad)
    except FingerprintFileError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError,
            ValueError, struct.error, NotImplementedError, RuntimeError,
            UnicodeDecodeError) as exc:  # zipfile raises NotImplementedError for a method
        #                                  it does not know (a file claiming bzip2, say)
        raise damaged from exc
    missing = [k for k, (_, _, required) in _SCHEMA.items()
               if required and k not in out and (only is None or k in only)]
    if missing:
        raise bad(f"no {', '.join(missing)} array")
    return out


def _check_directory(infos: list[zipfile.ZipInfo], bad, *, entry_cap: int | None,
                     total_cap: int | None) -> list[str]:
    """The entries' array names, or the reason the zip directory is refused."""
    if len(infos) > MAX_ENTRIES:
        raise bad(f"{len(infos)} entries, at most {MAX_ENTRIES} allowed")
    keys = []
    for info in infos:
        key = info.filename[:-4] if info.filename.endswith(".npy") else None
        if key not in _SCHEMA:
            raise bad(f"unexpected entry {info.filename[:60]!r}")
        if key in keys:
            raise bad(f"entry {info.filename!r} twice")
        if info.flag_bits & 0x1:
            raise bad(f"entry {info.filename!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise bad(f"entry {info.filename!r} has compression method {info.compress_type}")
        cap = SMALL_ENTRY_BYTES if key in _SMALL else entry_cap
        if cap is not None and info.file_size > cap:
            raise bad(f"entry {info.filename!r} inflates to {info.file_size} bytes, more "
                      f"than the {cap} allowed")
        if info.file_size > RATIO_FREE_BYTES and \
                info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise bad(f"entry {info.filename!r} inflates {info.file_size} bytes from "
                      f"{info.compress_size}, more than {MAX_RATIO} times")
        keys.append(key)
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    if total_cap is not None and total > total_cap:
        raise bad(f"its entries inflate to {total} bytes, more than the {total_cap} allowed")
    if total > RATIO_FREE_BYTES and total > MAX_RATIO * max(packed, 1):
        raise bad(f"its entries inflate {total} bytes from {packed}, more than {MAX_RATIO} "
                  "times")
    return keys


def _bounded_read(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int | None) -> bytes | None:
    """The entry's bytes, or None once they run past ``cap`` (whatever its header said)."""
    limit = info.file_size if cap is None else min(info.file_size, cap)
    parts, got = [], 0
    with zf.open(info) as f:
        while True:
            chunk = f.read(min(1 << 20, limit + 1 - got))
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
            if got > limit:
                return None
    return b"".join(parts)


def _array(raw: bytes, key: str, bad) -> np.ndarray:
    """One .npy entry, its dtype and dimensions checked against ``_SCHEMA`` before its data
    is read (object arrays are never unpickled)."""
    kinds, ndim, _ = _SCHEMA[key]
    f = io.BytesIO(raw)
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    else:
        raise bad(f"its {key} is .npy version {version}")
    code = dtype.kind if dtype.kind == "U" else f"{dtype.kind}{dtype.itemsize}"
    if dtype.hasobject or code not in kinds or dtype.fields is not None:
        want = " or ".join("str" if k == "U" else np.dtype(k).name for k in kinds)
        have = "str" if dtype.kind == "U" else dtype.name
        raise bad(f"its {key} is of type {have}, not {want}")
    if len(shape) != ndim:
        raise bad(f"its {key} has {len(shape)} dimensions, not {ndim}")
    count = math.prod(shape)
    if count * dtype.itemsize != len(raw) - f.tell():
        raise bad(f"its {key} holds {len(raw) - f.tell()} bytes for shape {shape}")
    array = np.frombuffer(raw, dtype=dtype, count=count, offset=f.tell())
    array = array.reshape(shape[::-1]).T if fortran else array.reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)


def _cat(arrays: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(arrays).astype(dtype) if arrays else np.zeros(0, dtype)
