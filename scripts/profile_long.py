"""Time and peak memory of voice and timing on whole messages (10 min to 3 h).

    .venv/bin/python scripts/profile_long.py --minutes 10,30,60 [--cache DIR] [--out FILE]

Builds, once per length (cached in ``--cache``), a speech-like recording: espeak-ng
sentences in random order with pauses and level changes, a little noise and a 50 Hz hum
(three harmonics, -30 dB re speech) that follows a synthetic 30-day grid log. Each stage
then runs in a fresh child process, so that ``ru_maxrss`` (which counts torch's and
numpy's native buffers, unlike tracemalloc) is that stage's own peak:

- ``voice_embed``: ``voice.embed.embed_recording`` of the 16 kHz samples;
- ``voice_compare``: ``voice.compare.compare`` of that embedding with a 60-s reference of
  the same voice under the default calibration (as ``voice.profiles.check_file`` does);
- ``timing``: from the same 16 kHz samples (decoded once, as ``assess.verify`` does),
  ``enf.to_analysis_rate``, ``enf.extract``, ``enf.discontinuities`` and ``locate.locate``
  in the 30-day log (as ``timing.report.when`` does).

"base MB" is the child's resident memory once its input is loaded and the model is
ready (for voice, after a first 2-s call: librosa's and torch's one-time set-up, about
150 MB, is reported as ``first_call_mb``); "peak MB" its ``ru_maxrss``; "above MB" the
difference (what the stage adds to the samples it was given). Stages run one at a time;
on a shared machine read ``cpu_seconds`` too (every stage is single-threaded).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import signal

SR = 16000
HUM_DB = -30.0
LOG_DAYS = 30
TEXT = (
    "The council met on Tuesday morning to discuss the new bridge across the river. "
    "Farmers in the valley say the winter was the hardest in twenty years. "
    "We have received your letter and we will answer every question in it. "
    "The minister promised that the school would open before the end of summer. "
    "Our brothers on the border have held their positions for many months. "
    "The report speaks of seven villages and a road that was closed by the army. "
    "Nobody at the station could say when the next train would leave. "
    "This message is for the people of the city and for those who listen to them. "
    "The doctor worked through the night in the small clinic near the harbour. "
    "History will remember who kept their promise and who did not. "
    "Prices in the market rose again this week, and families are worried. "
    "They told us that the factory would close, and now it has. "
    "Listen carefully, because I will say this only once. "
    "The weather in the mountains changed quickly, and the journey took two days. "
    "Every soldier knows the cost of a broken promise. "
    "The company announced a new office in the capital last spring. "
    "I ask you to be patient, to be careful, and to trust one another. "
    "The island can only be reached by boat when the sea is calm. "
    "A teacher in the desert school wrote to us about her students. "
    "In the evening the streets were quiet and the shops were closed. "
).split(". ")


def _rss_now_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- building the recordings ------------------------------------------------------------

def _sentences(cache: Path) -> list[np.ndarray]:
    """The sentences spoken by espeak-ng (en-us), 16 kHz float32, cached as one .npz."""
    path = cache / "sentences.npz"
    if path.is_file():
        with np.load(path) as z:
            return [z[k] for k in sorted(z.files, key=int)]
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, text in enumerate(t.strip() for t in TEXT if t.strip()):
            wav = Path(tmp) / f"{i}.wav"
            subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav),
                            text + "."], check=True)
            from purport import media
            out.append(media.load(wav, sr=SR).y.astype(np.float32))
    np.savez(path, **{str(i): y for i, y in enumerate(out)})
    return out


def grid_log(seed: int = 0) -> np.ndarray:
    """A synthetic 1 Hz grid-frequency log: mean-reverting wander of about 40 mHz."""
    rng = np.random.default_rng(seed)
    n = LOG_DAYS * 86400
    d = signal.lfilter([0.002], [1, -0.999], rng.standard_normal(n))
    return 50.0 + signal.lfilter(np.ones(5) / 5, [1], d)


def _speech_track(pool: list[np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
    y = np.zeros(n, np.float32)
    i = 0
    while i < n:
        s = pool[rng.integers(len(pool))] * np.float32(10 ** (rng.uniform(-3, 3) / 20))
        k = min(len(s), n - i)
        y[i:i + k] = s[:k]
        i += k + int(rng.uniform(0.2, 1.2) * SR)
    return y


def _add_hum(y: np.ndarray, log: np.ndarray, offset: int, level_db: float) -> None:
    """Add, in place and in blocks, hum whose frequency follows ``log`` from ``offset`` s."""
    speech_rms = float(np.sqrt(np.mean(y[: 60 * SR].astype(np.float64) ** 2)))
    amp = speech_rms * 10 ** (level_db / 20) * np.sqrt(2)
    phase = 0.0
    block = 60 * SR
    for a in range(0, len(y), block):
        t = offset + (a + np.arange(min(block, len(y) - a))) / SR
        f = np.interp(t, np.arange(len(log)), log)
        ph = phase + 2 * np.pi * np.cumsum(f) / SR
        phase = float(ph[-1])
        y[a:a + len(t)] += (amp * (np.sin(ph) + 0.5 * np.sin(2 * ph + 0.3)
                                   + 0.3 * np.sin(3 * ph + 1.1))).astype(np.float32)


def build(cache: Path, minutes: int, seed: int = 0) -> dict:
    """``speech-<m>.npy`` (16 kHz float32) and its hum's offset in the grid log."""
    meta_path = cache / f"speech-{minutes}.json"
    if meta_path.is_file():
        return json.loads(meta_path.read_text())
    pool = _sentences(cache)
    rng = np.random.default_rng(seed + minutes)
    log = grid_log()
    n = minutes * 60 * SR
    offset = int(rng.integers(0, len(log) - minutes * 60 - 10))
    y = _speech_track(pool, n, rng)
    _add_hum(y, log, offset, HUM_DB)
    for a in range(0, n, 60 * SR):  # noise about -60 dBFS
        k = min(60 * SR, n - a)
        y[a:a + k] += rng.normal(0, 1e-3, k).astype(np.float32)
    np.save(cache / f"speech-{minutes}.npy", y)
    meta = {"minutes": minutes, "hum_offset_seconds": offset}
    meta_path.write_text(json.dumps(meta))
    return meta


def build_reference(cache: Path) -> Path:
    """A 60-s recording of the same voice (other draws of the sentences), 16 kHz."""
    path = cache / "reference.npy"
    if not path.is_file():
        pool = _sentences(cache)
        np.save(path, _speech_track(pool, 60 * SR, np.random.default_rng(12345)))
    return path


# --- stages (each in its own process) -----------------------------------------------------

def stage_voice_embed(cache: Path, minutes: int) -> dict:
    from purport.voice.embed import embed_recording, load_encoder

    y = np.load(cache / f"speech-{minutes}.npy")
    load_encoder()
    loaded = _rss_now_mb()
    embed_recording(y[: 2 * SR], sr=SR)  # first call: librosa's and torch's lazy set-up
    base = _rss_now_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    e = embed_recording(y, sr=SR)
    out = {"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0,
           "base_mb": base, "peak_mb": _peak_mb(), "first_call_mb": base - loaded,
           "windows": len(e.window_times), "net_speech": e.quality.net_speech_seconds}
    (cache / f"embedded-{minutes}.pkl").write_bytes(pickle.dumps(e))
    return out


def stage_voice_compare(cache: Path, minutes: int) -> dict:
    from purport.voice.calibrate import default_calibration
    from purport.voice.compare import compare
    from purport.voice.embed import embed_recording

    q = pickle.loads((cache / f"embedded-{minutes}.pkl").read_bytes())
    ref = embed_recording(np.load(build_reference(cache)), sr=SR)
    cal = default_calibration()
    base = _rss_now_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    report = compare(q, [ref], cal, reference_names=["reference"], codecs=("pcm", ["pcm"]))
    return {"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0,
            "base_mb": base, "peak_mb": _peak_mb(), "log10_lr": report.log10_lr,
            "segments": len(report.segments),
            "different_voice_windows": report.consistency.get("different_voice_windows")}


def stage_timing(cache: Path, minutes: int) -> dict:
    from purport.timing import enf, locate
    from purport.timing.grid import GridLog

    y = np.load(cache / f"speech-{minutes}.npy")
    log = GridLog(dt.datetime(2024, 1, 1, tzinfo=dt.UTC), grid_log())
    meta = json.loads((cache / f"speech-{minutes}.json").read_text())
    base = _rss_now_mb()
    out: dict = {"base_mb": base}
    marks = [(time.perf_counter(), time.process_time())]

    def mark(name: str) -> None:
        marks.append((time.perf_counter(), time.process_time()))
        out[f"{name}_seconds"] = marks[-1][0] - marks[-2][0]
        out[f"{name}_peak_mb"] = _peak_mb()

    x = enf.to_analysis_rate(y, SR)  # as timing.report.when does with the decoded samples
    mark("resample")
    trace = enf.extract(x, sr=enf.SR, source_sr=SR)
    mark("extract")
    found = enf.discontinuities(x, sr=enf.SR, trace=trace)
    mark("discontinuities")
    where = locate.locate(trace, log)
    mark("locate")
    out.update(present=trace.present, discontinuities=len(found),
               offset_error_seconds=None if where.best is None
               else round(where.best.offset_seconds - meta["hum_offset_seconds"], 3),
               false_match_probability=where.false_match_probability,
               seconds=marks[-1][0] - marks[0][0], cpu_seconds=marks[-1][1] - marks[0][1],
               peak_mb=_peak_mb())
    return out


STAGES = {"voice_embed": stage_voice_embed, "voice_compare": stage_voice_compare,
          "timing": stage_timing}


def run_stage(stage: str, cache: Path, minutes: int) -> dict:
    """One stage in a fresh interpreter; its JSON result."""
    cmd = [sys.executable, __file__, "--stage", stage, "--minutes", str(minutes),
           "--cache", str(cache)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:] or ["failed"]}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["above_mb"] = result["peak_mb"] - result["base_mb"]
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in result.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", default="10,30,60", help="lengths, comma-separated")
    ap.add_argument("--stages", default="voice_embed,voice_compare,timing")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "purport-long")
    ap.add_argument("--out", type=Path, help="write the results as JSON here too")
    ap.add_argument("--stage", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    if args.stage:
        print(json.dumps(STAGES[args.stage](args.cache, int(args.minutes))))
        return
    results = []
    for minutes in (int(m) for m in args.minutes.split(",")):
        build(args.cache, minutes)
        for stage in args.stages.split(","):
            r = {"minutes": minutes, "stage": stage, **run_stage(stage, args.cache, minutes)}
            results.append(r)
            print(json.dumps(r), flush=True)
    print(f"\n{'min':>4} {'stage':<14} {'seconds':>8} {'x rt':>6} {'base MB':>8} "
          f"{'peak MB':>8} {'above MB':>9}")
    for r in results:
        if "error" in r:
            print(f"{r['minutes']:>4} {r['stage']:<14} error: {r['error']}")
            continue
        print(f"{r['minutes']:>4} {r['stage']:<14} {r['seconds']:>8.1f} "
              f"{r['minutes'] * 60 / max(r['seconds'], 1e-9):>6.0f} {r['base_mb']:>8.0f} "
              f"{r['peak_mb']:>8.0f} {r['above_mb']:>9.0f}")
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
