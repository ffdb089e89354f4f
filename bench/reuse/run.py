"""The reuse benchmark: index a speech corpus, query degraded cuts, score purport and fpcalc.

    .venv/bin/python bench/reuse/run.py --hours 1 --queries-per-cell 5          # smoke
    .venv/bin/python bench/reuse/run.py --recipe room --hours 2.5 --sweep-step 3

Writes ``results.md`` and ``results.json`` into ``--out`` (default ``runs/<recipe>/``
next to this file); ``combine.py`` puts the recipes side by side in ``results.md``. See
README.md for what every number means.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core: ingest speed is per core

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import pickle  # noqa: E402
import resource  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import baseline  # noqa: E402
import corpus  # noqa: E402
import degrade  # noqa: E402
import recipes  # noqa: E402
import report  # noqa: E402
import scoring  # noqa: E402
import sweep  # noqa: E402
from scoring import Part  # noqa: E402

SR = corpus.SR


@dataclass
class Query:
    """One query clip and its truth."""

    qid: str
    kind: str  # positive | negative
    length: int
    degradation: str
    parts: list[Part]
    y: np.ndarray = field(repr=False)
    sr: int = SR
    time_factor: float = 1.0
    pitch_factor: float = 1.0


def log(msg: str) -> None:
    """Progress line on stderr with a timestamp."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- queries -----------------------------------------------------------------------------


def plan_cuts(rows: list[dict], length: int, n: int, seed: int, tag: str,
              salt: int = 0) -> list[tuple]:
    """`n` seeded cuts ``(row, start, row_b, start_b)`` of `length` s (b: splice partner);
    a non-zero `salt` gives another set of cuts (fresh negatives for every degradation)."""
    long_enough = [r for r in rows if r["duration"] >= length + 1.0]
    weights = np.array([r["duration"] for r in long_enough])
    cuts = []
    for i in range(n):
        key = [seed, length, i, 1 if tag == "negative" else 0] + ([salt] if salt else [])
        rng = np.random.default_rng(key)
        a = int(rng.choice(len(long_enough), p=weights / weights.sum()))
        b = a
        while b == a and len(long_enough) > 1:
            b = int(rng.choice(len(long_enough), p=weights / weights.sum()))
        ra, rb = long_enough[a], long_enough[b]
        cuts.append((ra, float(rng.uniform(0, ra["duration"] - length)),
                     rb, float(rng.uniform(0, rb["duration"] - length / 2))))
    return cuts


def make_query(cut: tuple, i: int, kind: str, length: int, deg: degrade.Degradation,
               folder: Path, seed: int, fillers: list[dict]) -> Query:
    """Read the cut from disk and apply the degradation (or build the splice / embed)."""
    ra, sa, rb, sb = cut
    qid = f"{kind[:3]}-{length}s-{i}"
    if deg.name == "splice":
        half = length / 2
        ya = corpus.read_wav(folder / ra["path"], sa, half)
        yb = corpus.read_wav(folder / rb["path"], sb, half)
        parts = [Part(ra["id"], 0.0, half, sa, sa + half),
                 Part(rb["id"], half, length, sb, sb + half)]
        return Query(qid, kind, length, deg.name, parts, degrade.splice(ya, yb))
    if deg.name == "embed":
        return embed_query(qid, kind, length, ra, sa, folder, fillers,
                           np.random.default_rng([seed, length, i, 99]))
    y = corpus.read_wav(folder / ra["path"], sa, length)
    rng = np.random.default_rng([seed, length, i, sum(map(ord, deg.name))])
    talkers = talker_clips(fillers, deg.talkers, length, ra["id"], folder,
                           np.random.default_rng([seed, length, i, 98]))
    yq, sr = deg.apply(y, SR, rng, *talkers)
    if deg.removed is None:
        parts = [Part(ra["id"], 0.0, length * deg.time_factor, sa, sa + length)]
    else:  # silence trimmed off the ends: the truth starts and ends where the speech does
        lead, trail = deg.removed(y, SR)
        parts = [Part(ra["id"], 0.0, len(yq) / sr, sa + lead, sa + length - trail)]
    return Query(qid, kind, length, deg.name, parts, yq, sr, deg.time_factor, deg.pitch_factor)


def talker_clips(fillers: list[dict], n: int, length: float, own_id: int, folder: Path,
                 rng: np.random.Generator) -> list[np.ndarray]:
    """`n` clips of `length` s from negative recordings (never indexed) other than the
    query's own, for babble."""
    pool = [r for r in fillers if r["id"] != own_id and r["duration"] >= length + 1.0]
    clips = []
    for _ in range(n if pool else 0):
        row = pool[int(rng.integers(len(pool)))]
        start = float(rng.uniform(0, row["duration"] - length))
        clips.append(corpus.read_wav(folder / row["path"], start, length))
    return clips


def embed_query(qid: str, kind: str, length: int, ra: dict, sa: float, folder: Path,
                fillers: list[dict], rng: np.random.Generator) -> Query:
    """New speech (from negative recordings) around the middle half: L/4 new, L/2 cut, L/4 new."""
    quarter = length / 4
    pieces = []
    for _ in range(2):
        row = fillers[int(rng.integers(len(fillers)))]
        start = float(rng.uniform(0, row["duration"] - quarter))
        pieces.append(corpus.read_wav(folder / row["path"], start, quarter))
    middle = corpus.read_wav(folder / ra["path"], sa, 2 * quarter)
    y = np.concatenate([pieces[0], middle, pieces[1]]).astype(np.float32)
    parts = [Part(ra["id"], quarter, 3 * quarter, sa, sa + 2 * quarter)]
    return Query(qid, kind, length, "embed", parts, y)


# --- purport -----------------------------------------------------------------------------


def reuse_src() -> Path:
    """Folder of the purport.reuse sources this process imports: the checkout, or a
    snapshot put first on PYTHONPATH (a fixed commit while others edit the tree)."""
    from purport import reuse

    return Path(reuse.__file__).resolve().parent


def source_hash() -> str:
    """Hash of the purport.reuse sources (fingerprint cache key)."""
    h = hashlib.sha256()
    for path in sorted(reuse_src().glob("*.py")):
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()[:12]


def purport_api():
    """(fingerprint, Index, match) from purport.reuse, adapting to small API differences."""
    from purport import reuse

    def match(index, fp):
        if hasattr(index, "match"):
            return index.match(fp)
        return reuse.match(index, fp)

    return reuse.fingerprint, reuse.Index, match


def rss_mb() -> float:
    """Current resident set size in MB (from /proc)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def purport_fingerprints(rows: list[dict], folder: Path, cache: Path | None,
                         fingerprint) -> tuple[list, float]:
    """Fingerprint every recording (CPU-timed, one core), reusing cached ones if allowed."""
    items, cpu_total = [], 0.0
    if cache:
        cache.mkdir(parents=True, exist_ok=True)
    for k, row in enumerate(rows):
        pkl = cache / f"{Path(row['path']).stem}-{row['digest']}.pkl" if cache else None
        if pkl and pkl.exists():
            fp, cpu = pickle.loads(pkl.read_bytes())
        else:
            y = corpus.read_wav(folder / row["path"])
            t0 = time.process_time()
            fp = fingerprint(y, sr=SR)
            cpu = time.process_time() - t0
            if pkl:
                pkl.write_bytes(pickle.dumps((fp, cpu)))
        items.append((row["id"], fp))
        cpu_total += cpu
        if k % 10 == 9:
            log(f"purport fingerprints {k + 1}/{len(rows)}")
    return items, cpu_total


def purport_index(rows: list[dict], folder: Path, cache: Path | None) -> tuple[object, dict]:
    """Fingerprint and index the corpus; returns the index and ingest facts."""
    fingerprint, index_cls, _ = purport_api()
    rss0 = rss_mb()
    items, cpu = purport_fingerprints(rows, folder, cache, fingerprint)
    index = index_cls()
    t0, c0 = time.perf_counter(), time.process_time()
    for rec_id, fp in items:
        index.add(rec_id, fp)
    add_wall, add_cpu = time.perf_counter() - t0, time.process_time() - c0
    audio_s = sum(r["duration"] for r in rows)
    del items
    facts = {"audio_s": audio_s, "cpu_s": cpu, "x_realtime": audio_s / max(cpu, 1e-9),
             "index_add_wall_s": add_wall, "index_add_cpu_s": add_cpu,
             "nbytes": int(getattr(index, "nbytes", 0)), "hashes": len(index),
             "rss_increase_mb": rss_mb() - rss0}
    return index, facts


def run_purport(index, q: Query) -> tuple[list[dict], dict, object]:
    """Fingerprint and match one query, timed; also returns the query fingerprint."""
    fingerprint, _, match = purport_api()
    t0 = time.perf_counter()
    fp = fingerprint(q.y, sr=q.sr)
    t1 = time.perf_counter()
    matches = [scoring.match_dict(m) for m in match(index, fp)]
    t2 = time.perf_counter()
    return matches, {"latency_s": t2 - t0, "fingerprint_s": t1 - t0, "match_s": t2 - t1}, fp


def purport_candidates(index, fp, limit: int = 3) -> list[dict] | None:
    """Diagnostics: the best candidates at ``max_false_match=1`` (None if not supported)."""
    from purport import reuse

    try:
        found = reuse.match(index, fp, max_false_match=1.0)
    except TypeError:
        return None
    return [scoring.match_dict(m) for m in found[:limit]]


def run_fpcalc(index: baseline.BaselineIndex, q: Query) -> tuple[list[dict], dict]:
    """Baseline: best alignment regardless of BER (the threshold is applied when scoring)."""
    t0 = time.perf_counter()
    fp = baseline.fpcalc_array(q.y, q.sr, corpus.write_wav)
    matches = [scoring.match_dict(m) for m in index.match(fp, threshold=1.0)]
    return matches, {"latency_s": time.perf_counter() - t0}


# --- evaluation --------------------------------------------------------------------------


def record(method: str, q: Query, matches: list[dict], timing: dict,
           ber_threshold: float | None = None) -> dict:
    """Score one method's answer to one query into a flat record."""
    rec = {"method": method, "qid": q.qid, "kind": q.kind, "length": q.length,
           "degradation": q.degradation, **timing,
           "truth": [vars(p) for p in q.parts]}
    if ber_threshold is not None:  # baseline: keep the raw best, then threshold
        best = matches[0] if matches else None
        rec["best_ber"] = best["ber"] if best else None
        rec["best_hits"] = bool(best and any(scoring.hits_part(best, p) for p in q.parts))
        matches = [m for m in matches if m["ber"] < ber_threshold]
    rec["matches"] = matches[:5]
    if q.kind == "negative":
        rec.update(n_matches=len(matches), found=False, n_wrong=len(matches))
    elif q.degradation == "splice":  # embed is scored like any single-source query
        rec.update(scoring.score_splice(matches, q.parts))
    else:
        rec.update(scoring.score_single(matches, q.parts[0], q.time_factor, q.pitch_factor))
    return rec


def purport_record(index, q: Query) -> dict:
    """Score purport on one query; for negatives and misses, keep the best candidates that
    the default significance level rejected (how close the call was)."""
    matches, timing, fp = run_purport(index, q)
    rec = record("purport", q, matches, timing)
    if q.kind == "negative" or not rec["found"]:
        cands = purport_candidates(index, fp)
        if cands is not None:
            rec["candidates"] = cands
            rec["truth_candidate_rank"] = next(
                (i for i, m in enumerate(cands) if any(scoring.hits_part(m, p)
                                                        for p in q.parts)), None)
    return rec


def calibrated_baseline(records: list[dict]) -> tuple[list[dict], dict]:
    """fpcalc re-scored, per query length, at the largest BER threshold that gives no false
    positive on the negative queries of that length (calibrated on the test negatives, so
    optimistic for fpcalc)."""
    thresholds = {}
    for length in sorted({r["length"] for r in records}):
        neg = [r["best_ber"] for r in records if r["method"] == "fpcalc"
               and r["kind"] == "negative" and r["length"] == length
               and r["best_ber"] is not None]
        thresholds[length] = min(neg) if neg else baseline.BER_THRESHOLD
    out = []
    for r in records:
        if r["method"] != "fpcalc":
            continue
        ok = r["best_ber"] is not None and r["best_ber"] < thresholds[r["length"]]
        new = {**r, "method": "fpcalc-cal", "n_matches": int(ok)}
        if r["kind"] == "positive":
            new["found"] = bool(ok and r["best_hits"] and r["degradation"] != "splice")
        out.append(new)
    return out, thresholds


def evaluate(args, rows, negatives, folder, p_index, b_index) -> list[dict]:
    """Run every (kind, length, degradation, query) cell through both methods."""
    records: list[dict] = []
    degs = [degrade.DEGRADATIONS[d] for d in args.degradations]
    for kind, source, n in (("positive", rows, args.queries_per_cell),
                            ("negative", negatives, args.negatives_per_cell)):
        for length in args.lengths:
            fresh = kind == "negative" and args.fresh_negatives
            shared = None if fresh else plan_cuts(source, length, n, args.seed, kind)
            for k, deg in enumerate(degs):
                cuts = (plan_cuts(source, length, n, args.seed, kind, salt=k + 1) if fresh
                        else shared)
                t0 = time.perf_counter()
                for i, cut in enumerate(cuts):
                    q = make_query(cut, i, kind, length, deg, folder, args.seed, negatives)
                    if p_index is not None:
                        records.append(purport_record(p_index, q))
                    if b_index is not None and i < args.baseline_queries_per_cell:
                        records.append(record("fpcalc", q, *run_fpcalc(b_index, q),
                                              ber_threshold=args.baseline_ber))
                log(f"{kind} {length:2d}s {deg.name:28s} {len(cuts)} queries "
                    f"{time.perf_counter() - t0:6.1f} s{cell_note(records, kind, length, deg)}")
    return records


def cell_note(records: list[dict], kind: str, length: int, deg) -> str:
    """Short running tally of the last cell for the progress log."""
    out = []
    for method in ("purport", "fpcalc"):
        sel = [r for r in records if r["method"] == method and r["kind"] == kind
               and r["length"] == length and r["degradation"] == deg.name]
        if sel:
            value = (np.mean([r["found"] for r in sel]) if kind == "positive"
                     else np.mean([r["n_matches"] > 0 for r in sel]))
            out.append(f"{method} {'recall' if kind == 'positive' else 'fp'} {value:.2f}")
    return "  " + ", ".join(out) if out else ""


# --- main --------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=1.0, help="indexed corpus, hours")
    ap.add_argument("--negative-hours", type=float, default=None,
                    help="negative corpus, hours (default max(0.25, hours/10))")
    ap.add_argument("--queries-per-cell", type=int, default=10)
    ap.add_argument("--negatives-per-cell", type=int, default=None,
                    help="negative queries per (length, degradation) (default: same)")
    ap.add_argument("--fresh-negatives", action="store_true",
                    help="cut new negatives for every degradation instead of degrading the "
                         "same cuts (more independent negatives for the false-positive rate)")
    ap.add_argument("--baseline-queries-per-cell", type=int, default=None,
                    help="run fpcalc on only the first N queries of each cell")
    ap.add_argument("--lengths", default="5,10,30", help="query lengths, s (comma list)")
    ap.add_argument("--degradations", default="all",
                    help="comma list of names or families (see degrade.DEGRADATIONS)")
    ap.add_argument("--recipe", default="base", choices=sorted(recipes.RECIPES),
                    help="how the corpus is made (see recipes.py)")
    ap.add_argument("--seed", type=int, default=None,
                    help="corpus and cut positions (default: the recipe's own seed)")
    ap.add_argument("--sweep-step", type=float, default=0.0,
                    help="also cut clean queries every this many seconds over every indexed "
                         "recording (0: no sweep)")
    ap.add_argument("--sweep-lengths", default="5,10", help="sweep query lengths, s")
    ap.add_argument("--cache", type=Path, default=corpus.DEFAULT_CACHE)
    ap.add_argument("--out", type=Path, default=None,
                    help="results folder (default: runs/<recipe> next to this file)")
    ap.add_argument("--jobs", type=int, default=2, help="processes for corpus synthesis")
    ap.add_argument("--baseline-ber", type=float, default=baseline.BER_THRESHOLD)
    ap.add_argument("--no-baseline", action="store_true", help="skip fpcalc")
    ap.add_argument("--no-purport", action="store_true", help="skip purport (baseline only)")
    ap.add_argument("--no-fp-cache", action="store_true",
                    help="recompute purport fingerprints even if cached for these sources")
    args = ap.parse_args(argv)
    args.lengths = [int(x) for x in args.lengths.split(",") if x]
    args.sweep_lengths = [int(x) for x in args.sweep_lengths.split(",") if x]
    if args.seed is None:
        args.seed = recipes.get(args.recipe).seed
    if args.out is None:
        args.out = HERE / "runs" / args.recipe
    args.degradations = select_degradations(args.degradations)
    if args.negative_hours is None:
        args.negative_hours = max(0.25, args.hours / 10)
    if args.negatives_per_cell is None:
        args.negatives_per_cell = args.queries_per_cell
    if args.baseline_queries_per_cell is None:
        args.baseline_queries_per_cell = max(args.queries_per_cell, args.negatives_per_cell)
    return args


def select_degradations(spec: str) -> list[str]:
    """Degradation names from a comma list of names and/or families (``all`` = every one)."""
    if spec == "all":
        return list(degrade.DEGRADATIONS)
    wanted = [s.strip() for s in spec.split(",") if s.strip()]
    families = {w for w in wanted if w not in degrade.DEGRADATIONS}
    names = [n for n, d in degrade.DEGRADATIONS.items() if n in wanted or d.family in families]
    unknown = [w for w in wanted if w not in degrade.DEGRADATIONS
               and w not in {d.family for d in degrade.DEGRADATIONS.values()}]
    if unknown:
        raise SystemExit(f"error: unknown degradation(s) {unknown}; "
                         f"choose from {list(degrade.DEGRADATIONS)}")
    return names


def build_indexes(args, rows, folder: Path):
    """The purport index and the fpcalc baseline index, with their ingest facts."""
    p_index = b_index = None
    facts: dict = {}
    if not args.no_purport:
        cache = None if args.no_fp_cache else args.cache / f"purport-fp-{source_hash()}"
        log(f"purport: fingerprinting {len(rows)} recordings (cache {cache})")
        p_index, facts["purport"] = purport_index(rows, folder, cache)
        log(f"purport ingest: {facts['purport']}")
    if not args.no_baseline:
        b_index, facts["fpcalc"] = baseline.build_index(
            rows, folder, args.cache / f"fpcalc-{folder.name.removeprefix('corpus-')}", log=log)
        log(f"fpcalc ingest: {facts['fpcalc']}")
    return p_index, b_index, facts


def _relative(path: str) -> str:
    """`path` relative to the working directory when it lies under it (a portable command)."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def main(argv: list[str] | None = None) -> None:
    """Build corpus and indexes, run the queries, write results.md and results.json."""
    args = parse_args(argv)
    started = time.time()
    machine = {**report.machine_facts(), "reuse_src": _relative(str(reuse_src())),
               "reuse_src_hash": source_hash()}  # the code measured, fixed at the start
    if reuse_src() != HERE.parents[1] / "src" / "purport" / "reuse":
        machine["reuse_src_dirty"] = False  # a snapshot: the checkout's edits are not measured
    manifest = corpus.build_corpus(args.hours, args.negative_hours, args.cache, args.seed,
                                   args.jobs, log=log, recipe=args.recipe)
    folder = corpus.corpus_dir(args.cache, args.seed, args.recipe)
    rows = corpus.select(manifest["recordings"], args.hours)
    negatives = corpus.select(manifest["negatives"], args.negative_hours)
    log(corpus.summary(manifest, args.hours, args.negative_hours))
    p_index, b_index, facts = build_indexes(args, rows, folder)
    records = evaluate(args, rows, negatives, folder, p_index, b_index)
    swept = None
    if args.sweep_step > 0 and p_index is not None:
        _, _, match = purport_api()
        swept = sweep.run(p_index, rows, folder, lengths=args.sweep_lengths,
                          step=args.sweep_step, seed=args.seed, match=match, log=log)
    threshold = None
    if b_index is not None:
        cal, threshold = calibrated_baseline(records)
        records += cal
    methods = [m for m in ("purport", "fpcalc", "fpcalc-cal")
               if any(r["method"] == m for r in records)]
    results = {
        "command": " ".join(shlex.quote(a) for a in [_relative(sys.executable), *sys.argv]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "wall_s": time.time() - started,
        "recipe": {"name": args.recipe, "summary": recipes.get(args.recipe).summary},
        "machine": {**machine, "reuse_src_changed_during_run": source_hash() != machine[
            "reuse_src_hash"]},
        "corpus": report.corpus_facts(rows, negatives, args),
        "ingest": facts,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "baseline_ber": args.baseline_ber,
        "baseline_calibrated_ber": threshold,
        "lengths": args.lengths,
        "degradations": args.degradations,
        "cells": {m: scoring.aggregate(records, m, args.degradations, args.lengths)
                  for m in methods},
        "overall": {m: scoring.overall(records, m) for m in methods},
        "fmp_calibration": scoring.fmp_calibration(records),
        "fmp_sweep": scoring.fmp_sweep(records),
        "latency_by_length": {m: scoring.latency_by_length(records, m, args.lengths)
                              for m in methods},
        "sweep": swept,
        "records": records,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1, default=float))
    (args.out / "results.md").write_text(report.markdown(results, report.load_scale(args.out)))
    log(f"wrote {args.out / 'results.md'} and results.json in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
