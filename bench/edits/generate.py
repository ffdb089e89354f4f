"""Generate an edits set: whole recordings, continuous, cut and spliced, with exact truth.

    .venv/bin/python bench/edits/generate.py --seed 1 --scale small \
        --out bench/edits/.cache/dev-small
    .venv/bin/python bench/edits/generate.py --seed 1 --scale full \
        --out bench/edits/.cache/dev-full --jobs 2

Writes ``DIR/grid.csv`` (the set's one grid log, ``timestamp,frequency_hz`` at 1 Hz, the
format ``purport when --grid`` reads: every session of the set was recorded somewhere in
it), ``DIR/cases/eNNN.{wav,mp3,ogg}`` and ``DIR/manifest.json`` (the plan and the truth:
joins and pieces of every case). See README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import recipes  # noqa: E402
import render  # noqa: E402
from lib import CACHE, SR, gridlog, speech  # noqa: E402

from purport import media  # noqa: E402

FORMAT = "purport-bench-edits/1"
STATE: dict = {}


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def grid_time(offset: float | None, t: float) -> str | None:
    """ISO time of log second ``offset + t`` (None without hum)."""
    if offset is None:
        return None
    return iso(gridlog.START + dt.timedelta(seconds=offset + t))


def condition(s: dict) -> dict:
    """What a listener could hear of a session's recording conditions."""
    return {"room": s["room"]["kind"] + (f" rt60 {s['room']['rt60']:g}s" if s["room"]["rt60"]
                                         else ""),
            "mic": s["mic"]["kind"] + (f" {s['mic']['cutoff_hz']} Hz" if s["mic"]["cutoff_hz"]
                                       else ""),
            "floor": s["floor"]["kind"] + (f" {s['floor']['dbfs']:g} dBFS" if s["floor"]["dbfs"]
                                           is not None else ""),
            "hum_db": s["hum_db"], "capture": f"{s['capture_codec']} {s['capture_sr']} Hz",
            "gain_db": s["gain_db"]}


def differs(a: dict, b: dict, time_jump: bool) -> list[str]:
    out = [k for k in ("room", "mic", "floor", "capture") if condition(a)[k] != condition(b)[k]]
    if abs(a["gain_db"] - b["gain_db"]) >= 1.0:
        out.append("level")
    if time_jump:
        out.append("time")
    return out


def build_case(case: dict) -> dict:
    """Render one case; its manifest row (truth included)."""
    t0 = time.time()
    log, out = STATE["log"], STATE["out"]
    speaker = render.Speaker(STATE["sentences"], case["seed"])
    rendered = [render.session(s, speaker, log, np.random.default_rng([case["seed"], 2, i]))
                for i, s in enumerate(case["sessions"])]
    (ya, acta), sa = rendered[0], case["sessions"][0]
    joins, pieces = [], []
    if case["kind"] == "continuous":
        y = ya
        pieces.append({"query_start": 0.0, "query_end": round(len(y) / SR, 3), "session": 0,
                       "session_start": 0.0, "recorded_at": grid_time(sa["offset"], 0.0)})
    elif case["kind"] == "cut":
        e = case["edit"]
        c1 = render.point(acta, e["at"], e["where"], e["at"] - 4, e["at"] + 4)
        t2 = c1 + e["removed"]
        c2 = render.point(acta, t2, e["where"], max(c1 + 0.3, t2 - 4), t2 + 4)
        i1, i2 = int(round(c1 * SR)), int(round(c2 * SR))
        y = np.concatenate([ya[:i1], ya[i2:]])
        at = round(i1 / SR, 3)
        paused = render.in_pause(acta, c1) and render.in_pause(acta, c2)
        joins.append({"time": at, "kind": "cut-in-pause" if paused else "cut-mid-speech",
                      "removed": round((i2 - i1) / SR, 3), "before": condition(sa),
                      "after": condition(sa), "differs": differs(sa, sa, True),
                      "hum": sa["hum_db"] is not None})
        pieces += [{"query_start": 0.0, "query_end": at, "session": 0, "session_start": 0.0,
                    "recorded_at": grid_time(sa["offset"], 0.0)},
                   {"query_start": at, "query_end": round(len(y) / SR, 3), "session": 0,
                    "session_start": round(i2 / SR, 3),
                    "recorded_at": grid_time(sa["offset"], i2 / SR)}]
    else:
        e = case["edit"]
        (yb, actb), sb = rendered[1], case["sessions"][1]
        h1 = render.point(acta, e["at"], e["where"], e["at"] - 4, e["at"] + 4)
        h2 = h1
        if e["replace"]:
            t2 = h1 + e["replace"]
            h2 = render.point(acta, t2, e["where"], max(h1 + 0.3, t2 - 4), t2 + 4)
        b1 = render.point(actb, e["from"], e["where"], e["from"] - 4, e["from"] + 4)
        t2 = b1 + e["insert"]
        b2 = render.point(actb, t2, e["where"], t2 - 4, min(t2 + 4, len(yb) / SR - 0.5))
        ih1, ih2, ib1, ib2 = (int(round(v * SR)) for v in (h1, h2, b1, b2))
        y = np.concatenate([ya[:ih1], yb[ib1:ib2], ya[ih2:]])
        s1, s2 = round(ih1 / SR, 3), round((ih1 + ib2 - ib1) / SR, 3)
        hum = sa["hum_db"] is not None
        p_start = render.in_pause(acta, h1) and render.in_pause(actb, b1)
        p_end = render.in_pause(actb, b2) and render.in_pause(acta, h2)
        joins += [{"time": s1, "kind": "splice-start", "where": "pause" if p_start
                   else "mid-speech", "before": condition(sa), "after": condition(sb),
                   "differs": differs(sa, sb, True), "hum": hum},
                  {"time": s2, "kind": "splice-end", "where": "pause" if p_end
                   else "mid-speech", "removed": round((ih2 - ih1) / SR, 3),
                   "before": condition(sb), "after": condition(sa),
                   "differs": differs(sb, sa, True), "hum": hum}]
        pieces += [{"query_start": 0.0, "query_end": s1, "session": 0, "session_start": 0.0,
                    "recorded_at": grid_time(sa["offset"], 0.0)},
                   {"query_start": s1, "query_end": s2, "session": 1,
                    "session_start": round(ib1 / SR, 3),
                    "recorded_at": grid_time(sb["offset"], ib1 / SR)},
                   {"query_start": s2, "query_end": round(len(y) / SR, 3), "session": 0,
                    "session_start": round(ih2 / SR, 3),
                    "recorded_at": grid_time(sa["offset"], ih2 / SR)}]
    path = render.write_final(y, out / "cases" / case["id"], case["final"]["codec"],
                              case["final"]["sr"])
    row = dict(case)
    row.update(file=f"cases/{path.name}", duration=round(len(y) / SR, 3), joins=joins,
               pieces=pieces, reencoded=case["final"]["codec"] != "wav",
               build_s=round(time.time() - t0, 1),
               min_piece=round(min(p["query_end"] - p["query_start"] for p in pieces), 3))
    return row


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--scale", choices=("small", "full"), default="small")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--only", default="", help="comma-separated case ids (debugging)")
    a = ap.parse_args(argv)
    t0 = time.time()
    (a.out / "cases").mkdir(parents=True, exist_ok=True)
    tracks = gridlog.whu_tracks(CACHE, log=lambda m: print(m, file=sys.stderr))
    lg = gridlog.build(tracks, seed=a.seed)
    with open(a.out / "grid.csv", "w") as fh:
        fh.write("timestamp,frequency_hz\n")
        for i, f in enumerate(lg.freq):
            fh.write(f"{iso(gridlog.START + dt.timedelta(seconds=i))[:19]}Z,{f:.5f}\n")
    speakers = speech.Fsdd.speakers()
    cases = recipes.draw_cases(a.seed, a.scale, lg.log.seconds, speakers)
    if a.only:
        keep = set(a.only.split(","))
        cases = [c for c in cases if c["id"] in keep]
    STATE.update(log=lg.freq, out=a.out, sentences=speech.unique_sentences(CACHE))
    order = sorted(cases, key=lambda c: -sum(s["seconds"] for s in c["sessions"]))
    rows = {}
    with mp.get_context("fork").Pool(a.jobs) as pool:
        for row in pool.imap_unordered(build_case, order):
            rows[row["id"]] = row
            print(f"[{time.strftime('%H:%M:%S')}] {row['id']} {row['group']:18s} "
                  f"{row['recipe']:10s} {row['duration'] / 60:5.1f} min "
                  f"{len(row['joins'])} joins {row['build_s']:5.1f} s "
                  f"({len(rows)}/{len(cases)})", file=sys.stderr, flush=True)
    out_rows = [rows[c["id"]] for c in cases]
    manifest = {
        "format": FORMAT, "seed": a.seed, "scale": a.scale,
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join([".venv/bin/python", "bench/edits/generate.py", *sys.argv[1:]]),
        "generate_s": round(time.time() - t0, 1), "purport_media": media.__name__,
        "grid": {"csv": "grid.csv", "start": iso(lg.log.start), "seconds": lg.log.seconds,
                 "log_seed": a.seed, "source": "ENF-WHU reference tracks stitched by "
                 "bench/timing/gridlog.build (fwd, rev, mir, revmir shapes)"},
        "cases": out_rows,
    }
    (a.out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    hours = sum(r["duration"] for r in out_rows) / 3600
    print(f"{len(out_rows)} cases, {hours:.2f} h, {time.time() - t0:.0f} s -> {a.out}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
