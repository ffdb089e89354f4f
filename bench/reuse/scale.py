"""Query latency at 100 hours: the 20-hour corpus indexed five times, hashes permuted.

    .venv/bin/python bench/reuse/scale.py     # after run.py has cached the fingerprints

Copies 2-5 of each fingerprint get their hash values mapped through a random permutation
of the hash space, so the index holds five times the entries with the real corpus's hash
frequency distribution but no duplicated content; 10-s queries are cut from the corpus.
Reports match() latency (the query's fingerprinting, about 20 ms, is not included).
"""

from __future__ import annotations

import dataclasses
import glob
import pickle
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402

from purport.reuse import Index, fingerprint, match  # noqa: E402
from purport.reuse.landmarks import N_HASHES  # noqa: E402


def main(copies: int = 5, n_queries: int = 15) -> None:
    caches = sorted(glob.glob(str(HERE / ".cache" / "purport-fp-*")),
                    key=lambda p: Path(p).stat().st_mtime)
    fps = [pickle.loads(Path(p).read_bytes())[0]
           for p in sorted(glob.glob(caches[-1] + "/*.pkl"))]
    rng = np.random.default_rng(0)
    items, rid = [], 0
    for copy in range(copies):
        perm = (np.arange(N_HASHES) if copy == 0 else rng.permutation(N_HASHES)).astype(np.uint32)
        for fp in fps:
            rid += 1
            items.append((rid, dataclasses.replace(fp, hash=perm[fp.hash])))
    index = Index()
    t = time.perf_counter()
    index.add_many(items)
    print(f"index: {index.seconds / 3600:.1f} h, {len(index)} entries, "
          f"{index.nbytes / 1e6:.0f} MB, built in {time.perf_counter() - t:.1f} s")
    wavs = sorted(glob.glob(str(HERE / ".cache" / "corpus-seed0" / "r*.wav")))
    queries = []
    for w in wavs[:n_queries]:
        y = corpus.read_wav(w)
        s = rng.integers(0, len(y) - 16000 * 10)
        queries.append(fingerprint(y[s:s + 160000], sr=16000))
    times, found = [], 0
    for q in queries:
        t = time.perf_counter()
        found += bool(match(index, q))
        times.append(time.perf_counter() - t)
    print(f"10-s queries: match() median {np.median(times):.3f} s, p95 "
          f"{np.percentile(times, 95):.3f} s; found {found}/{len(queries)}")


if __name__ == "__main__":
    main()
