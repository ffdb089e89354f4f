"""Baseline: Chromaprint raw fingerprints (``fpcalc -raw``) with a brute-force aligner.

Chromaprint (algorithm 2) gives one 32-bit sub-fingerprint per 1365 samples at 11025 Hz
(about 8.08 per second). A query's sequence is slid over every reference sequence and scored
by bit error rate (popcount of XOR, averaged over the overlap); the best offset over the whole
corpus is a match when its BER is below :data:`BER_THRESHOLD`. This is what an off-the-shelf
audio fingerprint does without any speed or pitch search: the yardstick purport is compared to.
"""

from __future__ import annotations

import json
import resource
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ITEM_S = 1365 / 11025
"""Seconds per Chromaprint item (algorithm 2: 4096-sample frames, hop 1365 at 11025 Hz)."""
BER_THRESHOLD = 0.35


@dataclass
class BaselineMatch:
    """The best alignment, in the same fields as purport's Match (the rest not estimated)."""

    recording_id: int
    query_start: float
    query_end: float
    ref_start: float
    ref_end: float
    score: float  # 1 - BER
    ber: float
    time_factor: float = 1.0
    pitch_factor: float = 1.0
    false_match_probability: float = float("nan")


def fpcalc(path: Path) -> np.ndarray:
    """Raw Chromaprint fingerprint of a whole file (``fpcalc -raw -length 0``) as uint32."""
    proc = subprocess.run(["fpcalc", "-raw", "-length", "0", str(path)],
                          capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("FINGERPRINT="):
            body = line.split("=", 1)[1]
            return np.array([int(v) for v in body.split(",") if v], dtype=np.uint32)
    return np.zeros(0, dtype=np.uint32)


def child_cpu() -> float:
    """CPU seconds used so far by finished child processes (user + system)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def fpcalc_array(y: np.ndarray, sr: int, write_wav) -> np.ndarray:
    """Raw fingerprint of an in-memory clip (written to a temporary WAV for fpcalc)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "q.wav"
        write_wav(path, y, sr)
        return fpcalc(path)


class BaselineIndex:
    """All reference fingerprints concatenated, with recording boundaries."""

    def __init__(self) -> None:
        """An empty index."""
        self.parts: list[np.ndarray] = []
        self.ids: list[int] = []
        self._ref: np.ndarray | None = None
        self._starts: np.ndarray | None = None

    def add(self, recording_id: int, fp: np.ndarray) -> None:
        """Add one recording's raw fingerprint."""
        self.parts.append(fp.astype(np.uint32))
        self.ids.append(recording_id)
        self._ref = None

    @property
    def nbytes(self) -> int:
        """Bytes of the stored fingerprints."""
        return int(sum(p.nbytes for p in self.parts))

    def _build(self) -> None:
        """Concatenate the parts and note where each recording starts."""
        self._ref = np.concatenate(self.parts) if self.parts else np.zeros(0, np.uint32)
        lengths = np.array([len(p) for p in self.parts])
        self._starts = np.concatenate([[0], np.cumsum(lengths)])

    def ber_curve(self, q: np.ndarray) -> np.ndarray:
        """Bit error rate of `q` at every offset of the concatenated references."""
        if self._ref is None:
            self._build()
        m = len(self._ref) - len(q) + 1
        if m <= 0 or len(q) == 0:
            return np.ones(0)
        errors = np.zeros(m, dtype=np.uint32)
        for i, item in enumerate(q):
            errors += np.bitwise_count(self._ref[i:i + m] ^ item)
        return errors / (32.0 * len(q))

    def match(self, q: np.ndarray, threshold: float = BER_THRESHOLD) -> list[BaselineMatch]:
        """The best alignment (at most one match) of a query fingerprint, if BER < threshold."""
        ber = self.ber_curve(q)
        if ber.size == 0:
            return []
        ends = self._starts[1:] - len(q)  # last valid offset inside each recording
        rec_of = np.searchsorted(self._starts, np.arange(len(ber)), side="right") - 1
        ber[np.arange(len(ber)) > ends[rec_of]] = 1.0  # windows crossing a boundary
        best = int(np.argmin(ber))
        if ber[best] >= threshold:
            return []
        r = int(rec_of[best])
        start = (best - self._starts[r]) * ITEM_S
        return [BaselineMatch(self.ids[r], 0.0, len(q) * ITEM_S, start, start + len(q) * ITEM_S,
                              1.0 - float(ber[best]), float(ber[best]))]


def build_index(rows: list[dict], folder: Path, cache: Path, log=print) -> tuple[BaselineIndex,
                                                                                  dict]:
    """Fingerprint every corpus recording with fpcalc (cached as .npy) and index them.

    Returns the index and ingest facts: audio seconds, fpcalc CPU seconds (measured when the
    fingerprint was made, one process at a time), items and bytes.
    """
    cache.mkdir(parents=True, exist_ok=True)
    index, audio_s, cpu_s = BaselineIndex(), 0.0, 0.0
    for row in rows:
        stem = Path(row["path"]).stem
        npy, meta = cache / f"{stem}.npy", cache / f"{stem}.json"
        if npy.exists() and meta.exists() and json.loads(meta.read_text())["digest"] == row[
                "digest"]:
            fp, cpu = np.load(npy), json.loads(meta.read_text())["cpu_s"]
        else:
            t0 = child_cpu()
            fp = fpcalc(folder / row["path"])
            cpu = child_cpu() - t0
            np.save(npy, fp)
            meta.write_text(json.dumps({"digest": row["digest"], "cpu_s": cpu}))
        index.add(row["id"], fp)
        audio_s += row["duration"]
        cpu_s += cpu
    log(f"fpcalc index: {len(rows)} recordings, {sum(len(p) for p in index.parts)} items")
    facts = {"audio_s": audio_s, "cpu_s": cpu_s, "nbytes": index.nbytes,
             "x_realtime": audio_s / max(cpu_s, 1e-9)}
    return index, facts


def query(index: BaselineIndex, y: np.ndarray, sr: int, write_wav) -> tuple[list, float]:
    """Fingerprint and match one query; returns (matches, wall seconds)."""
    t0 = time.perf_counter()
    matches = index.match(fpcalc_array(y, sr, write_wav))
    return matches, time.perf_counter() - t0
