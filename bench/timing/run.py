"""Timing benchmark: ENF placement, detection, splices, speed and content dating.

    .venv/bin/python bench/timing/run.py --smoke            # about 3 min
    .venv/bin/python bench/timing/run.py --jobs 2           # the full run (see README)

Progress goes to stderr; results to ``results.json`` and ``results.md`` in this folder
(``--out`` elsewhere). Generated audio lives in ``.cache/audio`` only while it is analysed
(``--keep-audio`` keeps it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import multiprocessing as mp
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import dating  # noqa: E402
import gridlog  # noqa: E402
import report  # noqa: E402
import scoring  # noqa: E402
import speech  # noqa: E402
import synth  # noqa: E402
import trials  # noqa: E402


def _floats(s: str) -> list[float]:
    return [float(x) for x in s.split(",") if x.strip()]


def _names(s: str) -> list[str]:
    names = [x.strip() for x in s.split(",") if x.strip()]
    bad = [n for n in names if n not in synth.CHAINS]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown channels {bad}; known: {list(synth.CHAINS)}")
    return names


def parse(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    all_chains = ",".join(synth.CHAINS)
    ap.add_argument("--durations", type=_floats, default=[1, 3, 5, 10], help="minutes")
    ap.add_argument("--levels", type=_floats, default=[-10, -20, -30, -40],
                    help="hum RMS re speech RMS, dB")
    ap.add_argument("--chains", type=_names, default=_names(all_chains))
    ap.add_argument("--draws", type=int, default=30, help="hum draws per duration")
    ap.add_argument("--nohum-draws", type=int, default=20, help="no-hum draws per duration")
    ap.add_argument("--nohum-chains", type=_names, default=_names(all_chains))
    ap.add_argument("--splice-draws", type=int, default=12, help="splice draws per duration")
    ap.add_argument("--splice-durations", type=_floats, default=[3, 5, 10])
    ap.add_argument("--splice-chains", type=_names, default=_names("wav,mp3_64k,opus_16k,noise"))
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--speed-seconds", type=int, default=3600)
    ap.add_argument("--speed-days", type=int, default=30)
    ap.add_argument("--speed-repeats", type=int, default=3)
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-content", action="store_true")
    ap.add_argument("--keep-audio", action="store_true")
    ap.add_argument("--resume", action="store_true",
                    help="reuse the records of draws already analysed by an interrupted run "
                         "with the same settings and purport commit")
    ap.add_argument("--cache", type=Path, default=HERE / ".cache")
    ap.add_argument("--out", type=Path, default=HERE)
    ap.add_argument("--smoke", action="store_true",
                    help="tiny run: 1 and 3 min, 2 draws, 10 min in 3 days for speed")
    a = ap.parse_args(argv)
    if a.smoke:
        a.durations, a.draws, a.nohum_draws, a.splice_draws = [1, 3], 2, 2, 1
        a.splice_durations, a.speed_seconds, a.speed_days, a.speed_repeats = [3], 600, 3, 1
    return a


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def machine() -> dict:
    cpu = Path("/proc/cpuinfo").read_text().splitlines()

    def field(name):
        return next((ln.split(":", 1)[1].strip() for ln in cpu if ln.startswith(name)), "?")

    import av
    import scipy
    mem = next(ln for ln in Path("/proc/meminfo").read_text().splitlines()
               if ln.startswith("MemTotal"))
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE,
                                capture_output=True, text=True).stdout.strip()
        if subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=HERE.parents[1],
                          capture_output=True, text=True).stdout.strip():
            commit += "+dirty"
    except OSError:
        commit = "?"
    return {"cpu_model": field("model name"), "cpu_mhz": field("cpu MHz"),
            "cache": field("cache size"),
            "nproc": subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip(),
            "mem_gib": round(int(mem.split()[1]) / 2 ** 20, 1), "python": platform.python_version(),
            "numpy": np.__version__, "scipy": scipy.__version__, "av": av.__version__,
            "os": platform.platform(), "loadavg_start": os.getloadavg(),
            "purport_commit": commit}


def log_facts(lg: gridlog.Log, tracks: dict, cache: Path) -> dict:
    f = lg.freq
    steps = np.array([abs(s["step"]) for s in lg.segments[1:]])
    d = np.abs(np.diff(f))
    return {"start": lg.log.start.isoformat(), "hours": len(f) / 3600, "tracks": len(tracks),
            "unique_hours": sum(map(len, tracks.values())) / 3600,
            "shapes": list(gridlog.SHAPES), "segments": len(lg.segments), "fade_s": gridlog.FADE,
            "median_step_mhz": float(np.median(steps) * 1000),
            "max_step_mhz": float(steps.max() * 1000), "min_hz": float(f.min()),
            "max_hz": float(f.max()), "sd_mhz": float(f.std() * 1000),
            "median_step_1s_mhz": float(np.median(d) * 1000),
            "max_step_1s_mhz": float(d.max() * 1000),
            "despiked_seconds": gridlog.despiked_seconds(cache), "segment_list": lg.segments}


def run_speed(a) -> dict:
    cores = sorted(os.sched_getaffinity(0))
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = a.cache / "speed.json"
    cmd = [sys.executable, str(HERE / "speed.py"), "--cache", str(a.cache), "--seconds",
           str(a.speed_seconds), "--days", str(a.speed_days), "--repeats", str(a.speed_repeats),
           "--out", str(out)]
    if Path("/usr/bin/taskset").exists():
        cmd = ["taskset", "-c", str(cores[-1]), *cmd]
    subprocess.run(cmd, check=True, env=env)
    return json.loads(out.read_text())


def main(argv=None) -> None:
    a = parse(argv)
    t_start = time.time()
    a.cache.mkdir(parents=True, exist_ok=True)
    audio = a.cache / "audio" / str(os.getpid())  # runs sharing the cache do not collide
    audio.mkdir(parents=True, exist_ok=True)
    facts = machine()
    log("grid log from ENF-WHU")
    tracks = gridlog.whu_tracks(a.cache, log=log)
    lg = gridlog.build(tracks, seed=a.seed)
    log(f"  log: {lg.log.seconds / 3600:.1f} h, {len(lg.segments)} segments")
    log("speech pool")
    pool = speech.build_pool(a.cache, seed=a.seed, log=log)
    trials.STATE.update(log=lg, pool=pool, audio=audio, keep=a.keep_audio)
    n = lg.log.seconds
    tasks = (trials.plan("hum", a.durations, a.levels, a.chains, a.draws, a.seed, n)
             + trials.plan("splice", a.splice_durations, a.levels, a.splice_chains,
                           a.splice_draws, a.seed, n)
             + trials.plan("nohum", a.durations, a.levels, a.nohum_chains, a.nohum_draws,
                           a.seed, n))
    # long draws first, so the pool's workers finish together
    tasks.sort(key=lambda t: -t["minutes"] * len(t["levels"]) * len(t["chains"]))
    total = sum(len(t["levels"]) * len(t["chains"]) for t in tasks)
    log(f"{len(tasks)} draws, {total} files")
    key = json.dumps([a.durations, a.levels, a.chains, a.draws, a.nohum_draws, a.nohum_chains,
                      a.splice_draws, a.splice_durations, a.splice_chains, a.seed,
                      facts["purport_commit"]])
    progress = a.cache / f"records-{hashlib.sha256(key.encode()).hexdigest()[:12]}.jsonl"
    records: list[dict] = []
    if a.resume and progress.is_file():
        done: dict[str, list[dict]] = {}
        for line in progress.read_text().splitlines():
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by the interruption
            done.setdefault(r["draw"], []).append(r)
        per_draw = {t["id"]: len(t["levels"]) * len(t["chains"]) for t in tasks}
        complete = {d for d, rs in done.items() if len(rs) == per_draw.get(d)}
        records = [r for d in complete for r in done[d]]
        tasks = [t for t in tasks if t["id"] not in complete]
        log(f"resuming: {len(complete)} draws ({len(records)} files) from {progress.name}")
    progress.write_text("".join(json.dumps(r) + "\n" for r in records))
    t0, n0 = time.time(), len(records)
    with open(progress, "a") as fh, mp.get_context("fork").Pool(a.jobs) as workers:
        for i, recs in enumerate(workers.imap_unordered(trials.run_task, tasks), 1):
            records += recs
            for r in recs:
                fh.write(json.dumps(r) + "\n")
            fh.flush()
            if i % max(1, len(tasks) // 40) == 0 or i == len(tasks):
                el = time.time() - t0
                log(f"  {i}/{len(tasks)} draws, {len(records)}/{total} files, {el / 60:.1f} min, "
                    f"eta {el / (len(records) - n0) * (total - len(records)) / 60:.1f} min")
    speed = None
    if not a.skip_speed:
        log(f"speed: {a.speed_seconds} s recording, {a.speed_days} days of reference, one core")
        speed = run_speed(a)
    content = None
    if not a.skip_content:
        log("content dating")
        content = dating.run()
    summary = scoring.summarise(records)
    res = {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
           "command": " ".join(shlex.quote(x) for x in [".venv/bin/python",
                                                        "bench/timing/run.py", *sys.argv[1:]]),
           "wall_s": time.time() - t_start, "machine": facts,
           "config": {"durations": a.durations, "levels": a.levels, "chains": a.chains,
                      "draws": a.draws, "nohum_draws": a.nohum_draws,
                      "nohum_chains": a.nohum_chains, "splice_draws": a.splice_draws,
                      "splice_durations": a.splice_durations, "splice_chains": a.splice_chains,
                      "seed": a.seed, "jobs": a.jobs, "tol_place_s": scoring.TOL_PLACE,
                      "tol_splice_s": scoring.TOL_SPLICE},
           "chains": synth.CHAINS, "log": log_facts(lg, tracks, a.cache), "summary": summary,
           "speed": speed, "content": content, "records": records}
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "results.json").write_text(json.dumps(res, indent=1, default=_json))
    (a.out / "results.md").write_text(report.render(json.loads(json.dumps(res, default=_json))))
    if not a.keep_audio:
        shutil.rmtree(audio, ignore_errors=True)
    log(f"wrote {a.out / 'results.md'} and results.json ({(time.time() - t_start) / 60:.1f} min)")
    for h in report.headline(res):
        log(f"  {'met' if h['met'] else 'MISSED'}: {h['target']}: {h['measured']}")


def _json(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o))


if __name__ == "__main__":
    main()
