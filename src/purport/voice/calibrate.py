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

    def llr(self, score: float) -> float:
        """Natural-log LR of a whole-recording score, capped (score range, then LR bounds)."""
        s = min(max(float(score), self.score_min), self.score_max)
        return _bound(self.slope * s + self.intercept, self.n_same, self.n_different)

    def window_llr(self, score: float) -> float:
        """Natural-log LR of a window score (capped the same way)."""
        s = min(max(float(score), self.window_score_min), self.window_score_max)
        return _bound(self.window_slope * s + self.window_intercept, self.n_same,
                      self.n_different)

    def summary(self) -> dict[str, Any]:
        """What a report names: the calibration, its population and its held-out figures."""
        return {k: getattr(self, k) for k in (
            "name", "encoder", "population", "n_speakers", "n_same", "n_different", "cllr",
            "cllr_min", "eer", "min_dcf", "validation", "created", "notes")}

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


def calibrate(*, name: str, encoder: str, population: str,
              scores: np.ndarray, same: np.ndarray, pair_speakers: list[tuple[str, str]],
              window_scores: np.ndarray, window_same: np.ndarray,
              notes: str = "", n_folds: int = 2) -> Calibration:
    """Fit on all pairs; validate by fitting on some speakers and scoring pairs of the others.

    ``scores``/``same`` are whole-recording pair scores and their truth (same speaker?);
    ``pair_speakers`` names the two speakers of each pair, for the held-out split.
    """
    scores, same = np.asarray(scores, float), np.asarray(same, bool)
    speakers = sorted({s for pair in pair_speakers for s in pair})
    if len(speakers) < 2:
        raise ParameterError("calibration needs at least 2 speakers")
    held_llr_same, held_llr_diff, held_same, held_diff = [], [], [], []
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
        llr = _bound(a * np.clip(scores[test], lo, hi) + b, int((train & same).sum()),
                     int((train & ~same).sum()))
        held_llr_same.append(llr[same[test]])
        held_llr_diff.append(llr[~same[test]])
        held_same.append(scores[test & same])
        held_diff.append(scores[test & ~same])
    if held_llr_same:
        ls, ld = np.concatenate(held_llr_same), np.concatenate(held_llr_diff)
        ss, sd = np.concatenate(held_same), np.concatenate(held_diff)
        validation = (f"{n_folds}-fold by speaker: fitted on the pairs of some speakers, "
                      f"scored on pairs of the others ({len(ls)} same, {len(ld)} different)")
    else:
        ls = ld = ss = sd = None
        validation = "too few speakers to hold any out: figures are on the fitting pairs"
    a, b = fit_logistic(scores[same], scores[~same])
    if ls is None:
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
        validation=validation, notes=notes)


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
