"""``results.md`` and the Tippett plots from the results of ``run.py``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

CAL_TEXT = {
    "matched": "fitted with purport's `calibrate()` on split-A trials of the same population, "
               "duration and condition (FSDD: takes 0-24; TTS: other texts), evaluated on "
               "split B (FSDD takes 25-49): disjoint recordings, same speakers",
    "clean": "fitted on split-A trials of the same population and duration in the clean "
             "condition, applied to every condition (a calibration that ignores the channel)",
    "cross": "fitted on split-A trials of the *other* population (TTS for FSDD rows, FSDD for "
             "TTS rows), same duration and condition",
    "default": "purport's shipped `default_calibration()` as is (purport-default-v1). NOT "
               "disjoint from the FSDD evaluation: it was fitted on FSDD takes 0-47 of the "
               "same four speakers, about 6 s recordings, clean",
}
CAL_ORDER = ("matched", "clean", "cross", "default")


def tippett_plots(tippett: dict, out: Path, main: tuple, degraded: tuple) -> list[str]:
    """One PNG per plotted condition: matched (solid), default (dashed), cross (dotted).

    The same-speaker curve is the proportion of same-speaker log10 LRs at or below x
    (rising), the different-speaker curve the proportion at or above x (falling)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    for key, fname in ((main, "tippett_fsdd_6s_clean.png"),
                       (degraded, "tippett_fsdd_6s_noise10_opus16_vs_clean.png")):
        curves = {name: v for (p, d, c, name), v in tippett.items() if (p, d, c) == key}
        if not curves:
            continue
        fig, ax = plt.subplots(figsize=(8.0, 4.2), dpi=90)
        styles = {"matched": "-", "default": "--", "cross": ":", "clean": "-."}
        for name in CAL_ORDER:
            if name not in curves or name == "clean":
                continue
            ls, ld = (np.sort(x / np.log(10)) for x in curves[name])
            lo = min(ls.min(), ld.min()) - 0.5
            hi = max(ls.max(), ld.max()) + 0.5
            # same speaker: proportion <= x (rises); different: proportion >= x (falls)
            xs = np.r_[lo, ls, hi]
            ys = np.r_[0, np.arange(1, len(ls) + 1) / len(ls), 1]
            ax.step(xs, ys, where="post", color="tab:blue", ls=styles[name],
                    label=f"same speaker ({name})")
            xd = np.r_[lo, ld, hi]
            yd = np.r_[1, 1 - np.arange(len(ld)) / len(ld), 0]
            ax.step(xd, yd, where="pre", color="tab:red", ls=styles[name],
                    label=f"different speakers ({name})")
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_xlabel("log10 likelihood ratio")
        ax.set_ylabel("cumulative proportion")
        pop, d, cond = key
        ax.set_title(f"Tippett: {pop.upper()} {d:g} s, {cond} (split B)", fontsize=10)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  title="blue: same, LR <= x\nred: different, LR >= x", title_fontsize=7)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(out / fname)
        plt.close(fig)
        files.append(fname)
    return files


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _f(x: float | None, nd: int = 3) -> str:
    return "-" if x is None else f"{x:.{nd}f}"


def _flag(value: float, target: float, higher_better: bool = False) -> str:
    ok = value >= target if higher_better else value <= target
    return "met" if ok else "**MISSED**"


def markdown(r: dict) -> str:
    """The results page."""
    m, t = r["machine"], r["targets"]
    rows = r["rows"]
    out = ["# Voice benchmark results", ""]
    out += [f"- date: {r['date']}", f"- command: `{r['command']}` (from the repository root)",
            f"- machine: {m['cpu_model']}, `nproc` = {m['nproc']} "
            f"(/proc/cpuinfo lists {m['cpuinfo_processors']} processors), "
            f"{m['mem_total_gib']} GiB; load average at start {m['loadavg_at_start'][0]:.2f} "
            "(another benchmark may share the machine); Python "
            f"{m['python']}, torch {m['torch']}",
            f"- wall time of this run: {r['wall_s'] / 60:.1f} min, of which embedding "
            f"{r['embedding']['wall_s'] / 60:.1f} min ({r['embedding']['cached_units']} of "
            f"{r['embedding']['units']} units came from the cache; embedding all "
            f"{r['embedding']['audio_s_all_units'] / 3600:.1f} h of audio cost "
            f"{r['embedding']['cpu_s_all_units'] / 60:.1f} CPU-min when they were made)",
            f"- purport voice sources hash: `{r['purport_voice_sources']}`; seed {r['seed']}",
            ""]

    main = next((x for x in rows if (x["population"], x["duration"], x["condition"])
                 == ("fsdd", 6.0, "clean")), None)
    out += ["## Targets", "", "| target | value | |", "|---|---|---|"]
    if main:
        cm = main["calibrations"]["matched"]["cllr"]
        cd = main["calibrations"]["default"]["cllr"]
        out += [f"| EER <= {_pct(t['eer'])} % on 6 s clean FSDD | {_pct(main['eer'])} % | "
                f"{_flag(main['eer'], t['eer'])} |",
                f"| Cllr <= {t['cllr']} on 6 s clean FSDD (matched calibration, split A -> B) "
                f"| {cm:.3f} | {_flag(cm, t['cllr'])} |",
                f"| same, with the shipped default calibration (not disjoint, see below) "
                f"| {cd:.3f} | {_flag(cd, t['cllr'])} |"]
    if r.get("speed"):
        sp = r["speed"]["shipped"]
        worst = min(v["x_real_time_cpu"] for v in sp["per_duration"].values())
        out += [f"| >= {t['x_real_time']:g}x real time on one core (embed_recording, CPU "
                f"time, all durations) | {sp['x_real_time_cpu']:.1f}x | "
                f"{_flag(sp['x_real_time_cpu'], t['x_real_time'], True)} |",
                f"| same, shortest recordings only | {worst:.1f}x | "
                f"{_flag(worst, t['x_real_time'], True)} |"]
    out += [""]

    out += ["## Calibrations", "",
            "Cllr is reported for the same split-B trials under each calibration:", ""]
    out += [f"- **{k}**: {v}" for k, v in CAL_TEXT.items()]
    out += ["", "EER, minDCF (p_target = 0.01, normalised) and Cllr_min do not depend on the "
            "calibration: they are computed from the split-B scores. Misleading = share of "
            "same-speaker trials with LR < 1 / different-speaker trials with LR > 1 under the "
            "matched calibration. Trials: FSDD every pair of split-B recordings (disjoint "
            "takes); mismatched conditions every ordered pair (questioned degraded, reference "
            "clean). The last column applies the 6 s clean FSDD targets (EER <= "
            f"{_pct(t['eer'])} %, Cllr <= {t['cllr']} with the matched calibration) to every row, "
            "so that the conditions and durations that fall short are visible; the targets "
            "themselves are set for 6 s clean FSDD only.", ""]

    for pop in ("fsdd", "tts"):
        prow = [x for x in rows if x["population"] == pop]
        if not prow:
            continue
        out += [f"## {pop.upper()}", "",
                "| dur | condition | same / diff trials | EER % | minDCF | Cllr_min | "
                "Cllr matched | Cllr clean-cal | Cllr cross | Cllr default | misleading "
                "same / diff % | 6 s clean targets applied here |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for x in prow:
            c = x["calibrations"]
            cl = [_f(c[k]["cllr"]) if k in c else "-" for k in CAL_ORDER]
            mm = c["matched"]
            note = ""
            if (pop, x["duration"], x["condition"]) == ("fsdd", 6.0, "clean"):
                note = " (target)"
            missed = [n for n, bad in (("EER", x["eer"] > t["eer"]),
                                       ("Cllr", mm["cllr"] > t["cllr"])) if bad]
            verdict = f"**MISSED** ({', '.join(missed)})" if missed else "met"
            out += [f"| {x['duration']:g} s | {x['condition']}{note} | {x['n_same']} / "
                    f"{x['n_different']} | {_pct(x['eer'])} | {x['min_dcf']:.3f} | "
                    f"{x['cllr_min']:.3f} | {' | '.join(cl)} | "
                    f"{_pct(mm['misleading_same'])} / {_pct(mm['misleading_different'])} | "
                    f"{verdict} |"]
        out += [""]

    out += ["## How the LRs fall, per calibration (FSDD)", "",
            "Share of same-speaker trials given LR < 1 and of different-speaker trials given "
            "LR > 1, and the median log10 LR of same-speaker trials, under the default, cross "
            "and matched calibrations.", "",
            "| dur | condition | default: misl. same % | misl. diff % | med. log10 LR same | "
            "cross: misl. same % | misl. diff % | matched: med. log10 LR same |",
            "|---|---|---|---|---|---|---|---|"]
    for x in rows:
        if x["population"] != "fsdd":
            continue
        c = x["calibrations"]
        d, cr, mm = c["default"], c.get("cross"), c["matched"]
        crs = (f"{_pct(cr['misleading_same'])} | {_pct(cr['misleading_different'])}"
               if cr else "- | -")
        out += [f"| {x['duration']:g} s | {x['condition']} | {_pct(d['misleading_same'])} | "
                f"{_pct(d['misleading_different'])} | {d['log10_lr_same_median']:+.2f} | "
                f"{crs} | {mm['log10_lr_same_median']:+.2f} |"]
    out += [""]

    out += ["## Scores", "",
            "Median cosine of same-speaker and different-speaker trials, 99th percentile of "
            "different-speaker scores; median log10 LR (matched calibration).", "",
            "| pop | dur | condition | same median | diff median | diff p99 | log10 LR same "
            "| log10 LR diff | outside calib. range % |", "|---|---|---|---|---|---|---|---|---|"]
    for x in rows:
        mm = x["calibrations"]["matched"]
        out += [f"| {x['population']} | {x['duration']:g} s | {x['condition']} | "
                f"{x['score_same_median']:.3f} | {x['score_different_median']:.3f} | "
                f"{x['score_different_p99']:.3f} | {mm['log10_lr_same_median']:+.2f} | "
                f"{mm['log10_lr_different_median']:+.2f} | {_pct(mm['outside_range'])} |"]
    out += [""]

    out += ["## purport's own validation figures vs. the disjoint split", "",
            "`calibrate()` reports held-out figures (2-fold by speaker, on its fitting "
            "population). Here they are next to what the same calibration achieves on split B.",
            "", "| calibration (fitted on split A) | reported Cllr | reported EER % | "
            "Cllr on split B | EER % on split B |", "|---|---|---|---|---|"]
    for x in rows:
        key = f"{x['population']} {x['duration']:g}s {x['condition']}"
        s = r["calibrations"].get(key)
        if s and (x["condition"] in ("clean", "noise10+opus16", "q noise10+opus16 / r clean")):
            out += [f"| {key} | {s['cllr']:.3f} | {_pct(s['eer'])} | "
                    f"{x['calibrations']['matched']['cllr']:.3f} | {_pct(x['eer'])} |"]
    d = r["default_calibration"]
    out += ["", f"Shipped default ({d['name']}): reports Cllr {d['cllr']}, EER "
            f"{_pct(d['eer'])} %, minDCF {d['min_dcf']} ({d['validation']}).", ""]

    if r.get("speed"):
        sp, s1 = r["speed"]["shipped"], r["speed"].get("openblas1")
        out += ["## Speed and memory", "",
                "`embed_recording` in a fresh process (`speed.py`), clean FSDD split-B "
                "recordings, best of "
                f"{sp['repeats']} runs each; CPU seconds from `time.process_time` (all threads "
                "of the process), wall from `time.perf_counter`. *Shipped*: purport as is "
                f"(torch threads = {sp['torch_threads']}; thread pools: "
                f"{', '.join(sp['thread_pools'])}). *OPENBLAS_NUM_THREADS=1*: the same with "
                "numpy's and scipy's OpenBLAS held to one thread.", "",
                "| duration | recordings | shipped: x RT (CPU) | x RT (wall) | "
                "OPENBLAS=1: x RT (CPU) | x RT (wall) | encoder calls / recording | "
                "encoder share of CPU |", "|---|---|---|---|---|---|---|---|"]
        for dur, v in sp["per_duration"].items():
            w = s1["per_duration"][dur] if s1 else {}
            out += [f"| {dur} s | {v['recordings']} | {v['x_real_time_cpu']} | "
                    f"{v['x_real_time_wall']} | {w.get('x_real_time_cpu', '-')} | "
                    f"{w.get('x_real_time_wall', '-')} | {v['encoder_calls_per_recording']} "
                    f"| {v['encoder_share_of_cpu']:.0%} |"]
        out += [f"| all | | **{sp['x_real_time_cpu']}** | {sp['x_real_time_wall']} | "
                f"{s1['x_real_time_cpu'] if s1 else '-'} | "
                f"{s1['x_real_time_wall'] if s1 else '-'} | | |", "",
                f"CPU seconds per wall second: {sp['cpu_per_wall']} shipped, "
                f"{s1['cpu_per_wall'] if s1 else '-'} with OPENBLAS_NUM_THREADS=1. "
                f"Encoder load (imports included): {sp['load_cpu_s']} s CPU, "
                f"{sp['load_wall_s']} s wall. Peak memory of the speed process (VmHWM): "
                f"**{sp['peak_rss_mib']:.0f} MiB** ({sp['rss_before_load_mib']:.0f} MiB before "
                "torch and the model are loaded). Load average at the end of the run: "
                f"{r['loadavg_at_end'][0]:.2f}.", ""]
    if r.get("bulk_speed"):
        out += ["CPU x real time over every embedding of the benchmark (shipped threading; "
                "this process may have shared the machine), min / median / max over the "
                "channel versions:", "", "| population | 3 s | 6 s | 12 s |", "|---|---|---|---|"]
        for pop in ("fsdd", "tts"):
            cells = []
            for dur in ("3", "6", "12"):
                xs = [v["x_real_time_cpu"] for k, v in r["bulk_speed"].items()
                      if k.startswith(f"{pop} {dur}s ")]
                cells.append(f"{min(xs):.0f} / {np.median(xs):.0f} / {max(xs):.0f}"
                             if xs else "-")
            if any(c != "-" for c in cells):
                out += [f"| {pop} | " + " | ".join(cells) + " |"]
        out += ["", f"Peak RSS of the benchmark process (ru_maxrss, all embeddings held): "
                f"{r['peak_rss_run_mib']:.0f} MiB.", ""]

    if r.get("gain_probe"):
        g = r["gain_probe"]
        out += ["## Gain probe", "",
                f"Cosine between the embedding of a recording and of the same recording with a "
                f"plain gain (clipped at full scale), {g['recordings']} clean FSDD "
                f"{g['duration']:g} s split-B recordings. A level-independent encoder gives 1.",
                "", "| gain | " + " | ".join(g["cosine_median"]) + " |",
                "|---|" + "---|" * len(g["cosine_median"]),
                "| median cosine | " + " | ".join(f"{v:.3f}" for v in g["cosine_median"].values())
                + " |",
                "| min cosine | " + " | ".join(f"{v:.3f}" for v in g["cosine_min"].values()) + " |",
                "| median change of net speech (s) | "
                + " | ".join(f"{v:+.2f}" for v in g["net_speech_change_median_s"].values())
                + " |"]
        for spk, v in g["cosine_median_by_speaker"].items():
            out += [f"| {spk} | " + " | ".join(f"{x:.3f}" for x in v.values()) + " |"]
        out += [""]

    if r.get("compare_checks"):
        cc = r["compare_checks"]
        worst_s = max(v["max_score_difference"] for v in cc.values())
        worst_l = max(v["max_llr_difference"] for v in cc.values())
        n = sum(v["compare_checked_trials"] for v in cc.values())
        out += ["## compare() checks", "",
                f"`compare()` on {n} sampled split-B trials (one reference each, matched "
                f"calibration) reproduced the trial score within {worst_s:.1e} and the LLR "
                f"within {worst_l:.1e} (it rounds to 4 decimals).", "",
                "Consistency check (different-voice windows) on every split-B questioned "
                "recording, all of which hold one speaker only: it runs only with >= 4 speech "
                "windows (about 7.5 s of net speech), so never on 3 s and 6 s recordings.", "",
                "| trial set | recordings checked | flagged as containing a different voice "
                "| windows flagged |", "|---|---|---|---|"]
        for k, v in cc.items():
            if not v["consistency_checked_recordings"]:
                continue
            rate = "-" if v["flag_rate"] is None else f"{_pct(v['flag_rate'])} %"
            out += [f"| {k} | {v['consistency_checked_recordings']} | "
                    f"{v['recordings_flagged_different_voice']} ({rate}) | "
                    f"{v['windows_flagged']} / {v['windows']} |"]
        out += [""]

    if r.get("splice_probe"):
        sp = r["splice_probe"]
        out += ["Splices: two 6 s clean FSDD split-B recordings joined into 12 s, of two "
                f"different speakers ({sp['pairs']} splices) or of the same speaker (as many "
                "controls). Windows straddling the join count against the check.", "",
                "| calibration | splices checked | splices flagged | windows assigned to the "
                "right voice (flagged splices) | controls flagged |", "|---|---|---|---|---|"]
        for name, v in sp["by_calibration"].items():
            out += [f"| {name} | {v['checked']} | {v['splice_flagged']} | "
                    f"{v['splice_windows_right']} / {v['splice_windows']} | "
                    f"{v['control_flagged']} |"]
        out += [""]

    if r.get("net_speech"):
        ns = r["net_speech"]
        out += ["## Speech found (split B)", "",
                "Median net speech (s) that purport's VAD finds per recording, and in "
                "brackets the recordings left without an embedding (< 0.5 s of speech); "
                "median SNR estimate (dB) from `quality()`.", "",
                "| population | version | 3 s | 6 s | 12 s | SNR est. (6 s) |",
                "|---|---|---|---|---|---|"]
        keys = []
        for k in ns:
            pop, _, ver = k.split(" ", 2)
            if (pop, ver) not in keys:
                keys.append((pop, ver))
        for pop, ver in keys:
            cells = []
            for dur in ("3", "6", "12"):
                v = ns.get(f"{pop} {dur}s {ver}")
                cells.append("-" if v is None else
                             f"{v['net_speech_median_s']:.2f} ({v['no_embedding']})")
            snr = ns.get(f"{pop} 6s {ver}", {}).get("snr_db_median")
            out += [f"| {pop} | {ver} | " + " | ".join(cells) + f" | {_f(snr, 1)} |"]
        out += [""]
    if r.get("plots"):
        out += ["## Tippett plots", ""] + [f"![{p}]({p})" for p in r["plots"]] + [""]
    out += ["See README.md for what these numbers can and cannot say.", ""]
    return "\n".join(out)
