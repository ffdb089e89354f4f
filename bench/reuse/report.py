"""results.md: the table of recall and errors per degradation, the summary, and failures."""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
from pathlib import Path

import numpy as np
import sweep
import targets

HERE = Path(__file__).resolve().parent
MAX_FAILURES = 3


def machine_facts() -> dict:
    """CPU count and model, memory, Python/numpy versions, git commit of the checkout."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem = next(line for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))
        mem_gb = int(mem.split()[1]) / 1024**2
    except (OSError, StopIteration):
        mem_gb = math.nan
    return {"nproc": os.cpu_count(), "cpu": model, "mem_gb": round(mem_gb, 1),
            "python": platform.python_version(), "numpy": np.__version__,
            "git": _git("rev-parse", "--short", "HEAD"),
            "reuse_src_dirty": bool(_git("status", "--porcelain", "--", "src/purport/reuse"))}


def _git(*args: str) -> str:
    """Output of a read-only git command in the checkout ('' when unavailable)."""
    try:
        return subprocess.run(["git", *args], cwd=HERE, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def corpus_facts(rows: list[dict], negatives: list[dict], args) -> dict:
    """Hours and recordings of the indexed and negative corpus, by source."""
    def by_source(rs):
        out: dict[str, float] = {}
        for r in rs:
            key = f"{r['source']}:{r['lang']}"
            out[key] = round(out.get(key, 0.0) + r["duration"] / 3600, 3)
        return out

    return {"hours": sum(r["duration"] for r in rows) / 3600, "recordings": len(rows),
            "negative_hours": sum(r["duration"] for r in negatives) / 3600,
            "negative_recordings": len(negatives), "by_source": by_source(rows),
            "negative_by_source": by_source(negatives), "seed": args.seed,
            "queries_per_cell": args.queries_per_cell,
            "negatives_per_cell": args.negatives_per_cell,
            "baseline_queries_per_cell": args.baseline_queries_per_cell,
            "fresh_negatives": args.fresh_negatives}


# --- formatting --------------------------------------------------------------------------


def pct(x) -> str:
    """A share as a percentage, '-' when absent."""
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.0f}"


def num(x, fmt: str = ".2f") -> str:
    """A number, '-' when absent or NaN."""
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, fmt)


def recall_cells(cells: dict, method: str, deg: str, lengths: list) -> list[str]:
    """Recall per length (percent) for one method and degradation."""
    cell = cells.get(method, {}).get(deg)
    if not cell:
        return ["-"] * len(lengths)
    return [pct(cell["recall"].get(length, cell["recall"].get(str(length))))
            for length in lengths]


def table(results: dict) -> str:
    """The main table: one row per degradation."""
    lengths, cells = results["lengths"], results["cells"]
    base = "fpcalc" if "fpcalc" in cells else None
    head = [f"purport R@{n}s" for n in lengths]
    if base:
        head += [f"fpcalc R@{n}s (cal)" for n in lengths]
    head += ["ref err s med/p95", "query err s med/p95", "time f. err med",
             "pitch f. err med", "FP neg purport"]
    if base:
        head += ["FP neg fpcalc"]
    lines = ["| degradation | " + " | ".join(head) + " |",
             "|---" * (len(head) + 1) + "|"]
    for deg in results["degradations"]:
        p = cells.get("purport", {}).get(deg, {})
        row = recall_cells(cells, "purport", deg, lengths)
        if base:
            raw = recall_cells(cells, base, deg, lengths)
            cal = recall_cells(cells, "fpcalc-cal", deg, lengths)
            row += [f"{a} ({b})" for a, b in zip(raw, cal, strict=True)]
        row += [_med_p95(p.get("boundary_err")), _med_p95(p.get("query_err")),
                num(p.get("time_factor_err", {}).get("median"), ".3f"),
                num(p.get("pitch_factor_err", {}).get("median"), ".3f"),
                _fp(p)]
        if base:
            row.append(_fp(cells[base].get(deg, {})))
        lines.append(f"| {deg} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def _med_p95(q: dict | None) -> str:
    """'median / p95' of a quantiles dict."""
    return f"{num(q.get('median'))} / {num(q.get('p95'))}" if q else "-"


def _fp(cell: dict) -> str:
    """'false positives / negatives' for one cell."""
    return f"{cell['false_positives']}/{cell['negatives']}" if cell.get("negatives") else "-"


def summary(results: dict) -> str:
    """Ingest, latency, index size, memory, false positives, machine and command."""
    ov, ing, hours = results["overall"], results["ingest"], results["corpus"]["hours"]
    methods = [m for m in ("purport", "fpcalc") if m in ov or m in ing]
    lines = ["| | " + " | ".join(methods) + " |", "|---" * (len(methods) + 1) + "|"]

    def row(label, fn):
        lines.append(f"| {label} | " + " | ".join(fn(m) for m in methods) + " |")

    row("ingest, x real time (audio s / CPU s, 1 core)",
        lambda m: num(ing.get(m, {}).get("x_realtime"), ".0f"))
    row("query latency median / p95, s",
        lambda m: f"{num(ov.get(m, {}).get('latency_median_s'), '.3f')} / "
                  f"{num(ov.get(m, {}).get('latency_p95_s'), '.3f')}")
    row("of which match() median / p95, s",
        lambda m: f"{num(ov.get(m, {}).get('match_median_s'), '.3f')} / "
                  f"{num(ov.get(m, {}).get('match_p95_s'), '.3f')}")
    row("index MB per hour of audio",
        lambda m: num(ing.get(m, {}).get("nbytes", math.nan) / 1e6 / max(hours, 1e-9), ".2f"))
    row("false positives per 1000 negative queries",
        lambda m: num(ov.get(m, {}).get("fp_per_1000"), ".1f"))
    row("recall, all positive cells",
        lambda m: pct(ov.get(m, {}).get("recall")))
    cal = results.get("baseline_calibrated_ber") or {}
    cal_text = ", ".join(f"{k} s: {num(v, '.3f')}" for k, v in cal.items())
    c = results["corpus"]
    mach = results["machine"]
    purport_ing = ing.get("purport", {})
    extra = [""]
    if "fpcalc" in results["cells"]:
        extra.append(
            f"- fpcalc threshold: BER < {results['baseline_ber']}. At the largest threshold "
            f"per query length with no false positive on these negatives ({cal_text}), "
            f"fpcalc's recall over all positive cells is "
            f"{pct(ov.get('fpcalc-cal', {}).get('recall'))} % (column 'fpcalc-cal' in "
            "results.json).")
    recipe = results.get("recipe") or {"name": "base", "summary": "the original corpus"}
    extra += [
        f"- recipe `{recipe['name']}`: {recipe['summary']}.",
        f"- purport index: {purport_ing.get('hashes', '-')} hashes, "
        f"{num(purport_ing.get('nbytes', math.nan) / 1e6, '.1f')} MB in memory; RSS grew "
        f"{num(purport_ing.get('rss_increase_mb'), '.0f')} MB while fingerprinting and "
        f"indexing; index.add took {num(purport_ing.get('index_add_wall_s'), '.1f')} s.",
        f"- peak RSS of the benchmark process (ru_maxrss): {results['peak_rss_mb']:.0f} MB.",
        f"- corpus: {c['hours']:.2f} h indexed in {c['recordings']} recordings "
        f"({_sources(c['by_source'])}); {c['negative_hours']:.2f} h negative in "
        f"{c['negative_recordings']} recordings ({_sources(c['negative_by_source'])}); "
        f"seed {c['seed']}.",
        f"- queries: {c['queries_per_cell']} positive and {c['negatives_per_cell']} negative per "
        "(length, degradation) cell; "
        + (f"fpcalc on the first {c['baseline_queries_per_cell']} of each; "
           if "fpcalc" in results["cells"] else "no fpcalc baseline in this run; ")
        + "negatives "
        + ("cut afresh for every degradation (every negative query is another cut)."
           if c.get("fresh_negatives") else "the same cuts under every degradation."),
        f"- machine: {mach['nproc']} CPUs, {mach['cpu']}, {mach['mem_gb']} GB; Python "
        f"{mach['python']}, numpy {mach['numpy']}; checkout at git {mach['git']}"
        f"{' (src/purport/reuse modified)' if mach['reuse_src_dirty'] else ''} at the start"
        f"{measured_code(mach)}.",
        f"- date: {results['date']}; wall time {results['wall_s'] / 60:.1f} min.",
        f"- command: `{results['command']}`",
    ]
    return "\n".join(lines + extra)


def measured_code(mach: dict) -> str:
    """', reuse sources <path> <hash>' (and a warning if they changed during the run)."""
    if "reuse_src_hash" not in mach:
        return ""
    changed = " (CHANGED during the run)" if mach.get("reuse_src_changed_during_run") else ""
    return f", reuse sources {mach['reuse_src']} {mach['reuse_src_hash']}{changed}"


def _sources(by: dict) -> str:
    return ", ".join(f"{k} {v:.2f} h" for k, v in sorted(by.items()))


def latency_table(results: dict) -> str:
    """Latency per query length."""
    lat = results["latency_by_length"]
    methods = [m for m in ("purport", "fpcalc") if lat.get(m)]
    lines = ["| length | " + " | ".join(f"{m} med / p95 s" for m in methods) + " |",
             "|---" * (len(methods) + 1) + "|"]
    for n in results["lengths"]:
        cells = []
        for m in methods:
            v = lat[m].get(n, lat[m].get(str(n), {}))
            cells.append(f"{num(v.get('median'), '.3f')} / {num(v.get('p95'), '.3f')}")
        lines.append(f"| {n} s | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def calibration(results: dict) -> str:
    """How often chance alone (negative queries) reaches each false-match probability."""
    cal = results.get("fmp_calibration")
    if not cal:
        return "not measured (the matcher has no max_false_match argument)"
    cells = " | ".join(f"{100 * v:.1f} %" for v in cal["below"].values())
    head = " | ".join(f"< {k}" for k in cal["below"])
    return (f"Best candidate of each of {cal['negatives']} negative queries with the matcher's "
            "significance level opened up (`max_false_match=1`): share whose false-match "
            "probability falls below each level. Calibrated estimates give about the level "
            f"itself, conservative ones less; smallest seen: {cal['min']:.1e}. "
            + _calibration_reading(cal) + f"\n\n| {head} |\n"
            + "|---" * len(cal["below"]) + f"|\n| {cells} |")


def _calibration_reading(cal: dict) -> str:
    """One sentence on what the shares say: conservative, about right, or too low."""
    n = cal["negatives"]
    low = [k for k, v in cal["below"].items() if v > 2 * float(k) + 3 / n]
    if low:
        return (f"At {', '.join(low)} chance reaches the level more often than it should: the "
                "estimate under-states the false-match probability there.")
    return ("No level is reached more often than it should be (within the noise of "
            f"{n} queries): the estimate errs on the side of over-stating the probability.")


def level_sweep(results: dict) -> str:
    """Recall and false positives over the positive / negative queries at other levels."""
    rows = results.get("fmp_sweep")
    if not rows:
        return ""
    lines = ["If the matcher reported matches up to other false-match probabilities "
             "(`max_false_match`), from the candidates it rejected (top 3 kept per query):",
             "", "| max_false_match | recall, all positive cells | false positives |",
             "|---|---|---|"]
    lines += [f"| {r['level']:g} | {pct(r['recall'])} % | {r['false_positives']}/"
              f"{r['negatives']} |" for r in rows]
    return "\n".join(lines)


def describe_match(m: dict) -> str:
    """One match in a few words."""
    fmp = m.get("false_match_probability")
    extra = f", fmp {fmp:.1e}" if isinstance(fmp, float) and not math.isnan(fmp) else ""
    if "ber" in m:
        extra += f", BER {m['ber']:.3f}"
    return (f"rec {m['recording_id']} ref {m['ref_start']:.1f}-{m['ref_end']:.1f} "
            f"q {m['query_start']:.1f}-{m['query_end']:.1f} "
            f"tf {m.get('time_factor', 1):.3f} pf {m.get('pitch_factor', 1):.3f}{extra}")


def failures(results: dict, method: str = "purport") -> str:
    """A few misses and false positives per degradation, to see what goes wrong."""
    lines = []
    for deg in results["degradations"]:
        bad = [r for r in results["records"] if r["method"] == method
               and r["degradation"] == deg and ((r["kind"] == "positive" and not r["found"])
                                                or (r["kind"] == "negative" and r["n_matches"]))]
        for r in bad[:MAX_FAILURES]:
            truth = "; ".join(f"rec {t['rec']} ref {t['ref_start']:.1f}-{t['ref_end']:.1f}"
                              for t in r["truth"])
            got = " | ".join(describe_match(m) for m in r["matches"][:2]) or "no match"
            if not r["matches"] and r.get("candidates"):
                got += "; best rejected candidate: " + describe_match(r["candidates"][0])
            lines.append(f"- {deg} {r['qid']} ({r['kind']}, truth {truth}): {got}")
        if len(bad) > MAX_FAILURES:
            lines.append(f"- {deg}: ... {len(bad) - MAX_FAILURES} more")
    return "\n".join(lines) if lines else "none"


def load_scale(folder: Path) -> dict | None:
    """The 100-hour latency figures that scale.py wrote into `folder`, if it did."""
    path = folder / "scale.json"
    return json.loads(path.read_text()) if path.exists() else None


def scale_text(scale: dict | None) -> str:
    """The 100-hour latency section."""
    if not scale:
        return "not measured in this folder (run `bench/reuse/scale.py --out <this folder>`)"
    return (f"`{scale['command']}` ({scale['date']}): the {scale['base_hours']:.1f}-hour "
            f"corpus indexed {scale['copies']} times with permuted hashes = "
            f"{scale['hours']:.1f} h, {scale['entries'] / 1e6:.1f} M triplets, "
            f"{scale['nbytes'] / 1e6:.0f} MB in memory, built in {scale['build_s']:.1f} s; "
            f"{scale['queries']} ten-second queries cut from the corpus: fingerprint median "
            f"{scale['fingerprint_median_s']:.3f} s, match() median "
            f"{scale['match_median_s']:.3f} s, p95 {scale['match_p95_s']:.3f} s; "
            f"{scale['found']}/{scale['queries']} found.")


def _sweep_intro(swept: dict | None) -> str:
    """What the sweep table shows."""
    if not swept:
        return ""
    return (f"Clean cuts every {swept['step']:g} s over every indexed recording; *placed*: "
            f"top match the right recording with its reference start within "
            f"{targets.LOCALISATION_S} s; *boundary*: the right alignment, but the span starts "
            "elsewhere; *wrong*: another recording or alignment on top; *none*: no match (in "
            "brackets: how many had the truth among the candidates the significance level "
            f"rejected). Target: all placed. {swept['wall_s'] / 60:.1f} min.")


def markdown(results: dict, scale: dict | None = None) -> str:
    """The whole results.md (`scale`: scale.py's 100-hour figures, if measured)."""
    return "\n\n".join([
        "# Reuse benchmark results",
        "Recall (R@n s: % of n-second queries whose top match is the right recording and "
        "overlaps the true span; splice: both parts among the matches; fpcalc in brackets: at "
        "the zero-false-positive BER threshold), boundary errors of found matches in the "
        "reference (|ref start error| and |ref end error| pooled, seconds) and in the query "
        "(|query start error|, |query end error|), median "
        "absolute error of the estimated time and pitch factors, and false positives on "
        "negative queries (queries with any match / negative queries). See README.md.",
        table(results),
        "## The issue's targets for 10-s queries",
        "Point estimates with one-sided 95 % Clopper-Pearson bounds: *shown* when the bound "
        "clears the target, *met* when only the point estimate does (more queries needed to "
        "show it), *missed* otherwise. Cells absent from this run are not listed.",
        targets.table(results, scale),
        "## Summary",
        summary(results),
        "## Latency by query length",
        latency_table(results),
        "## purport false-match probability on negatives",
        calibration(results),
        level_sweep(results),
        "## Whole-recording sweep (clean cuts)",
        _sweep_intro(results.get("sweep")),
        sweep.table(results.get("sweep")),
        sweep.failures(results.get("sweep")),
        "## purport failures (first few per degradation)",
        failures(results),
        "## Latency at 100 hours",
        scale_text(scale),
    ]) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Rebuild results.md from a results.json (default: the one next to this file)."""
    import argparse
    import sys

    sys.path.insert(0, str(HERE))
    import scoring

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("results", type=Path, help="a run's results.json (runs/<name>/...)")
    args = ap.parse_args(argv)
    results = json.loads(args.results.read_text())
    results.setdefault("fmp_sweep", scoring.fmp_sweep(results["records"]))
    results.setdefault("fmp_calibration", scoring.fmp_calibration(results["records"]))
    args.results.with_suffix(".md").write_text(
        markdown(results, load_scale(args.results.parent)))


if __name__ == "__main__":
    main()
