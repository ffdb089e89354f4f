"""Speed and memory of ``embed_recording`` in a fresh process (run by ``run.py``).

    .venv/bin/python bench/voice/speed.py --per-duration 12 > speed.json

Loads the encoder (imports included, timed apart), embeds one clean FSDD recording of split B
of each duration to warm up, then ``--per-duration`` of them, each ``--repeats`` times,
keeping the best time per recording (the machine may be shared), timed with
``time.process_time`` (CPU seconds of this process; purport sets torch to one thread) and
``time.perf_counter``. ``run.py`` runs it twice: as shipped, and with
``OPENBLAS_NUM_THREADS=1`` (purport limits torch to one thread, not numpy's and scipy's
OpenBLAS, whose idle worker threads spin on the second core). A last pass wraps the encoder
to count its calls (whole recording plus one per window) and their share of the CPU time.
Speed is audio seconds over CPU seconds ("x real time on one core"). Peak memory is this
process's ``VmHWM``: the model, the libraries and one recording at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus  # noqa: E402


class TimedEncoder:
    """Wraps an encoder to count its ``embed`` calls and their CPU time (for the breakdown)."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.sr = inner, inner.name, inner.sr
        self.calls, self.cpu = 0, 0.0

    def embed(self, y):
        t0 = time.process_time()
        out = self.inner.embed(y)
        dt = time.process_time() - t0
        self.calls += 1
        self.cpu += dt
        return out


def peak_rss_mib() -> float:
    """Peak resident memory of this process: ``VmHWM`` (``ru_maxrss`` on Linux keeps the
    parent's peak across fork+exec, so a child of a big process would report the parent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(durations: list[float], per_duration: int, repeats: int = 3,
            seed: int = 0) -> dict:
    """x real time per duration and overall (best of ``repeats`` per recording), load time,
    peak memory, and where the time goes."""
    rss0 = peak_rss_mib()
    t0, w0 = time.process_time(), time.perf_counter()
    import torch

    from purport.voice import embed_recording, load_encoder

    encoder = load_encoder()
    load_cpu, load_wall = time.process_time() - t0, time.perf_counter() - w0
    out = {"torch_threads": torch.get_num_threads(), "load_cpu_s": round(load_cpu, 2),
           "load_wall_s": round(load_wall, 2), "repeats": repeats, "per_duration": {},
           "rss_before_load_mib": round(rss0, 1)}
    from threadpoolctl import threadpool_info

    total = [0.0, 0.0, 0.0]  # audio, cpu, wall
    for d in durations:
        recs = corpus.fsdd_recordings("B", d, seed=seed)[: per_duration + 1]
        embed_recording(recs[0].y, sr=recs[0].sr)  # warm-up
        audio = cpu = wall = 0.0
        for r in recs[1:]:
            best_cpu = best_wall = float("inf")
            for _ in range(repeats):
                t0, w0 = time.process_time(), time.perf_counter()
                embed_recording(r.y, sr=r.sr)
                best_cpu = min(best_cpu, time.process_time() - t0)
                best_wall = min(best_wall, time.perf_counter() - w0)
            audio, cpu, wall = audio + len(r.y) / r.sr, cpu + best_cpu, wall + best_wall
        timed = TimedEncoder(encoder)
        t0 = time.process_time()
        n_windows = 0
        for r in recs[1:]:
            n_windows += len(embed_recording(r.y, sr=r.sr, encoder=timed).window_vectors)
        spent = time.process_time() - t0
        out["per_duration"][f"{d:g}"] = {
            "recordings": len(recs) - 1, "audio_s": round(audio, 1), "cpu_s": round(cpu, 2),
            "wall_s": round(wall, 2), "x_real_time_cpu": round(audio / cpu, 1),
            "x_real_time_wall": round(audio / wall, 1),
            "encoder_calls_per_recording": round(timed.calls / (len(recs) - 1), 2),
            "windows_per_recording": round(n_windows / (len(recs) - 1), 2),
            "encoder_share_of_cpu": round(timed.cpu / spent, 3)}
        total = [total[0] + audio, total[1] + cpu, total[2] + wall]
    out["x_real_time_cpu"] = round(total[0] / total[1], 1)
    out["x_real_time_wall"] = round(total[0] / total[2], 1)
    out["cpu_per_wall"] = round(total[1] / total[2], 2)
    out["thread_pools"] = [f"{p['internal_api']} x{p['num_threads']}" for p in threadpool_info()]
    out["env"] = {k: os.environ[k] for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
                  if k in os.environ}
    out["peak_rss_mib"] = round(peak_rss_mib(), 1)
    out["ru_maxrss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    out["loadavg_during"] = os.getloadavg()[0]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--durations", default="3,6,12")
    ap.add_argument("--per-duration", type=int, default=12)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    durations = [float(x) for x in args.durations.split(",")]
    print(json.dumps(measure(durations, args.per_duration, args.repeats, args.seed), indent=2))


if __name__ == "__main__":
    main()
