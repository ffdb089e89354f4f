"""``purport verify`` on a one-hour message: four cases of a set back to back, as one Opus file.

    .venv/bin/python bench/cases/hour.py --cases bench/cases/.cache/dev-small [--out DIR]

The small sets hold no message of an hour; this stitches s06, s07, s01 and s02 (fresh speech,
then the short excerpts and the modified ones: about 60 min) into one 24 kb/s Opus voice
note, builds the set's archive as ``run.py`` does, warms up on the shortest case, and times
``purport verify --json`` on the hour in a child process (wall, CPU, peak RSS). Writes
``hour.json`` (the measure, the load, the commit) and prints it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
from pathlib import Path

import av
import run

PARTS = ("s06-fresh.mp3", "s07-fresh.ogg", "s01-short-excerpts.ogg", "s02-modified.m4a")


def stitch(cases: Path, out: Path) -> float:
    """The parts, resampled to 16 kHz mono and joined, as Opus 24k; its duration (s)."""
    inputs = [a for p in PARTS for a in ("-i", str(cases / "cases" / p))]
    chains = ";".join(f"[{i}:a]aresample=16000,aformat=channel_layouts=mono[a{i}]"
                      for i in range(len(PARTS)))
    joined = "".join(f"[a{i}]" for i in range(len(PARTS)))
    graph = f"{chains};{joined}concat=n={len(PARTS)}:v=0:a=1[out]"
    subprocess.run(["ffmpeg", "-v", "error", "-y", *inputs, "-filter_complex", graph,
                    "-map", "[out]", "-c:a", "libopus", "-b:a", "24k", str(out)], check=True)
    with av.open(str(out)) as container:
        return float(container.duration / 1e6)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=Path, required=True, help="a small set made by generate.py")
    ap.add_argument("--out", type=Path, default=None, help="folder for hour.json")
    args = ap.parse_args()
    manifest = json.loads((args.cases / "manifest.json").read_text())
    work = Path(tempfile.mkdtemp(prefix="purport-hour-"))
    db, _ = run.build_archive(args.cases, manifest, work)
    hour = work / "hour.ogg"
    duration = stitch(args.cases, hour)
    shortest = min(manifest["cases"], key=lambda c: c["duration"])
    run.measured_verify(db, args.cases / shortest["path"], manifest["speaker"],
                        shortest["duration"], work)  # warm-up, untimed
    load_before = os.getloadavg()[0]
    m = run.measured_verify(db, hour, manifest["speaker"], duration, work)
    result = {"duration_s": round(duration, 1), "parts": PARTS, "measure": m.__dict__,
              "cpu_x_real_time": round(duration / max(m.cpu_s, 1e-9), 1),
              "load_1min_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
              "git": run.git_state(), "purport_on_pythonpath": os.environ.get("PYTHONPATH"),
              "command": "bench/cases/hour.py --cases " + str(args.cases)}
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "hour.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
