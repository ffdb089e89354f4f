"""Voice benchmark: purport's speaker comparison on real (FSDD) and synthetic (TTS) voices.

    .venv/bin/python bench/voice/run.py --quick            # smoke run, about 2 minutes
    .venv/bin/python bench/voice/run.py --jobs 2           # the full benchmark

Steps: make the recordings (FSDD takes packed into 3/6/12 s recordings, TTS voices on
seeded text), make each channel version and embed it with ``purport.voice.embed_recording``
(cached per unit), build trials (split A calibrates, split B evaluates), fit calibrations
with ``purport.voice.calibrate`` and score the split-B trials with each, run ``compare()``
checks and probes, time ``embed_recording`` in a fresh process, and write ``results.json``,
``results.md`` and the Tippett plots next to this file (or ``--out``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
warnings.filterwarnings("ignore", message=".*pkg_resources.*")

import corpus  # noqa: E402
import embedding  # noqa: E402
import numpy as np  # noqa: E402
import report  # noqa: E402
import scoring  # noqa: E402

MATCHED = ["clean", "level", "opus16", "mp3-32", "noise10", "phone"]
MISMATCHED = ["level", "opus16", "mp3-32", "noise10", "phone", "noise10+opus16"]
MAIN = ("fsdd", 6.0, "clean")
DEGRADED_PLOT = ("fsdd", 6.0, "q noise10+opus16 / r clean")
TARGETS = {"eer": 0.02, "cllr": 0.2, "x_real_time": 50.0}


def condition_name(qv: str, rv: str) -> str:
    return qv if qv == rv else f"q {qv} / r {rv}"


def conditions(versions: list[str]) -> list[tuple[str, str]]:
    """(questioned version, reference version) pairs available from ``versions``."""
    out = [(v, v) for v in MATCHED if v in versions]
    if "clean" in versions:
        out += [(v, "clean") for v in MISMATCHED if v in versions]
    return out


def parse_sizes(text: str, durations: list[float]) -> dict[float, int]:
    """``"3:5,6:4,12:3"`` or one number for all durations."""
    if ":" not in text:
        return dict.fromkeys(durations, int(text))
    sizes = {float(k): int(v) for k, v in (p.split(":") for p in text.split(","))}
    return {d: sizes[d] for d in durations}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def machine() -> dict:
    """CPU model, cores, memory, load."""
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                  if line.startswith("model name")), platform.processor())
    mem = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), "0")
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    import torch

    return {"cpu_model": model, "nproc": nproc,
            "cpuinfo_processors": cpuinfo.count("processor\t:"),
            "mem_total_gib": round(int(mem) / 2**20, 1), "python": platform.python_version(),
            "torch": torch.__version__, "platform": platform.platform(),
            "loadavg_at_start": os.getloadavg()}


def embed_all(units: list[embedding.Unit], cache: Path, jobs: int, use_cache: bool) -> int:
    """Embed every unit not in the cache; returns how many came from the cache."""
    todo = [(u, str(cache), use_cache) for u in units]
    cached = 0
    if jobs <= 1:
        lines = (embedding.worker(args) for args in todo)
        for i, line in enumerate(lines, 1):
            cached += line.endswith(": cached")
            log(f"embed {i}/{len(todo)} {line}")
        return cached
    with mp.get_context("fork").Pool(jobs, maxtasksperchild=8) as pool:
        for i, line in enumerate(pool.imap_unordered(embedding.worker, todo), 1):
            cached += line.endswith(": cached")
            log(f"embed {i}/{len(todo)} {line}")
    return cached


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 6 s only, 8 FSDD recordings per speaker, 2 per TTS voice, "
                         "clean, opus16 and noise10+opus16, short speed test")
    ap.add_argument("--durations", default="3,6,12")
    ap.add_argument("--versions", default="clean,level,opus16,mp3-32,noise10,phone,noise10+opus16")
    ap.add_argument("--tts-versions", default="clean,opus16,mp3-32,noise10,phone,noise10+opus16")
    ap.add_argument("--fsdd-per-speaker", default="0",
                    help="max FSDD recordings per speaker and split (0 = all takes), or 3:N,6:N")
    ap.add_argument("--tts-per-voice", default="3:6,6:4,12:3",
                    help="TTS recordings per voice and split, one number or 3:N,6:N,12:N")
    ap.add_argument("--no-tts", action="store_true")
    ap.add_argument("--jobs", type=int, default=1, help="embedding processes")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--speed-per-duration", type=int, default=12)
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--no-probes", action="store_true")
    ap.add_argument("--no-cache", action="store_true", help="re-embed even when cached")
    ap.add_argument("--cache", type=Path, default=corpus.CACHE)
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args()
    if args.quick:
        args.durations, args.versions = "6", "clean,opus16,noise10+opus16"
        args.tts_versions = args.versions
        args.fsdd_per_speaker, args.tts_per_voice = "8", "2"
        args.speed_per_duration = 3
    t_start = time.perf_counter()
    command = " ".join([".venv/bin/python", "bench/voice/run.py", *sys.argv[1:]])
    durations = [float(d) for d in args.durations.split(",")]
    versions = args.versions.split(",")
    tts_versions = [] if args.no_tts else args.tts_versions.split(",")
    fsdd_n = parse_sizes(args.fsdd_per_speaker, durations)
    tts_n = parse_sizes(args.tts_per_voice, durations)
    info = machine()
    log(f"machine: {info['cpu_model']}, nproc {info['nproc']}, load {info['loadavg_at_start']}")

    # 1. recordings (TTS synthesised once into the cache, in this process)
    if tts_versions:
        t0 = time.perf_counter()
        for d in durations:
            for split in corpus.SPLITS:
                corpus.tts_recordings(split, d, tts_n[d], seed=args.seed, cache=args.cache)
        log(f"TTS corpus ready ({time.perf_counter() - t0:.0f} s)")

    # 2. embeddings
    units = []
    for d in durations:
        for split in corpus.SPLITS:
            units += [embedding.Unit("fsdd", split, d, v, args.seed, fsdd_n[d]) for v in versions]
            units += [embedding.Unit("tts", split, d, v, args.seed, tts_n[d])
                      for v in tts_versions]
    t0 = time.perf_counter()
    cached_units = embed_all(units, args.cache, args.jobs, not args.no_cache)
    embed_wall = time.perf_counter() - t0
    log(f"embeddings ready ({embed_wall:.0f} s)")
    emb = {(u.population, u.split, u.duration, u.version): embedding.get(u, args.cache)
           for u in units}

    # 3. trials, calibrations, metrics
    from purport.voice import calibrate, default_calibration

    default = default_calibration()
    pops = ["fsdd"] + (["tts"] if tts_versions else [])
    pop_versions = {"fsdd": versions, "tts": tts_versions}
    trial_sets, cals = {}, {}
    for pop in pops:
        for d in durations:
            for qv, rv in conditions(pop_versions[pop]):
                for split in corpus.SPLITS:
                    q, r = emb[(pop, split, d, qv)], emb[(pop, split, d, rv)]
                    trial_sets[(pop, split, d, qv, rv)] = scoring.trials(q, r)
                t = trial_sets[(pop, "A", d, qv, rv)]
                cals[(pop, d, qv, rv)] = calibrate(
                    name=f"bench-{pop}-A-{d:g}s-{condition_name(qv, rv)}",
                    encoder="resemblyzer-ge2e",
                    population=f"{pop} split A, {d:g} s, {condition_name(qv, rv)}",
                    **scoring.calibration_input(t))
    log("calibrations fitted")
    other = {"fsdd": "tts", "tts": "fsdd"}
    rows, tippett = [], {}
    for pop in pops:
        for d in durations:
            for qv, rv in conditions(pop_versions[pop]):
                cond = condition_name(qv, rv)
                t = trial_sets[(pop, "B", d, qv, rv)]
                row = {"population": pop, "duration": d, "condition": cond,
                       **scoring.discrimination(t)}
                used = {"matched": cals[(pop, d, qv, rv)],
                        "clean": cals[(pop, d, "clean", "clean")],
                        "default": default}
                if (other[pop], d, qv, rv) in cals:
                    used["cross"] = cals[(other[pop], d, qv, rv)]
                row["calibrations"] = {}
                for name, cal in used.items():
                    fig = scoring.calibration_figures(cal, t)
                    ls, ld = fig.pop("llr_same"), fig.pop("llr_different")
                    row["calibrations"][name] = {"name": cal.name, **fig}
                    if (pop, d, cond) in (MAIN, DEGRADED_PLOT):
                        tippett[(pop, d, cond, name)] = (ls, ld)
                rows.append(row)
                log(f"{pop} {d:g}s {cond}: EER {row['eer']:.3f} Cllr "
                    f"{row['calibrations']['matched']['cllr']:.3f} "
                    f"(default {row['calibrations']['default']['cllr']:.3f})")
    cal_summaries = {f"{pop} {d:g}s {condition_name(qv, rv)}": c.summary()
                     for (pop, d, qv, rv), c in cals.items()}

    # 4. compare() checks and probes
    checks = {}
    if not args.no_probes:
        import probes

        for pop in pops:
            for d in durations:
                for qv, rv in conditions(pop_versions[pop]):
                    t = trial_sets[(pop, "B", d, qv, rv)]
                    cal = cals[(pop, d, qv, rv)]
                    checks[f"{pop} {d:g}s {condition_name(qv, rv)}"] = probes.compare_probe(
                        emb[(pop, "B", d, qv)], emb[(pop, "B", d, rv)], t, cal,
                        scoring.llrs(cal, t["scores"]), max_checks=50)
        log("compare() checks done")
        gain = probes.gain_probe(6.0 if 6.0 in durations else durations[0],
                                 per_speaker=3 if args.quick else 5, seed=args.seed)
        log(f"gain probe: {gain['cosine_median']}")
        splice = None
        if 12.0 in durations:
            splice = probes.splice_probe({"default": default,
                                          "matched 12 s clean": cals[("fsdd", 12.0, "clean",
                                                                      "clean")]},
                                         pairs=4 if args.quick else 12, seed=args.seed)
            log(f"splice probe: {splice['by_calibration']}")
    else:
        gain = splice = None

    # 5. speed and memory in a fresh process
    speed = None
    if not args.no_speed:
        speed = {}
        for mode, env in (("shipped", {}), ("openblas1", {"OPENBLAS_NUM_THREADS": "1"})):
            proc = subprocess.run(
                [sys.executable, str(HERE / "speed.py"), "--durations",
                 ",".join(f"{d:g}" for d in durations), "--per-duration",
                 str(args.speed_per_duration), "--seed", str(args.seed)],
                capture_output=True, text=True, check=True, env={**os.environ, **env})
            speed[mode] = json.loads(proc.stdout)
            log(f"speed ({mode}): {speed[mode]['x_real_time_cpu']}x real time (CPU), "
                f"{speed[mode]['x_real_time_wall']}x (wall), peak RSS "
                f"{speed[mode]['peak_rss_mib']} MiB")
    bulk = {}
    for (pop, _split, d, v), e in emb.items():
        b = bulk.setdefault(f"{pop} {d:g}s {v}", {"audio_s": 0.0, "cpu_s": 0.0, "n": 0})
        b["audio_s"] += float(e.audio_seconds.sum())
        b["cpu_s"] += float(e.cpu_seconds.sum())
        b["n"] += len(e.keys)
    for b in bulk.values():
        b["x_real_time_cpu"] = round(b["audio_s"] / b["cpu_s"], 1)
    net = {}
    for (pop, split, d, v), e in emb.items():
        if split == "B":
            ns = [q["net_speech_seconds"] for q in e.quality]
            net[f"{pop} {d:g}s {v}"] = {
                "net_speech_median_s": float(np.median(ns)),
                "no_embedding": int((~scoring.usable(e)).sum()),
                "snr_db_median": float(np.median([q["snr_db"] for q in e.quality
                                                  if q["snr_db"] is not None] or [np.nan])),
                "recordings": len(e.keys)}

    # 6. write
    args.out.mkdir(parents=True, exist_ok=True)
    plots = report.tippett_plots(tippett, args.out, MAIN, DEGRADED_PLOT)
    results = {
        "date": dt.datetime.now().isoformat(timespec="seconds"), "command": command,
        "machine": info, "targets": TARGETS, "seed": args.seed,
        "durations": durations, "versions": versions, "tts_versions": tts_versions,
        "fsdd_per_speaker": {f"{k:g}": v for k, v in fsdd_n.items()},
        "tts_per_voice": {f"{k:g}": v for k, v in tts_n.items()},
        "tts_voices": corpus.tts_voices() if tts_versions else [],
        "rows": rows, "calibrations": cal_summaries, "default_calibration": default.summary(),
        "compare_checks": checks, "gain_probe": gain, "splice_probe": splice, "speed": speed,
        "bulk_speed": bulk,
        "net_speech": net, "plots": plots,
        "peak_rss_run_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "loadavg_at_end": os.getloadavg(),
        "wall_s": round(time.perf_counter() - t_start, 1),
        "embedding": {"units": len(units), "cached_units": cached_units,
                      "wall_s": round(embed_wall, 1), "jobs": args.jobs,
                      "cpu_s_all_units": round(sum(b["cpu_s"] for b in bulk.values()), 1),
                      "audio_s_all_units": round(sum(b["audio_s"] for b in bulk.values()), 1)},
        "purport_voice_sources": embedding.sources_hash(),
    }
    (args.out / "results.json").write_text(json.dumps(results, indent=1, default=float) + "\n")
    (args.out / "results.md").write_text(report.markdown(results))
    log(f"wrote {args.out / 'results.md'} ({results['wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
