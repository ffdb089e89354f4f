"""Embed every recording of a unit (population, split, duration, channel version), cached.

A unit's result is one ``.npz`` under ``.cache/emb-<hash>/``, where the hash covers
purport's voice sources (``src/purport/voice/*.py``, the shipped calibration included) and
this benchmark's corpus and degradation code, so a change to either re-embeds. Each
recording's ``embed_recording`` call is timed with ``time.process_time`` (CPU seconds of
this process; purport runs torch on one thread).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import corpus
import degrade
import numpy as np

ROOT = corpus.HERE.parents[1]
VOICE_SRC = ROOT / "src" / "purport" / "voice"


def sources_hash() -> str:
    """Short hash of purport's voice code and of the recipe that makes the recordings."""
    h = hashlib.sha256()
    files = sorted(VOICE_SRC.glob("*.py")) + sorted((VOICE_SRC / "data").glob("*"))
    files += [corpus.HERE / "corpus.py", corpus.HERE / "degrade.py"]
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


@dataclass(frozen=True)
class Unit:
    """The recordings of one population, split and duration, in one channel version."""

    population: str
    split: str
    duration: float
    version: str
    seed: int = 0
    size: int = 0      # FSDD: max recordings per speaker (0 = all); TTS: per voice

    @property
    def name(self) -> str:
        return (f"{self.population}-{self.split}-{self.duration:g}s-{self.version}"
                f"-s{self.seed}-n{self.size}")

    def recordings(self) -> list[corpus.Recording]:
        if self.population == "fsdd":
            return corpus.fsdd_recordings(self.split, self.duration, seed=self.seed,
                                          max_per_speaker=self.size or None)
        return corpus.tts_recordings(self.split, self.duration, self.size, seed=self.seed)


@dataclass
class Embeddings:
    """What the benchmark keeps of a unit: per-recording vectors, windows, quality, CPU time."""

    unit: Unit
    keys: list[str]
    speakers: list[str]
    vectors: np.ndarray            # (n, d), zero rows where too little speech
    window_offsets: np.ndarray     # (n + 1,) into window_vectors / window_times
    window_vectors: np.ndarray     # (m, d)
    window_times: np.ndarray       # (m, 2)
    quality: list[dict]            # Quality fields per recording
    cpu_seconds: np.ndarray        # (n,) embed_recording CPU time
    audio_seconds: np.ndarray      # (n,)

    def windows(self, i: int) -> np.ndarray:
        return self.window_vectors[self.window_offsets[i]:self.window_offsets[i + 1]]

    def embedded(self, i: int, encoder: str = "resemblyzer-ge2e"):
        """The :class:`purport.voice.Embedded` of recording ``i`` (for ``compare``)."""
        from purport.voice.embed import Embedded, Quality

        a, b = self.window_offsets[i], self.window_offsets[i + 1]
        vec = self.vectors[i] if np.any(self.vectors[i]) else np.zeros(0, np.float32)
        return Embedded(encoder=encoder, vector=vec, window_times=self.window_times[a:b],
                        window_vectors=self.window_vectors[a:b],
                        quality=Quality(**self.quality[i]))


def cache_path(unit: Unit, cache: Path) -> Path:
    return cache / f"emb-{sources_hash()}" / f"{unit.name}.npz"


def compute(unit: Unit) -> Embeddings:
    """Make the unit's recordings, degrade them and embed them with purport."""
    from purport.voice import embed_recording, load_encoder

    encoder = load_encoder()
    recs = unit.recordings()
    vectors, offsets, wv, wt, qual, cpu, audio = [], [0], [], [], [], [], []
    for rec in recs:
        rng = np.random.default_rng(corpus.seed_of("degrade", rec.key, unit.version))
        y, sr = degrade.apply(unit.version, rec.y, rec.sr, rng)
        t0 = time.process_time()
        e = embed_recording(y, sr=sr, encoder=encoder)
        cpu.append(time.process_time() - t0)
        audio.append(len(y) / sr)
        vectors.append(e.vector if e.vector.size else np.zeros(256, np.float32))
        wv.append(e.window_vectors.reshape(-1, 256))
        wt.append(e.window_times.reshape(-1, 2))
        offsets.append(offsets[-1] + len(e.window_vectors))
        qual.append(dict(e.quality.__dict__))
    return Embeddings(unit, [r.key for r in recs], [r.speaker for r in recs],
                      np.stack(vectors).astype(np.float32), np.array(offsets),
                      np.concatenate(wv).astype(np.float32), np.concatenate(wt),
                      qual, np.array(cpu), np.array(audio))


def save(e: Embeddings, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, keys=np.array(e.keys), speakers=np.array(e.speakers),
                        vectors=e.vectors, window_offsets=e.window_offsets,
                        window_vectors=e.window_vectors, window_times=e.window_times,
                        quality=np.array(json.dumps(e.quality)), cpu_seconds=e.cpu_seconds,
                        audio_seconds=e.audio_seconds)
    tmp.replace(path)


def load(unit: Unit, path: Path) -> Embeddings:
    with np.load(path) as z:
        return Embeddings(unit, z["keys"].tolist(), z["speakers"].tolist(), z["vectors"],
                          z["window_offsets"], z["window_vectors"], z["window_times"],
                          json.loads(str(z["quality"])), z["cpu_seconds"], z["audio_seconds"])


def get(unit: Unit, cache: Path, *, use_cache: bool = True) -> Embeddings:
    """The unit's embeddings, from the cache or computed (and cached)."""
    path = cache_path(unit, cache)
    if use_cache and path.is_file():
        return load(unit, path)
    e = compute(unit)
    save(e, path)
    return e


def worker(args: tuple[Unit, str, bool]) -> str:
    """Pool entry point: embed one unit into the cache; returns a progress line."""
    unit, cache, use_cache = args
    path = cache_path(unit, Path(cache))
    if use_cache and path.is_file():
        return f"{unit.name}: cached"
    t0 = time.perf_counter()
    e = get(unit, Path(cache), use_cache=False)
    return (f"{unit.name}: {len(e.keys)} recordings, {e.audio_seconds.sum():.0f} s audio, "
            f"{e.cpu_seconds.sum():.0f} s CPU, {time.perf_counter() - t0:.0f} s wall")
