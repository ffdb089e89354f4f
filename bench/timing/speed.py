"""Speed on one core: ENF extraction (x real time) and placing a 1-hour trace in 30 days.

Run by ``run.py`` in a child process pinned to one core (``taskset -c``) with every
thread pool limited to one thread; or by hand:

    taskset -c 0 env OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \\
        .venv/bin/python bench/timing/speed.py --out /tmp/speed.json

A 1-hour recording (speech + hum at -30 dB following the benchmark log) is written as
16 kHz WAV and as 64 kbit/s MP3; each is decoded to 1 kHz by ``purport.media.load``
and its trace extracted; the trace is placed (``locate.locate``) in the benchmark log
tiled to 30 days of 1 Hz values (2,592,000 s). Each step is timed ``--repeats`` times
(median and min reported) with ``time.perf_counter`` and ``time.process_time``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gridlog  # noqa: E402
import speech  # noqa: E402
import synth  # noqa: E402

from purport import media  # noqa: E402
from purport.timing import enf, locate  # noqa: E402

HERE = Path(__file__).resolve().parent


def _time(fn, repeats: int) -> tuple[dict, object]:
    walls, cpus, result = [], [], None
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return {"wall_median_s": round(statistics.median(walls), 3),
            "wall_min_s": round(min(walls), 3), "cpu_median_s": round(statistics.median(cpus), 3),
            "repeats": repeats}, result


def measure(cache: Path, *, seconds: int = 3600, days: int = 30, repeats: int = 3,
            seed: int = 0) -> dict:
    tracks = gridlog.whu_tracks(cache)
    log = gridlog.build(tracks, seed=seed)
    pool = speech.build_pool(cache, seed=seed)
    rng = np.random.default_rng(seed + 99)
    offset = float(rng.uniform(0, log.log.seconds - seconds - 2))
    y = synth.mix(speech.track(pool, seconds, rng),
                  synth.hum_track(log.freq, [offset], [], seconds, rng), -30, rng)
    out: dict = {"recording_seconds": seconds, "reference_days": days,
                 "affinity": sorted(os.sched_getaffinity(0)),
                 "threads_env": {k: os.environ.get(k) for k in
                                 ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}}
    audio = cache / "audio"
    audio.mkdir(parents=True, exist_ok=True)
    files = {c: synth.apply_chain(y, c, audio / f"speed-1h-{c}", rng) for c in ("wav", "mp3_64k")}
    trace = None
    for chain, path in files.items():
        t_load, sig = _time(lambda p=path: media.load(p, sr=enf.SR), repeats)
        t_ext, trace_c = _time(lambda s=sig: enf.extract(s.y, sr=enf.SR,
                                                         source_sr=s.info.sample_rate), repeats)
        out[f"load_{chain}"] = t_load
        out[f"extract_{chain}"] = t_ext
        out[f"x_realtime_extract_{chain}"] = round(seconds / t_ext["wall_median_s"], 1)
        out[f"x_realtime_load_and_extract_{chain}"] = round(
            seconds / (t_ext["wall_median_s"] + t_load["wall_median_s"]), 1)
        out["peak_rss_mb_after_extract"] = round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        if chain == "wav":
            trace, y1k = trace_c, sig.y
            t_disc, _ = _time(lambda y=y1k, tr=trace: enf.discontinuities(y, sr=enf.SR, trace=tr),
                              repeats)
            out["discontinuities_wav"] = t_disc
        path.unlink()
    big = gridlog.tiled(log.log, days * 86400, seed=seed + 1)
    # the tiled copies are shifted by a few mHz, which the mean-removed correlation ignores:
    # the true offset (and its repeats every log length) is where it should land
    t_loc, where = _time(lambda: locate.locate(trace, big), repeats)
    out["locate_30d"] = t_loc
    out["locate_30d_found_offset_mod_log"] = round(where.best.offset_seconds
                                                   % log.log.seconds, 2)
    out["locate_30d_true_offset"] = round(offset, 2)
    out["trace_present"] = bool(trace.present)
    out["total_1h_wav_load_extract_locate_s"] = round(
        out["load_wav"]["wall_median_s"] + out["extract_wav"]["wall_median_s"]
        + t_loc["wall_median_s"], 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=HERE / ".cache")
    ap.add_argument("--seconds", type=int, default=3600)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    res = measure(a.cache, seconds=a.seconds, days=a.days, repeats=a.repeats)
    a.out.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
