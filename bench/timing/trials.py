"""The trials: one draw (speech track, log time, hum device) rendered at every hum level and
channel, each written to a file, decoded by purport and analysed as ``purport when`` does.

Kinds of draw:

* ``hum``: hum follows the log from a random (fractional) second ``offset``;
* ``splice``: hum follows the log from ``offset`` up to ``cut`` seconds, then from
  ``offset2`` (at least an hour away) with a fresh phase;
* ``nohum``: speech only (the channel ``noise`` adds pink noise to it).

For each rendered file the record holds what purport reports (presence, nominal,
roughness, placement, false-match probability, discontinuities) and, as a diagnostic,
the placement of a 50 Hz trace even when purport says no hum is present.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import speech
import synth

from purport import media
from purport.timing import enf, locate

STATE: dict = {}   # filled before the worker processes fork: log, pool, audio dir


def plan(kind: str, durations: list[float], levels: list[float], chains: list[str],
         draws: int, seed: int, log_seconds: int) -> list[dict]:
    """The draws of one kind: ``draws`` per duration (minutes), seeded."""
    rng = np.random.default_rng([seed, ["hum", "splice", "nohum"].index(kind)])
    tasks = []
    for dur in durations:
        for i in range(draws):
            secs = dur * 60
            t = {"kind": kind, "id": f"{kind}-{dur:g}m-{i:03d}", "minutes": dur,
                 "levels": levels if kind != "nohum" else [None], "chains": chains,
                 "seed": int(rng.integers(2 ** 31)), "offsets": [], "cuts": []}
            if kind in ("hum", "splice"):
                t["offsets"] = [float(rng.uniform(0, log_seconds - secs - 2))]
            if kind == "splice":
                cut = float(rng.uniform(0.25, 0.75) * secs)
                while True:
                    o2 = float(rng.uniform(0, log_seconds - secs - 2))
                    if abs(o2 - (t["offsets"][0] + cut)) > 3600:
                        break
                t["cuts"] = [round(cut, 3)]
                t["offsets"].append(o2)  # log time where the second part begins
            tasks.append(t)
    return tasks


def run_task(task: dict) -> list[dict]:
    """Render and analyse every level x channel of one draw."""
    log, pool, audio_dir = STATE["log"], STATE["pool"], STATE["audio"]
    rng = np.random.default_rng(task["seed"])
    secs = task["minutes"] * 60
    sp = speech.track(pool, secs, rng)
    unit = None
    if task["kind"] != "nohum":
        unit = synth.hum_track(log.freq, task["offsets"], task["cuts"], secs, rng)
    out = []
    for level in task["levels"]:
        y = synth.mix(sp, unit, level, rng)
        for chain in task["chains"]:
            name = f"{task['id']}_{'nohum' if level is None else f'{-level:g}dB'}_{chain}"
            rec = {"id": name, "draw": task["id"], "kind": task["kind"],
                   "minutes": task["minutes"], "level": level, "chain": chain,
                   "offset": task["offsets"][0] if task["offsets"] else None,
                   "offsets": task["offsets"], "cuts": task["cuts"]}
            t0 = time.perf_counter()
            path = synth.apply_chain(y, chain, audio_dir / name, np.random.default_rng(
                [task["seed"], len(out)]))
            rec["t_render"] = time.perf_counter() - t0
            rec.update(analyse(path, log))
            if not STATE.get("keep"):
                path.unlink()
            out.append(rec)
    return out


def analyse(path: Path, log) -> dict:
    """What purport says about one file (the ``purport when`` path, without the archive)."""
    t0 = time.perf_counter()
    sig = media.load(path, sr=enf.SR)
    t1 = time.perf_counter()
    trace = enf.extract(sig.y, sr=enf.SR, source_sr=sig.info.sample_rate)
    t2 = time.perf_counter()
    r = {"source_sr": sig.info.sample_rate, "present": trace.present, "nominal": trace.nominal,
         "roughness_mhz": _f(trace.roughness * 1000), "harmonic_snr_db": trace.harmonic_snr_db,
         "median_snr_db": _f(np.nanmedian(trace.snr_db)) if len(trace) else None,
         "t_load": t1 - t0, "t_extract": t2 - t1, "placed": None, "fmp": None,
         "confidence": None, "score": None, "discontinuities": []}
    if trace.present:
        d0 = time.perf_counter()
        r["discontinuities"] = [[d.time, d.kind, d.strength, d.significance]
                                for d in enf.discontinuities(sig.y, sr=enf.SR, trace=trace)]
        r["t_discontinuities"] = time.perf_counter() - d0
    if trace.present and trace.nominal == log.log.nominal:
        where = locate.locate(trace, log.log)
        if where.best is not None:
            r.update(placed=where.best.offset_seconds, fmp=where.false_match_probability,
                     confidence=where.confidence, score=where.best.score)
    # diagnostic: a 50 Hz trace placed whatever the presence test says
    forced = trace if trace.nominal == 50 else enf.extract(sig.y, sr=enf.SR, nominal=50,
                                                          source_sr=sig.info.sample_rate)
    where = locate.locate(forced, log.log)
    r["forced_placed"] = where.best.offset_seconds if where.best else None
    r["forced_fmp"] = where.false_match_probability if where.best else None
    return r


def _f(v) -> float | None:
    v = float(v)
    return round(v, 4) if np.isfinite(v) else None
