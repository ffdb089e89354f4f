"""Query latency at 100 hours: the 20-hour corpus indexed five times, hashes permuted.

    .venv/bin/python bench/reuse/scale.py [--out FOLDER]   # after run.py cached the fingerprints

Copies 2-5 of each fingerprint get their hash values mapped through a random permutation
of the hash space, so the index holds five times the entries with the real corpus's hash
frequency distribution but no duplicated content; 10-s queries are cut from the corpus.
Prints and writes ``scale.json`` into ``--out`` (default: this folder), where report.py picks
it up for the results table: the query's fingerprint time and match() latency, separately.
"""

from __future__ import annotations

import argparse
import dataclasses
import glob
import json
import pickle
import shlex
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402

from purport.reuse import Index, fingerprint, match  # noqa: E402
from purport.reuse.landmarks import N_HASHES  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    """Index the cached corpus fingerprints `--copies` times and time 10-s queries."""
    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--copies", type=int, default=5)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args(argv)
    caches = sorted(glob.glob(str(HERE / ".cache" / "purport-fp-*")),
                    key=lambda p: Path(p).stat().st_mtime)
    if not caches:
        raise SystemExit("error: no cached fingerprints; run bench/reuse/run.py first")
    # the cache folder is shared by the recipes: take the base corpus's recordings only
    manifest = corpus.load_manifest(corpus.corpus_dir(HERE / ".cache", 0))
    wanted = {f"{Path(r['path']).stem}-{r['digest']}.pkl" for r in manifest["recordings"]}
    fps = [pickle.loads(Path(p).read_bytes())[0]
           for p in sorted(glob.glob(caches[-1] + "/*.pkl")) if Path(p).name in wanted]
    rng = np.random.default_rng(0)
    items, rid = [], 0
    for copy in range(args.copies):
        perm = (np.arange(N_HASHES) if copy == 0 else rng.permutation(N_HASHES)).astype(np.uint32)
        for fp in fps:
            rid += 1
            items.append((rid, dataclasses.replace(fp, hash=perm[fp.hash])))
    base_hours = sum(fp.duration for fp in fps) / 3600
    index = Index()
    t = time.perf_counter()
    index.add_many(items)
    build_s = time.perf_counter() - t
    del items
    print(f"index: {index.seconds / 3600:.1f} h, {len(index)} entries, "
          f"{index.nbytes / 1e6:.0f} MB, built in {build_s:.1f} s")
    wavs = sorted(glob.glob(str(HERE / ".cache" / "corpus-seed0" / "r*.wav")))
    fp_times, times, found = [], [], 0
    for k in range(args.queries):
        y = corpus.read_wav(wavs[k % len(wavs)])
        s = rng.integers(0, len(y) - 16000 * 10)
        t = time.perf_counter()
        q = fingerprint(y[s:s + 160000], sr=16000)
        fp_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        found += bool(match(index, q))
        times.append(time.perf_counter() - t)
    cmd = ["bench/reuse/scale.py", *(sys.argv[1:] if argv is None else argv)]
    out = {"command": " ".join(shlex.quote(a) for a in cmd),
           "date": time.strftime("%Y-%m-%d"), "copies": args.copies, "base_hours": base_hours,
           "hours": index.seconds / 3600, "entries": len(index), "nbytes": int(index.nbytes),
           "build_s": build_s, "queries": args.queries, "found": found,
           "fingerprint_median_s": float(np.median(fp_times)),
           "match_median_s": float(np.median(times)),
           "match_p95_s": float(np.percentile(times, 95))}
    print(f"10-s queries: fingerprint median {out['fingerprint_median_s']:.3f} s; match() "
          f"median {out['match_median_s']:.3f} s, p95 {out['match_p95_s']:.3f} s; "
          f"found {found}/{args.queries}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scale.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
