"""Run purport's public CLI on every case of an edits set, then score and report.

    .venv/bin/python bench/edits/run.py --cases bench/edits/.cache/dev-small --out /tmp/edits-small
    .venv/bin/python bench/edits/run.py --cases bench/edits/.cache/dev-full \
        --out bench/edits/before --jobs 2

Per case, in subprocesses, each timed (wall, CPU, peak RSS by ``/usr/bin/time``):

* ``purport when FILE --grid DIR/grid.csv --json`` (the option is read from ``purport
  when --help``: ``--grid-csv`` if that is what it offers);
* ``purport edits FILE --json --grid DIR/grid.csv`` when ``purport edits`` exists; if not,
  ``purport verify FILE --grid DIR/grid.csv --db EMPTY --json`` (an empty archive, no
  claimed speaker) and its ``edits.candidates`` (the join detection is then recorded as
  "not available", the fallback's candidates scored in its place).

What each command printed is kept (bulky arrays dropped) in ``OUT/records.jsonl`` (one
line per case; ``--resume`` reuses the lines of a run interrupted with the same purport
commit), then :mod:`score` and :mod:`report` write ``OUT/results.json`` and
``OUT/results.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
import report  # noqa: E402
import score  # noqa: E402

PURPORT = ROOT / ".venv" / "bin" / "purport"
ENV: dict[str, str] = dict(os.environ)
"""The environment of every purport call (``--at`` puts a commit's src/ first on
PYTHONPATH)."""
TIME = "/usr/bin/time"
DROP = ("matched_reference", "trace", "frequency", "snr_db", "reference", "figure")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def helps(*cmd: str) -> str | None:
    """The ``--help`` text of a purport command, None when it does not exist."""
    proc = subprocess.run([str(PURPORT), *cmd, "--help"], capture_output=True, text=True,
                          env=ENV)
    return proc.stdout if proc.returncode == 0 else None


def capabilities() -> dict:
    when = helps("when") or ""
    edits = helps("edits")
    verify = helps("verify") or ""

    def grid_opt(text: str) -> str | None:
        return "--grid-csv" if "--grid-csv" in text else "--grid" if "--grid " in text \
            or "--grid\n" in text else None

    return {"when_grid": grid_opt(when), "edits": edits is not None,
            "edits_grid": grid_opt(edits or ""), "verify_grid": grid_opt(verify)}


def timed(cmd: list[str], timeout: float) -> dict:
    """Run ``cmd`` under /usr/bin/time: rc, stdout (JSON if it parses), wall, cpu, rss."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        full = [TIME, "-f", "%e %U %S %M", "-o", tf.name, *cmd] if Path(TIME).exists() else cmd
        t0 = time.time()
        try:
            proc = subprocess.run(full, capture_output=True, text=True, timeout=timeout,
                                  env=ENV)
        except subprocess.TimeoutExpired:
            return {"rc": None, "error": f"timeout after {timeout:.0f} s",
                    "wall_s": round(time.time() - t0, 2)}
        wall = time.time() - t0
        rec: dict = {"rc": proc.returncode, "wall_s": round(wall, 2)}
        try:
            e, u, s, m = tf.read().strip().splitlines()[-1].split()
            rec.update(wall_s=float(e), cpu_s=round(float(u) + float(s), 2),
                       rss_mb=round(int(m) / 1024, 1))
        except (ValueError, IndexError):
            pass
    if proc.returncode:
        rec["error"] = proc.stderr.strip()[-600:]
        return rec
    try:
        rec["json"] = strip(json.loads(proc.stdout))
    except json.JSONDecodeError:
        rec["error"] = "output is not JSON: " + proc.stdout[:200]
    return rec


def strip(d):
    """The JSON without bulky arrays."""
    if isinstance(d, dict):
        return {k: strip(v) for k, v in d.items() if k not in DROP}
    if isinstance(d, list):
        return [strip(v) for v in d]
    return d


def run_case(case: dict, cases_dir: Path, caps: dict, empty_db: Path, timeout: float) -> dict:
    f = str(cases_dir / case["file"])
    grid = str(cases_dir / "grid.csv")
    rec: dict = {"id": case["id"]}
    when_cmd = [str(PURPORT), "when", f, "--json"]
    if caps["when_grid"]:
        when_cmd[3:3] = [caps["when_grid"], grid]
    w = timed(when_cmd, timeout)
    out = w.pop("json", None)
    rec["when"] = w
    if out is not None:
        rec["when"]["enf"] = out.get("enf")
    if caps["edits"]:
        cmd = [str(PURPORT), "edits", f, "--json"]
        if caps["edits_grid"]:
            cmd += [caps["edits_grid"], grid]
        e = timed(cmd, timeout)
        out = e.pop("json", None)
        rec["edits"] = {**e, "source": "purport edits"}
        if out is not None:
            rec["edits"].update(candidates=out.get("candidates", []),
                                detectors=out.get("detectors"), method=out.get("method"))
    else:
        cmd = [str(PURPORT), "verify", f, "--db", str(empty_db), "--json"]
        if caps["verify_grid"]:
            cmd += [caps["verify_grid"], grid]
        e = timed(cmd, timeout)
        out = e.pop("json", None)
        rec["edits"] = {**e, "source": "purport verify (edits.candidates; purport edits not "
                        "available)"}
        if out is not None:
            ed = out.get("edits") or {}
            rec["edits"].update(candidates=[normalise(c) for c in ed.get("candidates", [])],
                                method=ed.get("method"))
    return rec


def normalise(c: dict) -> dict:
    """A verify candidate (``time``, ``source``, ``detail``) in the edits contract's shape."""
    if "detector" in c:
        return c
    src = c.get("source", "?")
    fam = ("enf" if src.startswith("ENF") else "reuse" if "reuse" in src
           else "voice" if "voice" in src else "other")
    return {"time": c.get("time"), "end": c.get("end"), "detector": src, "family": fam,
            "strength": c.get("strength"), "false_alarms_per_hour": None,
            "detail": c.get("detail")}


def commit() -> str:
    try:
        c = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return c + ("+dirty" if dirty else "")
    except OSError:
        return "?"


def machine() -> dict:
    cpu = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((ln.split(":", 1)[1].strip() for ln in cpu if ln.startswith("model name")), "?")
    mem = next(ln for ln in Path("/proc/meminfo").read_text().splitlines()
               if ln.startswith("MemTotal"))
    return {"cpu_model": model, "nproc": os.cpu_count(),
            "mem_gib": round(int(mem.split()[1]) / 2 ** 20, 1),
            "python": platform.python_version(), "os": platform.platform(),
            "loadavg_start": os.getloadavg(), "purport_commit": commit(),
            "src_status": subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=ROOT,
                                         capture_output=True, text=True).stdout.splitlines()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=Path, required=True, help="a generated set")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated case ids")
    ap.add_argument("--at", default="",
                    help="run purport as committed at this revision (its src/ exported by "
                         "git archive and put first on PYTHONPATH), not the working tree")
    a = ap.parse_args(argv)
    t0 = time.time()
    manifest = json.loads((a.cases / "manifest.json").read_text())
    cases = manifest["cases"]
    if a.only:
        keep = set(a.only.split(","))
        cases = [c for c in cases if c["id"] in keep]
    at_dir = tempfile.TemporaryDirectory()
    if a.at:
        rev = subprocess.run(["git", "rev-parse", "--short", a.at], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout.strip()
        tar = subprocess.run(["git", "archive", rev, "src"], cwd=ROOT, check=True,
                             capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", at_dir.name], input=tar, check=True)
        ENV["PYTHONPATH"] = str(Path(at_dir.name) / "src")
    caps = capabilities()
    facts = machine()
    if a.at:
        facts.update(purport_commit=rev, src_status=[], run_at=f"git archive {rev} src "
                     "(the committed tree, not the working tree)")
        where = subprocess.run([str(PURPORT.parent / "python"), "-c",
                                "import purport; print(purport.__file__)"], env=ENV,
                               capture_output=True, text=True).stdout.strip()
        if not where.startswith(at_dir.name):
            raise SystemExit(f"--at: purport still imports from {where}")
    log(f"{len(cases)} cases at purport {facts['purport_commit']}; capabilities {caps}")
    a.out.mkdir(parents=True, exist_ok=True)
    progress = a.out / "records.jsonl"
    records: dict[str, dict] = {}
    if a.resume and progress.is_file():
        for line in progress.read_text().splitlines():
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            if r.get("commit") == facts["purport_commit"]:
                records[r["id"]] = r
        log(f"resuming: {len(records)} cases done")
    todo = sorted((c for c in cases if c["id"] not in records), key=lambda c: -c["duration"])
    with tempfile.TemporaryDirectory() as tmp, open(progress, "a" if a.resume else "w") as fh:
        empty = Path(tmp) / "empty.db"
        if not caps["edits"]:
            subprocess.run([str(PURPORT), "init", "--db", str(empty)], check=True, env=ENV,
                           capture_output=True)
        with ThreadPoolExecutor(a.jobs) as pool:
            futs = [pool.submit(run_case, c, a.cases, caps, empty, a.timeout) for c in todo]
            for i, fut in enumerate(futs, 1):
                r = fut.result()
                r["commit"] = facts["purport_commit"]
                records[r["id"]] = r
                fh.write(json.dumps(r) + "\n")
                fh.flush()
                if i % 10 == 0 or i == len(futs):
                    log(f"  {i}/{len(futs)} cases, {(time.time() - t0) / 60:.1f} min")
    recs = [records[c["id"]] for c in cases]
    res = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(shlex.quote(x) for x in [".venv/bin/python", "bench/edits/run.py",
                                                      *(argv or sys.argv[1:])]),
        "wall_s": round(time.time() - t0, 1), "jobs": a.jobs, "machine": facts,
        "capabilities": caps,
        "set": {k: manifest[k] for k in ("format", "seed", "scale", "created", "command",
                                         "generate_s", "grid") if k in manifest}
        | {"dir": str(a.cases), "cases": len(cases),
           "hours": round(sum(c["duration"] for c in cases) / 3600, 3)},
    }
    if not a.at:
        res["machine"]["purport_commit_end"] = commit()
        res["machine"]["src_status_end"] = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], cwd=ROOT, capture_output=True,
            text=True).stdout.splitlines()
    res.update(score.score(cases, recs))
    res["records"] = recs
    (a.out / "results.json").write_text(json.dumps(res, indent=1))
    (a.out / "results.md").write_text(report.render(res))
    log(f"wrote {a.out / 'results.md'} ({(time.time() - t0) / 60:.1f} min)")
    for t in res["targets"]:
        log(f"  {t['verdict']}: {t['target']}: {t['measured']}")


if __name__ == "__main__":
    main()
