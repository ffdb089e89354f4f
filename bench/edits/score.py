"""Score what purport said about an edits set against the set's truth.

Pure: the manifest's cases and run.py's records in, a dict of metrics out (see README.md
for the definitions). ``score(cases, records)`` is all there is.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from scipy import stats

TOL_PLACE = 5.0
"""A piece is placed right when its implied grid time at the truth piece's middle is within
this many seconds."""
MIN_PIECE = 60.0
TOLS = (0.5, 2.0)
MAX_FMP = 0.01
"""A whole-recording placement without ``pieces`` counts as placed at this false-match
probability or below (the pieces' own rule)."""
TARGET_LEVEL = -30.0
CONF = 0.95
DERIVED = "when.pieces boundaries (derived by the benchmark)"


# --- statistics ---------------------------------------------------------------------------


def lower(k: int, n: int) -> float | None:
    """One-sided 95 % Clopper-Pearson lower bound of a share."""
    if n == 0:
        return None
    return 0.0 if k == 0 else float(stats.beta.ppf(1 - CONF, k, n - k + 1))


def upper(k: int, n: int) -> float | None:
    """One-sided 95 % Clopper-Pearson upper bound of a share."""
    if n == 0:
        return None
    return 1.0 if k == n else float(stats.beta.ppf(CONF, k + 1, n - k))


def rate_upper(k: int, hours: float) -> float | None:
    """One-sided 95 % upper bound of a Poisson rate per hour."""
    if hours <= 0:
        return None
    return float(stats.chi2.ppf(CONF, 2 * (k + 1)) / 2 / hours)


def share(k: int, n: int) -> dict:
    return {"k": k, "n": n, "share": round(k / n, 4) if n else None,
            "lower95": _r(lower(k, n)), "upper95": _r(upper(k, n))}


def _r(v: float | None, nd: int = 4) -> float | None:
    return None if v is None else round(v, nd)


# --- placement ----------------------------------------------------------------------------


def _t(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))


def reported_pieces(rec: dict, duration: float) -> tuple[list[dict], bool, str]:
    """(placed pieces, hum present, how they were read) from a ``purport when`` record."""
    enf = (rec.get("when") or {}).get("enf") or {}
    present = bool(enf.get("present"))
    if not present:
        return [], False, "no hum"
    if "pieces" in enf and enf["pieces"] is not None:
        return [p for p in enf["pieces"] if p.get("placed") and p.get("recorded_at")], True, \
            "pieces"
    fmp = enf.get("false_match_probability")
    if enf.get("start") and fmp is not None and fmp <= MAX_FMP:
        return [{"query_start": 0.0, "query_end": duration, "recorded_at": enf["start"],
                 "placed": True, "false_match_probability": fmp}], True, "single placement"
    return [], True, "single placement, not placed"


def piece_error(truth: dict, pieces: list[dict]) -> float | None:
    """Implied minus true grid time (s) at the truth piece's middle, from the reported placed
    piece covering that middle (the smallest error if several do); None if none does."""
    m = (truth["query_start"] + truth["query_end"]) / 2
    true_t = _t(truth["recorded_at"]) + dt.timedelta(seconds=m - truth["query_start"])
    errs = []
    for p in pieces:
        if p["query_start"] <= m <= p["query_end"]:
            implied = _t(p["recorded_at"]) + dt.timedelta(seconds=m - p["query_start"])
            errs.append((implied - true_t).total_seconds())
    return min(errs, key=abs) if errs else None


def length_bin(seconds: float) -> str:
    m = seconds / 60
    for lo, hi in ((0, 2), (2, 5), (5, 10), (10, 20)):
        if m < hi:
            return f"{lo}-{hi} min"
    return "20+ min"


def placement(cases: list[dict], recs: dict[str, dict]) -> dict:
    rows = []
    for c in cases:
        if c["hum_db"] is None:
            continue
        truth = [p for p in c["pieces"] if p["recorded_at"]
                 and p["query_end"] - p["query_start"] >= MIN_PIECE]
        if not truth:
            continue
        rep, present, how = reported_pieces(recs[c["id"]], c["duration"])
        errs = [piece_error(p, rep) for p in truth]
        ok = all(e is not None and abs(e) <= TOL_PLACE for e in errs)
        rows.append({
            "id": c["id"], "kind": c["kind"], "group": c["group"], "recipe": c["recipe"],
            "hum_db": c["hum_db"], "codec": c["final"]["codec"], "sr": c["final"]["sr"],
            "length": length_bin(c["duration"]), "duration": c["duration"],
            "mic": c["sessions"][0]["mic"]["kind"], "floor": c["sessions"][0]["floor"]["kind"],
            "room": c["sessions"][0]["room"]["kind"],
            "capture": c["sessions"][0]["capture_codec"],
            "target": c["hum_db"] >= TARGET_LEVEL and c["min_piece"] >= MIN_PIECE,
            "ok": ok, "present": present, "read_as": how,
            "truth": [{"query_start": p["query_start"], "query_end": p["query_end"],
                       "recorded_at": p["recorded_at"]} for p in truth],
            "errors_s": [_r(e, 2) for e in errs],
            "reported": [{k: p.get(k) for k in ("query_start", "query_end", "recorded_at",
                                                "false_match_probability")} for p in rep]})
    out = {"cases": rows, "by": {}}
    for key in ("kind", "hum_db", "codec", "sr", "length", "recipe", "group", "mic", "floor",
                "room", "capture"):
        groups = defaultdict(list)
        for r in rows:
            groups[str(r[key])].append(r["ok"])
        out["by"][key] = {g: share(sum(v), len(v)) for g, v in sorted(groups.items())}
    for name, kinds in (("edited", ("cut", "spliced")), ("continuous", ("continuous",))):
        sel = [r for r in rows if r["target"] and r["kind"] in kinds]
        per = defaultdict(list)
        for r in sel:
            per[r["recipe"]].append(r["ok"])
        out[f"target_{name}"] = {"all": share(sum(r["ok"] for r in sel), len(sel)),
                                 "by_recipe": {k: share(sum(v), len(v))
                                               for k, v in sorted(per.items())}}
    return out


# --- joins --------------------------------------------------------------------------------


SHORT_STRETCH = 1.0
"""A candidate stretch (``end`` given) at most this long (a drop-out) covers a join inside
it; a longer one (a repeated span, a voice window) is read as its two edges."""


def distance(c: float | tuple, t: float) -> float:
    """Seconds from a candidate (a time, or ``(time, end)``) to a truth join at ``t``."""
    a, b = c if isinstance(c, tuple) else (c, None)
    if b is None:
        return abs(a - t)
    if b - a <= SHORT_STRETCH and a <= t <= b:
        return 0.0
    return min(abs(a - t), abs(b - t))


def match(cands: list, truths: list[float], tol: float) -> tuple[set[int], set[int]]:
    """One-to-one matching within ``tol`` s, closest pairs first: (candidate indices matched,
    truth indices matched). A candidate is a time or a ``(time, end)`` stretch."""
    pairs = sorted((d, i, j) for i, c in enumerate(cands) for j, t in enumerate(truths)
                   if (d := distance(c, t)) <= tol)
    ci, tj = set(), set()
    for _, i, j in pairs:
        if i not in ci and j not in tj:
            ci.add(i)
            tj.add(j)
    return ci, tj


def _point(c: dict) -> float | tuple:
    return (c["time"], c["end"]) if c.get("end") is not None else c["time"]


def candidates(rec: dict, source: str) -> list[dict]:
    if source == DERIVED:
        enf = (rec.get("when") or {}).get("enf") or {}
        ps = enf.get("pieces") or []
        return [{"time": p["query_start"], "detector": DERIVED, "family": "enf"}
                for p in ps[1:]]
    return [c for c in (rec.get("edits") or {}).get("candidates") or []
            if c.get("time") is not None]


def join_scores(cases: list[dict], recs: dict[str, dict], source: str,
                join_filter=lambda j: True) -> dict:
    """Precision and recall over ``cases`` at every tolerance, overall and per detector and
    family; recall only over the truth joins ``join_filter`` keeps, precision over every
    candidate (a candidate at any true join of the case is right)."""
    out: dict = {}
    for tol in TOLS:
        tot = {"cands": 0, "right": 0, "joins": 0, "found": 0}
        det: dict = defaultdict(lambda: {"cands": 0, "right": 0, "found": 0})
        fam: dict = defaultdict(lambda: {"cands": 0, "right": 0, "found": 0})
        n_joins = 0
        for c in cases:
            cs = candidates(recs[c["id"]], source)
            truths = [j["time"] for j in c["joins"]]
            kept = [i for i, j in enumerate(c["joins"]) if join_filter(j)]
            n_joins += len(kept)
            ci, tj = match([_point(x) for x in cs], truths, tol)
            tot["cands"] += len(cs)
            tot["right"] += len(ci)
            tot["found"] += len(tj & set(kept))
            for key, acc in (("detector", det), ("family", fam)):
                for name in sorted({x.get(key) or "?" for x in cs}):
                    sub = [_point(x) for x in cs if (x.get(key) or "?") == name]
                    si, sj = match(sub, truths, tol)
                    acc[name]["cands"] += len(sub)
                    acc[name]["right"] += len(si)
                    acc[name]["found"] += len(sj & set(kept))
        tot["joins"] = n_joins

        def pr(d: dict, n_joins: int = n_joins) -> dict:
            return {"candidates": d["cands"], "right": d["right"], "found": d["found"],
                    "joins": n_joins,
                    "precision": share(d["right"], d["cands"]),
                    "recall": share(d["found"], n_joins)}

        out[f"{tol:g}s"] = {"all": pr(tot), "by_detector": {k: pr(v) for k, v in det.items()},
                            "by_family": {k: pr(v) for k, v in fam.items()}}
    return out


def join_breakdown(cases: list[dict], recs: dict[str, dict], source: str, tol: float) -> dict:
    """Recall at ``tol`` by join kind, where, case group, final codec and recipe."""
    rows, false = [], []
    for c in cases:
        raw = candidates(recs[c["id"]], source)
        cs = [_point(x) for x in raw]
        ci, tj = match(cs, [j["time"] for j in c["joins"]], tol)
        false += [{"case": c["id"], "group": c["group"], "time": x["time"], "end": x.get("end"),
                   "detector": x.get("detector"), "strength": x.get("strength")}
                  for i, x in enumerate(raw) if i not in ci]
        for k, j in enumerate(c["joins"]):
            rows.append({"case": c["id"], "time": j["time"], "kind": j["kind"],
                         "where": j.get("where") or ("pause" if j["kind"] == "cut-in-pause"
                                                     else "mid-speech"),
                         "group": c["group"], "codec": c["final"]["codec"],
                         "recipe": c["recipe"], "hum": j["hum"],
                         "differs": ",".join(j["differs"]), "found": k in tj,
                         "nearest": min((round((x[0] if isinstance(x, tuple) else x)
                                               - j["time"], 2) for x in cs), key=abs,
                                        default=None)})
    by = {}
    for key in ("kind", "where", "group", "codec", "recipe", "hum"):
        g = defaultdict(list)
        for r in rows:
            g[str(r[key])].append(r["found"])
        by[key] = {k: share(sum(v), len(v)) for k, v in sorted(g.items())}
    return {"by": by, "joins": rows, "false": false}


def false_alarms(cases: list[dict], recs: dict[str, dict], source: str) -> dict:
    """Candidates per hour of unedited (continuous) recordings, per detector."""
    out = {}
    sets = {"generated, no hum": lambda c: c["hum_db"] is None and c["recipe"] != "fsdd",
            "FSDD, no hum": lambda c: c["hum_db"] is None and c["recipe"] == "fsdd",
            "no hum (generated + FSDD)": lambda c: c["hum_db"] is None,
            "with hum": lambda c: c["hum_db"] is not None,
            "all unedited": lambda c: True}
    cont = [c for c in cases if c["kind"] == "continuous"]
    for name, keep in sets.items():
        sel = [c for c in cont if keep(c)]
        hours = sum(c["duration"] for c in sel) / 3600
        per = defaultdict(int)
        n = 0
        for c in sel:
            for x in candidates(recs[c["id"]], source):
                per[x.get("detector") or "?"] += 1
                n += 1
        out[name] = {"recordings": len(sel), "hours": round(hours, 3), "alarms": n,
                     "per_hour": _r(n / hours, 3) if hours else None,
                     "upper95_per_hour": _r(rate_upper(n, hours), 3),
                     "by_detector": {k: {"alarms": v, "per_hour": _r(v / hours, 3)}
                                     for k, v in sorted(per.items())}}
    return out


# --- hum detection ------------------------------------------------------------------------


def hum_detection(cases: list[dict], recs: dict[str, dict]) -> dict:
    def present(c):
        return bool(((recs[c["id"]].get("when") or {}).get("enf") or {}).get("present"))

    by_level = defaultdict(list)
    for c in cases:
        by_level["none" if c["hum_db"] is None else f"{c['hum_db']:g}"].append(present(c))
    h40 = [c for c in cases if c["group"] == "humdet-40"]
    per = defaultdict(list)
    for c in h40:
        per[c["recipe"]].append(present(c))
    nohum = [c for c in cases if c["hum_db"] is None]
    return {"by_level": {k: share(sum(v), len(v)) for k, v in sorted(by_level.items())},
            "at_40_3min": share(sum(present(c) for c in h40), len(h40)),
            "at_40_3min_by_recipe": {k: share(sum(v), len(v)) for k, v in sorted(per.items())},
            "false_on_nohum": share(sum(present(c) for c in nohum), len(nohum)),
            "false_on_nohum_cases": [c["id"] for c in nohum if present(c)]}


# --- costs --------------------------------------------------------------------------------


def costs(cases: list[dict], recs: dict[str, dict]) -> dict:
    out = {}
    hours = sum(c["duration"] for c in cases) / 3600
    for cmd in ("when", "edits"):
        rs = [recs[c["id"]].get(cmd) or {} for c in cases]
        walls = sorted(r["wall_s"] for r in rs if r.get("wall_s") is not None)
        cpus = [r["cpu_s"] for r in rs if r.get("cpu_s") is not None]
        rss = [r["rss_mb"] for r in rs if r.get("rss_mb") is not None]
        errors = [(c["id"], (recs[c["id"]].get(cmd) or {}).get("error")) for c in cases
                  if (recs[c["id"]].get(cmd) or {}).get("error")]
        out[cmd] = {"calls": len(rs), "errors": len(errors), "first_errors": errors[:5],
                    "source": rs[0].get("source") if rs else None,
                    "wall_s_total": round(sum(walls), 1),
                    "wall_s_median": walls[len(walls) // 2] if walls else None,
                    "wall_s_max": walls[-1] if walls else None,
                    "cpu_s_total": round(sum(cpus), 1),
                    "x_real_time": round(hours * 3600 / sum(walls), 1) if walls else None,
                    "rss_mb_max": max(rss) if rss else None}
    longest = max(cases, key=lambda c: c["duration"])
    out["longest"] = {"id": longest["id"], "minutes": round(longest["duration"] / 60, 1),
                      **{cmd: {k: (recs[longest["id"]].get(cmd) or {}).get(k)
                               for k in ("wall_s", "cpu_s", "rss_mb")}
                         for cmd in ("when", "edits")}}
    return out


# --- targets ------------------------------------------------------------------------------


def _verdict(point: float | None, bound: float | None, goal: float, ge: bool,
             worst: float | None) -> str:
    if point is None:
        return "not measured"
    ok_point = (point >= goal) if ge else (point <= goal)
    ok_worst = worst is None or ((worst >= goal) if ge else (worst <= goal))
    if not (ok_point and ok_worst):
        return "missed"
    ok_bound = bound is not None and ((bound >= goal) if ge else (bound <= goal))
    return "met" if ok_bound else "met (not at 95 %)"


def _worst(by: dict, key: str, ge: bool) -> tuple[str | None, float | None, str]:
    vals = [(k, v[key], v) for k, v in by.items() if v.get(key) is not None]
    if not vals:
        return None, None, ""
    k, val, v = (min if ge else max)(vals, key=lambda x: x[1])
    return k, val, f"{v.get('k', '')}/{v.get('n', '')}" if "k" in v else ""


def targets(res: dict, cases: list[dict], recs: dict[str, dict], source: str) -> list[dict]:
    rows = []
    pl = res["placement"]
    for name, label, goal in (("edited", "cut and spliced", 0.90),
                              ("continuous", "continuous", 0.95)):
        t = pl[f"target_{name}"]
        a = t["all"]
        wk, wv, wtxt = _worst(t["by_recipe"], "share", True)
        rows.append({"target": f"{label}, hum >= -30 dB, pieces >= 60 s: every piece within "
                               f"+-5 s >= {goal:.0%}",
                     "measured": f"{a['k']}/{a['n']} = {_pct(a['share'])} (95 % lower "
                                 f"{_pct(a['lower95'])})",
                     "worst_recipe": f"{wk}: {wtxt} = {_pct(wv)}" if wk else "-",
                     "verdict": _verdict(a["share"], a["lower95"], goal, True, wv)})
    hum = [c for c in cases if c["hum_db"] is not None]
    for what, goal in (("precision", 0.8), ("recall", 0.8)):
        a = res["joins"]["hum"]["2s"]["all"][what]
        per = {}
        for rc in sorted({c["recipe"] for c in hum}):
            sub = join_scores([c for c in hum if c["recipe"] == rc], recs, source)
            per[rc] = sub["2s"]["all"][what]
        wk, wv, wtxt = _worst(per, "share", True)
        rows.append({"target": f"joins with hum at +-2 s: {what} >= {goal:.0%}",
                     "measured": f"{a['k']}/{a['n']} = {_pct(a['share'])} (95 % lower "
                                 f"{_pct(a['lower95'])})",
                     "worst_recipe": f"{wk}: {wtxt} = {_pct(wv)}" if wk else "-",
                     "verdict": _verdict(a["share"], a["lower95"], goal, True, wv)})
    nh = [c for c in cases if c["hum_db"] is None]
    a = res["joins"]["nohum_rooms"]["2s"]["all"]["recall"]
    per = {}
    for rc in sorted({c["recipe"] for c in nh}):
        sub = join_scores([c for c in nh if c["recipe"] == rc], recs, source, _rooms)
        if sub["2s"]["all"]["joins"]:
            per[rc] = sub["2s"]["all"]["recall"]
    wk, wv, wtxt = _worst(per, "share", True)
    rows.append({"target": "joins between different rooms/mics, no hum, at +-2 s: "
                           "recall >= 70 %",
                 "measured": f"{a['k']}/{a['n']} = {_pct(a['share'])} (95 % lower "
                             f"{_pct(a['lower95'])})",
                 "worst_recipe": f"{wk}: {wtxt} = {_pct(wv)}" if wk else "-",
                 "verdict": _verdict(a["share"], a["lower95"], 0.7, True, wv)})
    # FSDD recordings are read from separate takes butted together (each a recording of its
    # own, with its own noise and edges): every take boundary is a real join, so they are
    # not unedited speech. The target is scored on the generated recordings; FSDD is shown
    gen, fsdd = (res["false_alarms"][k] for k in ("generated, no hum", "FSDD, no hum"))
    rows.append({"target": "false alarms on unedited speech without hum <= 1 per hour",
                 "measured": f"generated: {gen['alarms']} in {gen['hours']:.2f} h = "
                             f"{gen['per_hour']}/h (95 % upper {gen['upper95_per_hour']}/h)",
                 "worst_recipe": f"FSDD take-join recordings (not unedited: every take "
                                 f"boundary is a join) {fsdd['per_hour']}/h",
                 "verdict": _verdict(gen["per_hour"], gen["upper95_per_hour"], 1.0, False,
                                     gen["per_hour"])})
    hd = res["hum_detection"]
    a = hd["at_40_3min"]
    wk, wv, wtxt = _worst(hd["at_40_3min_by_recipe"], "share", True)
    rows.append({"target": "hum detected at -40 dB in 3-min recordings >= 80 %",
                 "measured": f"{a['k']}/{a['n']} = {_pct(a['share'])} (95 % lower "
                             f"{_pct(a['lower95'])})",
                 "worst_recipe": f"{wk}: {wtxt} = {_pct(wv)}" if wk else "-",
                 "verdict": _verdict(a["share"], a["lower95"], 0.8, True, wv)})
    a = hd["false_on_nohum"]
    rows.append({"target": "false hum detection on no-hum recordings <= 1 %",
                 "measured": f"{a['k']}/{a['n']} = {_pct(a['share'])} (95 % upper "
                             f"{_pct(a['upper95'])})",
                 "worst_recipe": "-",
                 "verdict": _verdict(a["share"], a["upper95"], 0.01, False, None)})
    return rows


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f} %"


def _rooms(j: dict) -> bool:
    return bool({"room", "mic"} & set(j["differs"]))


# --- all ----------------------------------------------------------------------------------


def score(cases: list[dict], records: list[dict]) -> dict:
    recs = {r["id"]: r for r in records}
    source = "edits"
    avail = any((r.get("edits") or {}).get("source") == "purport edits" for r in records)
    hum = [c for c in cases if c["hum_db"] is not None]
    nohum = [c for c in cases if c["hum_db"] is None]
    res: dict = {
        "join_source": (records[0].get("edits") or {}).get("source") if records else None,
        "edits_available": avail,
        "placement": placement(cases, recs),
        "joins": {
            "hum": join_scores(hum, recs, source),
            "hum_edited_only": join_scores([c for c in hum if c["joins"]], recs, source),
            "nohum_all": join_scores(nohum, recs, source),
            "nohum_rooms": join_scores(nohum, recs, source, _rooms),
            "derived_when_pieces_hum": join_scores(hum, recs, DERIVED),
            "breakdown_2s": join_breakdown(cases, recs, source, 2.0),
        },
        "false_alarms": false_alarms(cases, recs, source),
        "hum_detection": hum_detection(cases, recs),
        "costs": costs(cases, recs),
    }
    res["targets"] = targets(res, cases, recs, source)
    return res
