"""Tables and Tippett plots of a casework run (``casework.py``): worst condition first.

    .venv/bin/python bench/voice/casework_report.py bench/voice/casework-dev
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

TARGET_RECIPES = ("noise15-20+opus16", "noise15-20+phone+opus16")


def fmt(v, pct=False, digits=3):
    if v is None:
        return "-"
    return f"{100 * v:.1f}" if pct else f"{v:.{digits}f}"


def targets(cells: list[dict]) -> list[str]:
    """The issue's targets, each with the worst cell it applies to."""
    out = []
    strong = [(c["conditions"]["strong_same"] or 0) + (c["conditions"]["strong_diff"] or 0)
              for c in cells]
    v2 = [(c.get("v2") or {}).get("strong_same", 0) or 0 for c in cells]
    out.append(f"| strongly misleading evidence 0 % in every condition | worst cell "
               f"{100 * max(strong):.2f} % (shipped v2 calibration before: same-speaker "
               f"trials strongly misleading in up to {100 * max(v2):.0f} % of a cell) | "
               f"{'met' if max(strong) == 0 else 'MISSED'} |")
    tgt = [c for c in cells if c["recipe"] in TARGET_RECIPES and c["duration"] >= 15
           and c["ref"] == "mp3"]
    worst_eer = max(tgt, key=lambda c: c["conditions"]["eer"])
    worst_cllr = max(tgt, key=lambda c: c["conditions"]["cllr"])
    e, k = worst_eer["conditions"]["eer"], worst_cllr["conditions"]["cllr"]
    out.append(f"| >= 10 s net, Opus 16k or phone with noise >= 15 dB vs MP3 references: "
               f"EER <= 10 % | worst {100 * e:.1f} % ({worst_eer['source']}, "
               f"{worst_eer['duration']:g} s, {worst_eer['recipe']}) | "
               f"{'met' if e <= 0.10 else 'MISSED'} |")
    out.append(f"| same: Cllr <= 0.5 | worst {k:.3f} ({worst_cllr['source']}, "
               f"{worst_cllr['duration']:g} s, {worst_cllr['recipe']}) | "
               f"{'met' if k <= 0.5 else 'MISSED'} |")
    clean = [c for c in cells if c["recipe"] == "clean"]
    worse = [c for c in clean if c["conditions"]["cllr"] > c["legacy"]["cllr"] + 0.02]
    out.append(f"| clean conditions stay at today's figures (Cllr within 0.02 of the legacy "
               f"method) | {len(worse)} of {len(clean)} clean cells worse; worst "
               f"{max(c['conditions']['cllr'] for c in clean):.3f} against "
               f"{max(c['legacy']['cllr'] for c in clean):.3f} | "
               f"{'met' if not worse else 'MISSED'} |")
    return out


def table(cells: list[dict], source: str) -> list[str]:
    rows = [c for c in cells if c["source"] == source]
    rows.sort(key=lambda c: -c["conditions"]["cllr"])
    out = ["| net s | questioned | refs | same / diff | EER % legacy / new | Cllr_min new | "
           "Cllr shipped v2 | Cllr legacy | Cllr new | misleading same / diff % (new) | "
           "strongly misleading same / diff % (shipped v2; legacy; new) | no LR % | lowest "
           "same / highest diff log10 LR (shipped v2; new) | median measured net s |",
           "|" + "---|" * 14]
    for c in rows:
        L, C, V = c["legacy"], c["conditions"], c.get("v2") or {}
        out.append(
            f"| {c['duration']:g} | {c['recipe']} | {c['ref']} | {C['n_same']} / {C['n_diff']} "
            f"| {fmt(L['eer'], True)} / {fmt(C['eer'], True)} | {fmt(C['cllr_min'])} | "
            f"{fmt(V.get('cllr'))} | "
            f"{fmt(L['cllr'])} | {fmt(C['cllr'])} | {fmt(C['misleading_same'], True)} / "
            f"{fmt(C['misleading_diff'], True)} | {fmt(V.get('strong_same'), True)} / "
            f"{fmt(V.get('strong_diff'), True)}; {fmt(L['strong_same'], True)} / "
            f"{fmt(L['strong_diff'], True)}; {fmt(C['strong_same'], True)} / "
            f"{fmt(C['strong_diff'], True)} | {fmt(C['no_lr'], True)} | "
            f"{fmt(V.get('worst_same'), digits=2)} / {fmt(V.get('worst_diff'), digits=2)}; "
            f"{fmt(C['worst_same'], digits=2)} / {fmt(C['worst_diff'], digits=2)} | "
            f"{C['net_median']:.1f} |")
    return out


def tippett(trials: list[dict], source: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recipes = sorted({t["recipe"] for t in trials})
    durations = sorted({t["duration"] for t in trials if t["source"] == source})
    fig, axes = plt.subplots(len(recipes), len(durations), figsize=(3 * len(durations),
                                                                     2.2 * len(recipes)),
                             sharex=True, sharey=True, squeeze=False)
    grid = np.linspace(-3.5, 3.5, 300)
    for i, recipe in enumerate(recipes):
        for j, d in enumerate(durations):
            ax = axes[i][j]
            ts = [t for t in trials if t["source"] == source and t["recipe"] == recipe
                  and t["duration"] == d and t["ref"] == "mp3"]
            if not ts:
                ax.axis("off")
                continue
            for method, style in (("legacy", ":"), ("conditions", "-")):
                same = np.array([t[method] or 0.0 for t in ts if t["same"]])
                diff = np.array([t[method] or 0.0 for t in ts if not t["same"]])
                if len(same):
                    ax.plot(grid, [(same <= g).mean() for g in grid], "b" + style, lw=1)
                if len(diff):
                    ax.plot(grid, [(diff >= g).mean() for g in grid], "r" + style, lw=1)
            ax.axvline(0, color="k", lw=0.5)
            ax.set_title(f"{d:g} s, {recipe}", fontsize=7)
    fig.supxlabel("log10 LR (solid: per-condition calibration; dotted: legacy)")
    fig.supylabel("same <= x (blue), different >= x (red)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def add_v2(folder: Path, result: dict, trials: list[dict]) -> None:
    """Rate every trial with purport's shipped calibration before issue 14 as it was used
    (``legacy_default_v2.json``: one clean fit, scores outside its range given the range
    end's LR, references as they are), and add its metrics to each cell. Not
    speaker-disjoint for FSDD (fitted on FSDD takes 0-47 of the same four speakers)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import casework
    from casework import cal_mod

    v2 = cal_mod.Calibration.from_dict(json.loads(
        (Path(__file__).resolve().parent / "legacy_default_v2.json").read_text()))
    for t in trials:
        t["v2"] = v2.llr(t["score"]) / cal_mod.LN10
    by_cell: dict = {}
    for t in trials:
        by_cell.setdefault((t["source"], t["duration"], t["recipe"], t["ref"]), []).append(t)
    for c in result["cells"]:
        c["v2"] = casework.metrics(by_cell[(c["source"], c["duration"], c["recipe"],
                                            c["ref"])], "v2")
    (folder / "results.json").write_text(json.dumps(result, indent=1))


def main(folder: Path) -> None:
    result = json.loads((folder / "results.json").read_text())
    trials_path = folder / "trials.json"
    trials = json.loads(trials_path.read_text()) if trials_path.is_file() else []
    if trials:
        add_v2(folder, result, trials)
    cells = result["cells"]
    lines = [f"# Voice in casework conditions: {result['set']} set", "",
             f"- command: `.venv/bin/python bench/voice/casework.py --set {result['set']}` "
             f"then `casework_report.py`; purport rendering code hash `{result['code']}`; "
             f"wall time {result['wall_s']} s", "",
             "## Targets (issue 14)", "", "| target | measured | |", "|---|---|---|",
             *targets(cells), ""]
    for source in sorted({c["source"] for c in cells},
                         key=lambda s: -max(c["conditions"]["cllr"] for c in cells
                                            if c["source"] == s)):
        lines += [f"## {source} (worst Cllr first)", "", *table(cells, source), ""]
        if trials:
            png = folder / f"tippett_{source}.png"
            tippett(trials, source, png)
            lines += [f"![Tippett plots, {source}]({png.name})", ""]
    (folder / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:12]))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
