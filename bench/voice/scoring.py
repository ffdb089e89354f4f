"""Trials, calibrations and metrics.

A trial is a questioned recording against a reference recording of the same population,
split and duration: same speaker (other takes or other text) or a different speaker. Its
score is what :func:`purport.voice.compare` computes with one reference: the cosine of the
questioned embedding with the reference profile (the unit reference embedding).

* Matched channel (questioned and reference in the same version): every unordered pair of
  recordings, scored with :func:`purport.voice.population_scores`, the function purport's
  own ``voice calibrate`` uses.
* Mismatched channel (questioned in version X, reference clean): every ordered pair of
  different recordings, questioned side in X, reference side clean (:func:`cross_scores`,
  the same arithmetic).
"""

from __future__ import annotations

import numpy as np
from embedding import Embeddings

from purport.voice import cllr, cllr_min, eer, min_dcf, population_scores

P_TARGET = 0.01


def usable(e: Embeddings) -> np.ndarray:
    """Recordings with a whole-recording embedding (enough speech)."""
    return np.any(e.vectors != 0, axis=1)


def matched_scores(e: Embeddings, *, seed: int = 0) -> dict:
    """All unordered pairs of one unit (purport's ``population_scores``)."""
    keep = np.flatnonzero(usable(e))
    return population_scores([e.vectors[i] for i in keep], [e.speakers[i] for i in keep],
                             [e.windows(i) for i in keep], seed=seed)


def cross_scores(q: Embeddings, r: Embeddings, *, max_windows: int = 8, seed: int = 0) -> dict:
    """Ordered pairs (i questioned in ``q``'s version, j reference in ``r``'s), i != j.

    ``q`` and ``r`` are two versions of the same recordings (same keys). Window scores: up to
    ``max_windows`` windows of each questioned recording against every other reference.
    """
    if q.keys != r.keys:
        raise ValueError("cross_scores needs two versions of the same recordings")
    rng = np.random.default_rng(seed)
    keep = np.flatnonzero(usable(q) & usable(r))
    spk = np.array(q.speakers)[keep]
    sim = q.vectors[keep] @ r.vectors[keep].T
    i, j = np.nonzero(~np.eye(len(keep), dtype=bool))
    w_scores, w_same = [], []
    for a, idx in enumerate(keep):
        wins = q.windows(idx)
        if len(wins) == 0:
            continue
        pick = wins[rng.permutation(len(wins))[:max_windows]]
        s = pick @ r.vectors[keep].T
        others = np.arange(len(keep)) != a
        w_scores.append(s[:, others].reshape(-1))
        w_same.append(np.broadcast_to(spk[others] == spk[a], s[:, others].shape).reshape(-1))
    return {"scores": sim[i, j], "same": spk[i] == spk[j],
            "pair_speakers": list(zip(spk[i].tolist(), spk[j].tolist(), strict=True)),
            "window_scores": np.concatenate(w_scores) if w_scores else np.zeros(0),
            "window_same": np.concatenate(w_same) if w_same else np.zeros(0, bool),
            "pair_index": (keep[i], keep[j])}


def trials(q: Embeddings, r: Embeddings) -> dict:
    """Trials of questioned version ``q`` against references ``r`` (matched when the same)."""
    if q is r:
        t = matched_scores(q)
        keep = np.flatnonzero(usable(q))
        i, j = np.triu_indices(len(keep), k=1)
        t["pair_index"] = (keep[i], keep[j])
        return t
    return cross_scores(q, r)


def calibration_input(t: dict) -> dict:
    """The keyword arguments :func:`purport.voice.calibrate` takes from a trial set."""
    return {k: t[k] for k in ("scores", "same", "pair_speakers", "window_scores",
                              "window_same")}


def llrs(cal, scores: np.ndarray) -> np.ndarray:
    """Natural-log LRs of ``scores`` through the calibration's own (capped) ``llr``."""
    return np.array([cal.llr(float(s)) for s in scores])


def discrimination(t: dict) -> dict:
    """Calibration-free figures of a trial set: EER, minDCF, Cllr_min, counts, score stats."""
    s, same = np.asarray(t["scores"], float), np.asarray(t["same"], bool)
    return {"n_same": int(same.sum()), "n_different": int((~same).sum()),
            "eer": eer(s[same], s[~same]),
            "min_dcf": min_dcf(s[same], s[~same], p_target=P_TARGET),
            "cllr_min": cllr_min(s[same], s[~same]),
            "score_same_median": float(np.median(s[same])),
            "score_different_median": float(np.median(s[~same])),
            "score_different_p99": float(np.percentile(s[~same], 99))}


def calibration_figures(cal, t: dict) -> dict:
    """Cllr of the calibrated LLRs on trials ``t``, and how the LRs fall."""
    s, same = np.asarray(t["scores"], float), np.asarray(t["same"], bool)
    llr = llrs(cal, s)
    ls, ld = llr[same], llr[~same]
    return {"cllr": cllr(ls, ld),
            "misleading_same": float(np.mean(ls < 0)),       # same speaker, LR < 1
            "misleading_different": float(np.mean(ld > 0)),  # different, LR > 1
            "strong_misleading_different": float(np.mean(ld > np.log(100))),
            "log10_lr_same_median": float(np.median(ls) / np.log(10)),
            "log10_lr_different_median": float(np.median(ld) / np.log(10)),
            "outside_range": float(np.mean((s < cal.score_min) | (s > cal.score_max))),
            "llr_same": ls, "llr_different": ld}
