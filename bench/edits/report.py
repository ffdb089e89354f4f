"""Render ``results.md`` from ``results.json`` (run.py calls it; it can also be run alone).

    .venv/bin/python bench/edits/report.py bench/edits/before/results.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.1f} %"


def _share(s: dict) -> str:
    if not s or not s.get("n"):
        return "-"
    return f"{s['k']}/{s['n']} ({_pct(s['share'])})"


def _table(head: list[str], rows: list[list]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(str(x) for x in r) + " |" for r in rows]
    return out + [""]


def _pr_rows(block: dict, tols=("0.5s", "2s")) -> list[str]:
    lines = _table(["", *[f"precision +-{t}" for t in tols], *[f"recall +-{t}" for t in tols],
                        "candidates"],
                   [["all", *[_share(block[t]["all"]["precision"]) for t in tols],
                     *[_share(block[t]["all"]["recall"]) for t in tols],
                     block[tols[0]]["all"]["candidates"]]]
                   + [[f"family {k}", *[_share(block[t]["by_family"][k]["precision"])
                                        for t in tols],
                       *[_share(block[t]["by_family"][k]["recall"]) for t in tols],
                       block[tols[0]]["by_family"][k]["candidates"]]
                      for k in sorted(block[tols[0]]["by_family"])]
                   + [[f"detector {k}", *[_share(block[t]["by_detector"][k]["precision"])
                                          for t in tols],
                       *[_share(block[t]["by_detector"][k]["recall"]) for t in tols],
                       block[tols[0]]["by_detector"][k]["candidates"]]
                      for k in sorted(block[tols[0]]["by_detector"])])
    return lines


def render(res: dict) -> str:
    m, s = res["machine"], res["set"]
    L = ["# Edited recordings: piecewise ENF placement and join detection", ""]
    L += [f"- date: {res['date']}; purport commit **{m['purport_commit']}**"
          + (f" (uncommitted in src/: {', '.join(m['src_status'])})" if m.get("src_status")
             else "")
          + (f"; at the end of the run: {m['purport_commit_end']}"
             f" (uncommitted in src/: {', '.join(m.get('src_status_end') or []) or 'none'})"
             if m.get("purport_commit_end") else ""),
          *([f"- purport run from: {m['run_at']}"] if m.get("run_at") else []),
          f"- command: `{res['command']}` ({res['wall_s'] / 60:.1f} min wall, "
          f"{res['jobs']} job(s))",
          f"- machine: {m['cpu_model']}, {m['nproc']} CPUs (shared), {m['mem_gib']} GiB, "
          f"Python {m['python']}, load at start {[round(x, 2) for x in m['loadavg_start']]}",
          f"- set: `{s['dir']}` seed {s.get('seed')} scale {s.get('scale')}, {s['cases']} "
          f"cases, {s['hours']:.2f} h; made by `{s.get('command')}` "
          f"({(s.get('generate_s') or 0) / 60:.1f} min) on {s.get('created')}",
          f"- grid log: {s['grid']['seconds'] / 3600:.1f} h from {s['grid']['start']} "
          f"({s['grid']['source']})" if s.get("grid") else "- grid log: ?",
          f"- CLI found: {res['capabilities']}",
          f"- join candidates from: **{res['join_source']}**"
          + ("" if res["edits_available"] else " -- `purport edits` is not available at "
             "this commit: the join figures are those of the fallback"), ""]
    L += ["## Targets (issue 13, item 4)", "",
          "Verdict: *met* when the pooled share is on the right side of the target at the "
          "one-sided 95 % bound and the worst recipe's point estimate is too; *met (not at "
          "95 %)* when only the point estimates are; otherwise *missed*.", ""]
    L += _table(["target", "measured (all recipes)", "worst recipe", "verdict"],
                [[t["target"], t["measured"], t["worst_recipe"], f"**{t['verdict']}**"]
                 for t in res["targets"]])
    pl = res["placement"]
    L += ["## Piecewise placement (every truth piece >= 60 s with hum within +-5 s)", "",
          "All recordings with hum and at least one piece >= 60 s (every hum level; the "
          "target rows above keep hum >= -30 dB and cases whose pieces are all >= 60 s).", ""]
    for key, title in (("kind", "kind"), ("hum_db", "hum level (dB re speech)"),
                       ("codec", "final codec"), ("sr", "final sample rate"),
                       ("length", "length"), ("recipe", "speech recipe"), ("group", "group"),
                       ("mic", "first session's microphone"),
                       ("floor", "first session's noise floor"),
                       ("room", "first session's room"),
                       ("capture", "first session's capture codec")):
        L += [f"By {title}:", ""]
        L += _table([title, "every piece right"], [[k, _share(v)] for k, v in
                                                   pl["by"][key].items()])
    j = res["joins"]
    L += ["## Joins", "",
          "Candidates are matched one-to-one to truth joins, closest first. Precision counts "
          "every candidate in the recordings named; recall the truth joins named.", "",
          "### Recordings with hum (continuous ones included: their candidates are false)", ""]
    L += _pr_rows(j["hum"])
    L += ["### Edited recordings with hum only", ""]
    L += _pr_rows(j["hum_edited_only"])
    L += ["### No hum: joins between different rooms/microphones (recall), every candidate "
          "in no-hum recordings (precision)", ""]
    L += _pr_rows(j["nohum_rooms"])
    L += ["### No hum: every join (same-room cuts included)", ""]
    L += _pr_rows(j["nohum_all"])
    L += ["### For comparison: boundaries between `purport when` pieces, recordings with hum",
          "", "Not a detector of purport's: the benchmark reads the start of every ENF piece "
          "after the first as a join candidate.", ""]
    L += _pr_rows(j["derived_when_pieces_hum"])
    b = j["breakdown_2s"]["by"]
    for key, title in (("kind", "join kind"), ("where", "where the join is"),
                       ("hum", "pieces carry hum"), ("group", "group"),
                       ("codec", "final codec"), ("recipe", "recipe")):
        L += [f"Recall at +-2 s by {title}:", ""]
        L += _table([title, "found"], [[k, _share(v)] for k, v in b[key].items()])
    L += ["## False alarms on unedited recordings", ""]
    fa = res["false_alarms"]
    L += _table(["recordings", "n", "hours", "candidates", "per hour", "95 % upper",
                 "by detector"],
                [[k, v["recordings"], v["hours"], v["alarms"], v["per_hour"],
                  v["upper95_per_hour"], "; ".join(f"{d}: {x['alarms']}"
                                                   for d, x in v["by_detector"].items())]
                 for k, v in fa.items()])
    hd = res["hum_detection"]
    L += ["## Hum detection", ""]
    L += _table(["hum level", "enf.present"], [[k, _share(v)] for k, v in
                                               hd["by_level"].items()])
    L += [f"3-min recordings at -40 dB: {_share(hd['at_40_3min'])}; by recipe: "
          + ", ".join(f"{k} {_share(v)}" for k, v in hd["at_40_3min_by_recipe"].items()),
          f"False hum on no-hum recordings: {_share(hd['false_on_nohum'])} "
          f"{hd['false_on_nohum_cases']}", ""]
    c = res["costs"]
    L += ["## Cost per call", ""]
    L += _table(["command", "calls", "errors", "wall total s", "median s", "max s",
                 "x real time", "CPU total s", "peak RSS MB"],
                [[k, v["calls"], v["errors"], v["wall_s_total"], v["wall_s_median"],
                  v["wall_s_max"], v["x_real_time"], v["cpu_s_total"], v["rss_mb_max"]]
                 for k, v in c.items() if k != "longest"])
    L += [f"Longest case {c['longest']['id']} ({c['longest']['minutes']} min): when "
          f"{c['longest']['when']}, edits {c['longest']['edits']}", ""]
    for k in ("when", "edits"):
        if c[k]["first_errors"]:
            L += [f"First {k} errors: " + "; ".join(f"{i}: {e}" for i, e in
                                                     c[k]["first_errors"]), ""]
    L += ["## First failures", "", "Placement (target cases first):", ""]
    fails = sorted((r for r in pl["cases"] if not r["ok"]), key=lambda r: not r["target"])
    for r in fails[:15]:
        rep = "; ".join(f"{p['query_start']:.0f}-{p['query_end']:.0f} s at {p['recorded_at']}"
                        for p in r["reported"]) or "nothing placed"
        tru = "; ".join(f"{p['query_start']:.0f}-{p['query_end']:.0f} s at {p['recorded_at']}"
                        for p in r["truth"])
        L += [f"- {r['id']} {r['group']} {r['recipe']} hum {r['hum_db']:g} dB {r['codec']} "
              f"{r['sr']} Hz {r['duration'] / 60:.1f} min{' (target)' if r['target'] else ''}:"
              f" errors {r['errors_s']} s; truth {tru}; reported ({r['read_as']}) {rep}"]
    L += ["", "Joins missed at +-2 s:", ""]
    miss = [r for r in j["breakdown_2s"]["joins"] if not r["found"]]
    for r in miss[:20]:
        L += [f"- {r['case']} {r['group']} {r['recipe']} {r['codec']}: {r['kind']} "
              f"({r['where']}) at {r['time']:.2f} s, differs {r['differs'] or '-'}; nearest "
              f"candidate {r['nearest']} s"]
    L += [f"- ... {len(miss)} missed in all" if len(miss) > 20 else "", ""]
    false = j["breakdown_2s"].get("false", [])
    L += [f"Candidates at no join (+-2 s), {len(false)} in all, the first 20:", ""]
    for r in false[:20]:
        L += [f"- {r['case']} {r['group']}: {r['detector']} at {r['time']:.2f} s"
              + (f"-{r['end']:.2f} s" if r.get("end") is not None else "")
              + (f", strength {r['strength']}" if r.get("strength") is not None else "")]
    L += [""]
    return "\n".join(L) + "\n"


def main() -> None:
    path = Path(sys.argv[1])
    res = json.loads(path.read_text())
    (path.parent / "results.md").write_text(render(res))


if __name__ == "__main__":
    main()
