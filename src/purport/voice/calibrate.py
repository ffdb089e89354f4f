"""Score-to-likelihood-ratio calibration and the figures that validate it.

A cosine score means nothing on its own. Logistic-regression calibration (Brümmer & du
Preez 2006; the method of the forensic voice comparison consensus, Morrison et al. 2021)
maps it to a natural-log likelihood ratio, fitted with equal weight on same-speaker and
different-speaker pairs of a named population. Validation figures (Cllr, Cllr_min, EER,
minDCF) come from speakers held out of the fit. Scores outside the fitted range are
capped, never extrapolated.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import optimize

from purport.errors import ParameterError

LN10 = float(np.log(10))


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def fit_logistic(same: np.ndarray, different: np.ndarray) -> tuple[float, float]:
    """(slope, intercept) of llr = slope * score + intercept, classes weighted equally.

    One pseudo-pair of each class is placed at the other class's mean score, so that a
    population that happens to separate perfectly still gets a finite slope (without it
    the fit claims infinite certainty from a handful of speakers).
    """
    same, different = np.asarray(same, float), np.asarray(different, float)
    if len(same) < 2 or len(different) < 2:
        raise ParameterError("calibration needs at least 2 same-speaker and 2 "
                             "different-speaker pairs")
    same, different = np.r_[same, different.mean()], np.r_[different, same.mean()]

    def loss(p: np.ndarray) -> float:
        a, b = p
        return float(0.5 * np.mean(_softplus(-(a * same + b)))
                     + 0.5 * np.mean(_softplus(a * different + b)))

    res = optimize.minimize(loss, x0=np.array([1.0, 0.0]), method="Nelder-Mead",
                            options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 4000})
    return float(res.x[0]), float(res.x[1])


def cllr(llr_same: np.ndarray, llr_different: np.ndarray) -> float:
    """Log-likelihood-ratio cost in bits: 0 perfect, 1 as good as saying nothing."""
    return float(0.5 * (np.mean(_softplus(-np.asarray(llr_same))) +
                        np.mean(_softplus(np.asarray(llr_different)))) / np.log(2))


def cllr_min(same: np.ndarray, different: np.ndarray) -> float:
    """Cllr after the best monotonic recalibration (pool-adjacent-violators): discrimination."""
    scores = np.r_[same, different]
    labels = np.r_[np.ones(len(same)), np.zeros(len(different))]
    order = np.argsort(scores, kind="stable")
    posterior = optimize.isotonic_regression(labels[order]).x
    posterior = np.clip(posterior, 1e-6, 1 - 1e-6)
    prior_odds = len(same) / len(different)
    llr = np.log(posterior / (1 - posterior)) - np.log(prior_odds)
    back = np.empty_like(llr)
    back[order] = llr
    return cllr(back[: len(same)], back[len(same):])


def eer(same: np.ndarray, different: np.ndarray) -> float:
    """Equal error rate: where misses of same-speaker pairs equal false alarms."""
    thresholds = np.unique(np.r_[same, different])
    miss = np.searchsorted(np.sort(same), thresholds, side="left") / len(same)
    fa = 1 - np.searchsorted(np.sort(different), thresholds, side="left") / len(different)
    i = int(np.argmin(np.abs(miss - fa)))
    return float((miss[i] + fa[i]) / 2)


def min_dcf(same: np.ndarray, different: np.ndarray, *, p_target: float = 0.01) -> float:
    """Minimum normalised detection cost at prior ``p_target`` (NIST SRE convention)."""
    thresholds = np.r_[-np.inf, np.unique(np.r_[same, different]), np.inf]
    miss = np.searchsorted(np.sort(same), thresholds, side="left") / len(same)
    fa = 1 - np.searchsorted(np.sort(different), thresholds, side="left") / len(different)
    cost = p_target * miss + (1 - p_target) * fa
    return float(cost.min() / min(p_target, 1 - p_target))


@dataclass(frozen=True)
class Calibration:
    """A fitted score-to-LLR map with the population it was fitted on and its validation."""

    name: str
    encoder: str
    population: str
    n_speakers: int
    n_same: int
    n_different: int
    slope: float
    intercept: float
    score_min: float
    score_max: float
    window_slope: float
    window_intercept: float
    window_score_min: float
    window_score_max: float
    cllr: float
    cllr_min: float
    eer: float
    min_dcf: float
    validation: str
    created: str = field(default_factory=lambda: dt.date.today().isoformat())
    notes: str = ""
    cells: dict[str, dict[str, Any]] = field(default_factory=dict)
    rendering: str = ""

    def llr(self, score: float) -> float:
        """Natural-log LR of a whole-recording score, capped (score range, then LR bounds)."""
        s = min(max(float(score), self.score_min), self.score_max)
        return _bound(self.slope * s + self.intercept, self.n_same, self.n_different)

    def window_llr(self, score: float) -> float:
        """Natural-log LR of a window score (capped the same way)."""
        s = min(max(float(score), self.window_score_min), self.window_score_max)
        return _bound(self.window_slope * s + self.window_intercept, self.n_same,
                      self.n_different)

    def cell_llr(self, score: float, key: str) -> tuple[float, list[str]]:
        """Natural-log LR of a score in condition ``key`` (a fitted cell), with notes on
        any bounding: the score is clipped to the cell's fitted range and the LLR to the
        bounds its held-out pairs support (:func:`elub`)."""
        c = self.cells[key]
        notes = []
        s = min(max(float(score), c["score_min"]), c["score_max"])
        if s != score:
            notes.append(f"score {score:.3f} lies outside the range this condition's "
                         f"calibration was fitted on [{c['score_min']:.3f}, "
                         f"{c['score_max']:.3f}]")
        raw = c["slope"] * s + c["intercept"]
        llr = min(max(raw, c["llr_min"]), c["llr_max"])
        if llr != raw:
            notes.append(f"the LR is bounded at log10 LR {llr / LN10:+.2f}: the most that "
                         "this condition's held-out validation supports (empirical lower and "
                         "upper bounds, after Vergeer et al. 2016)")
        return float(llr), notes

    def summary(self) -> dict[str, Any]:
        """What a report names: the calibration, its population and its held-out figures."""
        out = {k: getattr(self, k) for k in (
            "name", "encoder", "population", "n_speakers", "n_same", "n_different", "cllr",
            "cllr_min", "eer", "min_dcf", "validation", "created", "notes", "rendering")}
        return {**out, "conditions": sorted(self.cells)}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        return cls(**data)


def _bound(llr: float | np.ndarray, n_same: int, n_different: int):
    """Cap an LLR at what the population can support: no LR above the number of
    different-speaker pairs it was fitted on, none below one over the same-speaker pairs
    (in the spirit of Vergeer et al. 2016's empirical bounds)."""
    return np.clip(llr, -np.log(max(n_same, 2)), np.log(max(n_different, 2)))


def _split_by_speaker(pairs_speakers: list[tuple[str, str]], speakers: list[str],
                      fold: int, n_folds: int) -> np.ndarray:
    """Mask of pairs whose speakers both fall in held-out fold ``fold``."""
    held = {s for i, s in enumerate(sorted(speakers)) if i % n_folds == fold}
    return np.array([a in held and b in held for a, b in pairs_speakers], dtype=bool)


def held_out(scores: np.ndarray, same: np.ndarray, pair_speakers: list[tuple[str, str]],
             *, n_folds: int = 2) -> dict[str, np.ndarray] | None:
    """LLRs of pairs from speakers left out of the fit, ``n_folds`` folds by speaker.

    Each fold fits on the pairs whose two speakers are both in the other folds and rates
    the pairs whose two speakers are both in this one (scores clipped to the fitted range,
    not bounded). None when no fold has pairs of both kinds on both sides.
    """
    scores, same = np.asarray(scores, float), np.asarray(same, bool)
    speakers = sorted({s for pair in pair_speakers for s in pair})
    out: dict[str, list] = {"llr_same": [], "llr_different": [], "same": [], "different": [],
                            "pairs_different": []}
    for fold in range(n_folds):
        test = _split_by_speaker(pair_speakers, speakers, fold, n_folds)
        train_speakers = {s for i, s in enumerate(speakers) if i % n_folds != fold}
        train = np.array([a in train_speakers and b in train_speakers
                          for a, b in pair_speakers], dtype=bool)
        if (same[train].sum() < 2 or (~same[train]).sum() < 2 or same[test].sum() < 1
                or (~same[test]).sum() < 1):
            continue
        a, b = fit_logistic(scores[train & same], scores[train & ~same])
        lo, hi = scores[train].min(), scores[train].max()
        llr = a * np.clip(scores[test], lo, hi) + b
        out["llr_same"].append(llr[same[test]])
        out["llr_different"].append(llr[~same[test]])
        out["same"].append(scores[test & same])
        out["different"].append(scores[test & ~same])
        out["pairs_different"] += [tuple(sorted(p)) for p, t, sm in
                                   zip(pair_speakers, test, same, strict=True) if t and not sm]
    if not out["llr_same"]:
        return None
    result = {k: np.concatenate(v) for k, v in out.items() if k != "pairs_different"}
    result["n_speakers"] = len({s for i, s in enumerate(speakers)})
    result["n_speaker_pairs"] = len(set(out["pairs_different"]))
    return result


def elub(llr_same: np.ndarray, llr_different: np.ndarray, *, same_units: int,
         different_units: int, step: float = 0.01) -> tuple[float, float]:
    """Natural-log (lower, upper) bounds on the LR that validation pairs support.

    After Vergeer et al. (2016), empirical lower and upper bounds: the LR at which the
    system stops doing better than saying LR = 1 in expected decision cost, at every prior
    odds that LR would tip. One misleading pseudo-unit of each kind is added (a
    same-speaker pair at LR 0, a different-speaker pair at LR infinity), weighted as one
    *speaker* (same) or one *pair of speakers* (different) rather than one pair of
    recordings: pairs of the same speakers are not independent, so a population of 20
    speakers cannot support an LR of 10,000 however many recordings it has.
    """
    ls = np.sort(np.asarray(llr_same, float) / LN10)
    ld = np.sort(np.asarray(llr_different, float) / LN10)
    ws = len(ls) / max(same_units, 1)
    wd = len(ld) / max(different_units, 1)
    grid = np.round(np.arange(-8.0, 8.0 + step / 2, step), 6)
    miss = (np.searchsorted(ls, grid, side="right") + ws) / (len(ls) + ws)
    fa = (len(ld) - np.searchsorted(ld, grid, side="right") + wd) / (len(ld) + wd)
    odds = 10.0 ** grid
    p_same, p_diff = 1 / (1 + odds), odds / (1 + odds)
    worse = p_same * miss + p_diff * fa >= np.minimum(p_same, p_diff)
    up = grid >= 0
    upper = grid[up][worse[up]].min() if worse[up].any() else grid[-1]
    down = grid <= 0
    lower = grid[down][worse[down]].max() if worse[down].any() else grid[0]
    return float(lower * LN10), float(upper * LN10)


def fit_cell(scores: np.ndarray, same: np.ndarray, pair_speakers: list[tuple[str, str]],
             *, n_folds: int = 2) -> dict[str, Any]:
    """A calibration for one condition: logistic fit on all pairs, held-out validation by
    speaker folds, and the LR bounds (:func:`elub`) that the held-out pairs support."""
    scores, same = np.asarray(scores, float), np.asarray(same, bool)
    a, b = fit_logistic(scores[same], scores[~same])
    held = held_out(scores, same, pair_speakers, n_folds=n_folds)
    if held is None:
        raise ParameterError("too few speakers to validate a calibration on speakers left "
                             "out of its fit (need pairs of both kinds in 2 folds)")
    lo, hi = elub(held["llr_same"], held["llr_different"], same_units=held["n_speakers"],
                  different_units=held["n_speaker_pairs"])
    ls, ld = np.clip(held["llr_same"], lo, hi), np.clip(held["llr_different"], lo, hi)
    held_cllr = cllr(ls, ld)
    return {
        "slope": a, "intercept": b,
        "score_min": float(scores.min()), "score_max": float(scores.max()),
        "llr_min": lo, "llr_max": hi,
        "n_speakers": len({s for p in pair_speakers for s in p}),
        "n_same": int(same.sum()), "n_different": int((~same).sum()),
        "cllr": round(held_cllr, 4),
        "cllr_min": round(cllr_min(held["same"], held["different"]), 4),
        "eer": round(eer(held["same"], held["different"]), 4),
        "useful": bool(held_cllr < USEFUL_CLLR and hi - lo > 2 * 0.3 * LN10),
    }


#: a condition whose held-out Cllr (after bounding) is this or worse gives no LR: its
#: scores tell the population's speakers apart too poorly for a number to mean anything
USEFUL_CLLR = 0.9


def calibrate(*, name: str, encoder: str, population: str,
              scores: np.ndarray, same: np.ndarray, pair_speakers: list[tuple[str, str]],
              window_scores: np.ndarray, window_same: np.ndarray,
              notes: str = "", n_folds: int = 2,
              cells: dict[str, dict[str, Any]] | None = None, rendering: str = "") -> Calibration:
    """Fit on all pairs; validate by fitting on some speakers and scoring pairs of the others.

    ``scores``/``same`` are whole-recording pair scores and their truth (same speaker?);
    ``pair_speakers`` names the two speakers of each pair, for the held-out split.
    ``cells`` are per-condition fits (:func:`fit_cell`) keyed by bucket.
    """
    scores, same = np.asarray(scores, float), np.asarray(same, bool)
    speakers = sorted({s for pair in pair_speakers for s in pair})
    if len(speakers) < 2:
        raise ParameterError("calibration needs at least 2 speakers")
    held = held_out(scores, same, pair_speakers, n_folds=n_folds)
    a, b = fit_logistic(scores[same], scores[~same])
    if held is not None:
        ls = _bound(held["llr_same"], int(same.sum()), int((~same).sum()))
        ld = _bound(held["llr_different"], int(same.sum()), int((~same).sum()))
        ss, sd = held["same"], held["different"]
        validation = (f"{n_folds}-fold by speaker: fitted on the pairs of some speakers, "
                      f"scored on pairs of the others ({len(ls)} same, {len(ld)} different)")
    else:
        validation = "too few speakers to hold any out: figures are on the fitting pairs"
        ss, sd = scores[same], scores[~same]
        ls = _bound(a * ss + b, len(ss), len(sd))
        ld = _bound(a * sd + b, len(ss), len(sd))
    window_scores, window_same = np.asarray(window_scores, float), np.asarray(window_same, bool)
    wa, wb = fit_logistic(window_scores[window_same], window_scores[~window_same])
    return Calibration(
        name=name, encoder=encoder, population=population, n_speakers=len(speakers),
        n_same=int(same.sum()), n_different=int((~same).sum()), slope=a, intercept=b,
        score_min=float(scores.min()), score_max=float(scores.max()),
        window_slope=wa, window_intercept=wb,
        window_score_min=float(window_scores.min()), window_score_max=float(window_scores.max()),
        cllr=round(cllr(ls, ld), 4), cllr_min=round(cllr_min(ss, sd), 4),
        eer=round(eer(ss, sd), 4), min_dcf=round(min_dcf(ss, sd), 4),
        validation=validation, notes=notes, cells=dict(cells or {}), rendering=rendering)


def default_calibration() -> Calibration:
    """The calibration shipped with purport (see its ``population`` and ``notes``)."""
    path = Path(__file__).parent / "data" / "default_calibration.json"
    return Calibration.from_dict(json.loads(path.read_text()))


VERBAL = [  # log10 LR upper bounds and the words that go with them (ENFSI 2015 scale)
    (1, "weak support"), (2, "moderate support"), (3, "moderately strong support"),
    (4, "strong support"), (6, "very strong support"), (np.inf, "extremely strong support"),
]


def verbal(log10_lr: float) -> str:
    """The verbal equivalent of a likelihood ratio, for the claimed or the other hypothesis."""
    if abs(log10_lr) < 0.3:
        return ("no real support either way (the evidence is about as probable whether or "
                "not the claimed speaker spoke)")
    strength = next(words for bound, words in VERBAL if abs(log10_lr) < bound)
    if log10_lr > 0:
        return f"{strength} for the claimed speaker over a random speaker of the population"
    return f"{strength} for a different speaker of the population over the claimed speaker"


def population_scores(vectors: list[np.ndarray], speakers: list[str],
                      window_vectors: list[np.ndarray], *, max_windows: int = 8,
                      seed: int = 0) -> dict[str, Any]:
    """Same- and different-speaker pair scores of a population, whole and per window.

    Whole: every pair of recordings. Window: up to ``max_windows`` windows of each
    recording against the whole embedding of every other recording.
    """
    rng = np.random.default_rng(seed)
    v = np.stack(vectors)
    spk = np.array(speakers)
    sim = v @ v.T
    i, j = np.triu_indices(len(v), k=1)
    scores, same = sim[i, j], spk[i] == spk[j]
    w_scores, w_same = [], []
    for a, wins in enumerate(window_vectors):
        if len(wins) == 0:
            continue
        pick = wins[rng.permutation(len(wins))[:max_windows]]
        s = pick @ v.T  # (windows, recordings)
        others = np.arange(len(v)) != a
        w_scores.append(s[:, others].reshape(-1))
        w_same.append(np.broadcast_to(spk[others] == spk[a], s[:, others].shape).reshape(-1))
    return {"scores": scores, "same": same,
            "pair_speakers": list(zip(spk[i].tolist(), spk[j].tolist(), strict=True)),
            "window_scores": np.concatenate(w_scores) if w_scores else np.zeros(0),
            "window_same": np.concatenate(w_same) if w_same else np.zeros(0, bool)}
