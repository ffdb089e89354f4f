"""Run the reuse matcher over a whole-message case set and score it against the truth.

    .venv/bin/python bench/cases/run.py --cases bench/cases/.cache/dev-small [--verify]

Builds a temporary purport archive of the set's releases (role reference, the set's
speaker), then for every case runs the matcher through the public API (``match_file``, and
``match_file(..., self_match=True)`` on the cases with a planted repeat), each call in a
fresh process so its time and peak memory are its own, and with ``--verify`` also times
``purport verify`` end to end in a subprocess. Writes ``results.json`` (every excerpt,
false span and repeat) and ``results.md`` (see report.py) into ``--out`` (default
``bench/cases/<name of the cases folder>``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report  # noqa: E402
import score  # noqa: E402
from truth import TruthPiece, TruthRepeat  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


# --- the matcher, wherever it lives -------------------------------------------------------


def matcher():
    """``match_file(archive, path, *, self_match=False)``: from the service layer
    (``purport.assess.reuse``) or, in older trees, ``purport.reuse.search``."""
    try:
        from purport.assess.reuse import match_file
    except ImportError:
        from purport.reuse.search import match_file
    return match_file


def warm_index(archive) -> None:
    """Build the index's memory-mappable cache once, so no case pays for it (best effort)."""
    for module in ("purport.assess.reuse", "purport.reuse.search"):
        try:
            load_index = __import__(module, fromlist=["load_index"]).load_index
        except (ImportError, AttributeError):
            continue
        load_index(archive)
        return


# --- runs in child processes --------------------------------------------------------------


def child_match(db: str, path: str, self_match: bool) -> dict:
    """One ``match_file`` call in this (fresh) process: the report and what it cost."""
    import resource

    from purport.archive import Archive

    match_file = matcher()
    with Archive(db) as archive:
        wall, cpu = time.perf_counter(), time.process_time()
        found = match_file(archive, path, self_match=self_match)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"report": found.to_dict(), "wall_s": wall, "cpu_s": cpu, "peak_rss_mb": peak}


def isolated(fn, *args):
    """Call `fn(*args)` in a fresh spawned process (its peak RSS is its own) and return."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context, max_tasks_per_child=1) as pool:
        return pool.submit(fn, *args).result()


def measured_match(db: Path, path: Path, duration: float, self_match: bool
                   ) -> tuple[dict, score.Measure]:
    """The match report of one case and its cost."""
    out = isolated(child_match, str(db), str(path), self_match)
    return out["report"], score.Measure(
        wall_s=round(out["wall_s"], 2), cpu_s=round(out["cpu_s"], 2),
        x_real_time=round(duration / max(out["wall_s"], 1e-6), 1),
        peak_rss_mb=round(out["peak_rss_mb"], 1))


def measured_verify(db: Path, path: Path, speaker: str, duration: float, work: Path
                    ) -> score.Measure:
    """``purport verify --json`` on one case in a subprocess: wall time and the child's own
    CPU time and peak RSS (from ``wait4``)."""
    cmd = [sys.executable, "-m", "purport", "verify", str(path), "--claimed-speaker", speaker,
           "--db", str(db), "--json"]
    out, err = work / f"{path.stem}.verify.json", work / f"{path.stem}.verify.err"
    t0 = time.perf_counter()
    with out.open("w") as fh_out, err.open("w") as fh_err:
        proc = subprocess.Popen(cmd, stdout=fh_out, stderr=fh_err)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    note = "" if proc.returncode == 0 else err.read_text()[-300:].strip()
    return score.Measure(wall_s=round(wall, 2), cpu_s=round(usage.ru_utime + usage.ru_stime, 2),
                         x_real_time=round(duration / wall, 1),
                         peak_rss_mb=round(usage.ru_maxrss / 1024, 1),
                         returncode=proc.returncode, note=note)


# --- the archive --------------------------------------------------------------------------


def build_archive(cases: Path, manifest: dict, work: Path) -> tuple[Path, dict]:
    """A fresh purport archive of the set's releases; its path and the ingest cost."""
    from purport import ingest
    from purport.archive import Archive, Provenance

    db = work / "bench.db"
    archive = Archive.init(str(db))
    archive.add_speaker(manifest["speaker"])
    wall, cpu = time.perf_counter(), time.process_time()
    for rel in manifest["archive"]:
        provenance = Provenance(outlet="Bench Media", channel="telegram",
                                released=_date(rel["date"]))
        ingest.add_files(archive, [cases / rel["path"]], role="reference",
                         speaker=manifest["speaker"], provenance=provenance)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    warm_index(archive)
    archive.close()
    seconds = sum(r["duration"] for r in manifest["archive"])
    return db, {"recordings": len(manifest["archive"]), "hours": round(seconds / 3600, 3),
                "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
                "x_real_time": round(seconds / wall, 1)}


def _date(text: str):
    """An ISO date string as a date."""
    import datetime as dt

    return dt.date.fromisoformat(text)


# --- one case -----------------------------------------------------------------------------


def run_case(case: dict, cases: Path, db: Path, args: argparse.Namespace, work: Path,
             speaker: str) -> tuple[score.CaseResult, list, list, list]:
    """Match, score and time one case: (case result, excerpts, false spans, repeats)."""
    path = cases / case["path"]
    pieces = [TruthPiece.from_dict(p) for p in case["pieces"]]
    repeats = [TruthRepeat.from_dict(r) for r in case["repeats"]]
    found, match_cost = measured_match(db, path, case["duration"], self_match=False)
    matches = found["matches"]
    excerpts = [score.score_piece(p, matches, case) for p in pieces]
    false = score.false_spans(matches, pieces, case["name"])
    for f in false:
        f.query_text = text_at(path, f.query_start, f.query_end)
        f.ref_text = text_at(archive_path(cases, f.recording), f.ref_start, f.ref_end)
    result = score.CaseResult(
        name=case["name"], kind=case["kind"], minutes=round(case["duration"] / 60, 2),
        codec=case["encoding_label"], fresh_seconds=case["fresh_seconds"], pieces=len(pieces),
        found=sum(e.found for e in excerpts), spans=len(matches),
        false_spans=sum(f.what == "fresh" for f in false),
        wrong_source=sum(f.what == "wrong-source" for f in false), match=match_cost,
        summary=found.get("summary", ""))
    repeat_results: list[score.RepeatResult] = []
    if repeats or args.self_all:
        repeated, result.self_match = measured_match(db, path, case["duration"],
                                                     self_match=True)
        repeat_results, self_false = score.score_repeats(repeated["matches"], repeats,
                                                         case["name"])
        for f in self_false:
            f.query_text = text_at(path, f.query_start, f.query_end)
            f.ref_text = text_at(path, f.ref_start, f.ref_end)
        false += self_false
        result.repeats, result.repeats_found = len(repeats), sum(r.found for r in repeat_results)
        result.self_false_spans = len(self_false)
    if args.verify:
        result.verify = measured_verify(db, path, speaker, case["duration"], work)
    return result, excerpts, false, repeat_results


def archive_path(cases: Path, name: str) -> Path:
    """The archive file of a recording name."""
    return cases / "archive" / name


def text_at(path: Path, start: float, end: float, width: int = 160) -> str:
    """The paragraphs of a recording's transcript (``<file>.txt``, one ``[start] text`` line
    per paragraph) that overlap [start, end] s, shortened to `width` characters."""
    transcript = path.with_suffix(path.suffix + ".txt")
    if not transcript.exists():
        return ""
    rows = []
    for line in transcript.read_text(encoding="utf-8").splitlines():
        if line.startswith("[") and "]" in line:
            rows.append((float(line[1:line.index("]")]), line[line.index("]") + 1:].strip()))
    chosen = [text for i, (t, text) in enumerate(rows)
              if t <= end and (i + 1 == len(rows) or rows[i + 1][0] >= start)]
    joined = " / ".join(chosen)
    return joined if len(joined) <= width else joined[: width - 3] + "..."


# --- the run ------------------------------------------------------------------------------


def machine() -> dict:
    """CPU model, cores, memory and load of this machine."""
    model = ""
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        model = platform.processor()
    mem = 0.0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem = int(line.split()[1]) / 1024**2
    return {"cpu": model, "cores": os.cpu_count(), "memory_gb": round(mem, 1),
            "load_at_start": list(os.getloadavg()), "python": platform.python_version()}


def git_state() -> dict:
    """HEAD, whether the tree has changes, and a digest of the uncommitted changes to
    ``src/`` (the matcher's code is then not HEAD's: the digest tells two trees apart)."""
    def git(*cmd: str) -> str:
        return subprocess.run(["git", *cmd], capture_output=True, text=True, cwd=REPO).stdout

    head = git("rev-parse", "HEAD").strip() or "unknown"
    digest = hashlib.sha256(git("diff", "HEAD", "--", "src").encode())
    for name in sorted(git("ls-files", "--others", "--exclude-standard", "src").split()):
        digest.update(name.encode() + (REPO / name).read_bytes())
    changed = bool(git("status", "--porcelain", "--", "src").strip())
    return {"commit": head, "src_changed": changed,
            "src_diff_sha256": digest.hexdigest()[:12] if changed else None}


def main(argv: list[str] | None = None) -> None:
    """Command line: build the archive, run every case, write results.json and .md."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=Path, required=True, help="a folder made by generate.py")
    ap.add_argument("--out", type=Path, default=None,
                    help="results folder (default bench/cases/<cases folder name>)")
    ap.add_argument("--verify", action="store_true",
                    help="also time `purport verify` end to end on every case")
    ap.add_argument("--self-all", action="store_true",
                    help="run the --self search on every case, not only the planted repeats")
    ap.add_argument("--only", default="", help="comma-separated case names to run (a subset)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary archive")
    args = ap.parse_args(argv)
    manifest = json.loads((args.cases / "manifest.json").read_text())
    out = args.out or HERE / args.cases.resolve().name
    wanted = {n for n in args.only.split(",") if n}
    cases = [c for c in manifest["cases"] if not wanted or c["name"] in wanted]
    meta = {"command": " ".join(["bench/cases/run.py", *(argv or sys.argv[1:])]),
            "date": time.strftime("%Y-%m-%d %H:%M %Z"), "machine": machine(),
            "git": git_state(), "matcher": f"{matcher().__module__}.match_file"}
    work = Path(tempfile.mkdtemp(prefix="purport-cases-"))
    try:
        log(f"archive: ingesting {len(manifest['archive'])} releases into {work}")
        db, ingest = build_archive(args.cases, manifest, work)
        log(f"  {ingest['hours']:.2f} h in {ingest['wall_s']} s ({ingest['x_real_time']}x)")
        if args.verify:
            warm_verify(db, args.cases, manifest["cases"], manifest["speaker"], work)
        results, excerpts, false, repeats = [], [], [], []
        for case in cases:
            r, e, f, p = run_case(case, args.cases, db, args, work, manifest["speaker"])
            results.append(r)
            excerpts += e
            false += f
            repeats += p
            log(case_line(r))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    meta["machine"]["load_at_end"] = list(os.getloadavg())
    data = {"meta": meta,
            "set": {"cases_dir": str(args.cases), "seed": manifest["seed"],
                    "scale": manifest["scale"], "totals": manifest["totals"],
                    "generated": manifest.get("generated", {}), "subset": sorted(wanted)},
            "ingest": ingest, "cases": [r.to_dict() for r in results],
            "excerpts": [e.to_dict() for e in excerpts],
            "false_spans": [f.to_dict() for f in false],
            "repeats": [r.to_dict() for r in repeats]}
    data["targets"] = [t.to_dict() for t in score.targets(
        data["excerpts"], data["cases"], data["false_spans"])]
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(data, indent=1))
    (out / "results.md").write_text(report.render(data))
    log(f"wrote {out / 'results.json'} and results.md")


def warm_verify(db: Path, cases: Path, every: list[dict], speaker: str, work: Path) -> None:
    """One untimed ``verify`` of the set's shortest case first (run or not): the reference
    voice embeddings and other per-archive caches are then built, as in an archive in use."""
    shortest = min(every, key=lambda c: c["duration"])
    log(f"verify warm-up on {shortest['name']} (untimed)")
    measured_verify(db, cases / shortest["path"], speaker, shortest["duration"], work)


def case_line(r: score.CaseResult) -> str:
    """One progress line per case."""
    line = (f"{r.name:26s} {r.minutes:5.1f} min  found {r.found}/{r.pieces}  "
            f"false {r.false_spans}  wrong {r.wrong_source}  "
            f"match {r.match.x_real_time:.0f}x {r.match.peak_rss_mb:.0f} MB")
    if r.self_match:
        line += f"  self {r.repeats_found}/{r.repeats} (+{r.self_false_spans})"
    if r.verify:
        line += f"  verify {r.verify.x_real_time:.0f}x {r.verify.peak_rss_mb:.0f} MB"
        if r.verify.returncode:
            line += f" rc {r.verify.returncode}"
    return line


def log(message: str) -> None:
    """Progress on stderr."""
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
