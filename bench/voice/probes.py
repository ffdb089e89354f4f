"""Behaviour probes of purport's voice pipeline, beyond the trial metrics.

* :func:`gain_probe`: the same recording played louder or quieter (a plain gain, clipped at
  full scale) should keep its embedding; the cosine to the original is compared with the
  scores that separate speakers.
* :func:`splice_probe`: two 6 s recordings joined into one 12 s questioned recording, of
  two different speakers (a splice) or of one speaker (the control): how often does the
  consistency check flag the windows of the second voice?
* :func:`compare_probe`: ``compare()`` on genuine single-speaker questioned recordings: does
  it reproduce the trial score and LLR, and how often does its consistency check call some
  windows "a different voice" although one speaker speaks throughout?
"""

from __future__ import annotations

import corpus
import numpy as np
from embedding import Embeddings
from scoring import usable

from purport.voice import compare

GAINS_DB = (-30, -20, -10, -6, 6, 12)


def gain_probe(duration: float = 6.0, per_speaker: int = 5, seed: int = 0) -> dict:
    """Cosine of each recording's embedding with that of a gain-changed copy."""
    from purport.voice import embed_recording, load_encoder

    encoder = load_encoder()
    recs = corpus.fsdd_recordings("B", duration, seed=seed, max_per_speaker=per_speaker)
    rows = {g: [] for g in GAINS_DB}
    net = {g: [] for g in GAINS_DB}
    for r in recs:
        base = embed_recording(r.y, sr=r.sr, encoder=encoder)
        for g in GAINS_DB:
            y = np.clip(r.y * 10 ** (g / 20), -1, 1)
            e = embed_recording(y, sr=r.sr, encoder=encoder)
            rows[g].append(float(e.vector @ base.vector) if e.vector.size else float("nan"))
            net[g].append(e.quality.net_speech_seconds - base.quality.net_speech_seconds)
    by_speaker = {}
    for s in corpus.FSDD_SPEAKERS:
        idx = [i for i, r in enumerate(recs) if r.speaker == s]
        by_speaker[s] = {f"{g:+d} dB": round(float(np.nanmedian([rows[g][i] for i in idx])), 3)
                         for g in GAINS_DB}
    return {"duration": duration, "recordings": len(recs),
            "cosine_median": {f"{g:+d} dB": round(float(np.nanmedian(rows[g])), 3)
                              for g in GAINS_DB},
            "cosine_min": {f"{g:+d} dB": round(float(np.nanmin(rows[g])), 3) for g in GAINS_DB},
            "net_speech_change_median_s": {f"{g:+d} dB": round(float(np.median(net[g])), 2)
                                           for g in GAINS_DB},
            "cosine_median_by_speaker": by_speaker}


def compare_probe(q: Embeddings, r: Embeddings, t: dict, cal, llr: np.ndarray,
                  *, max_checks: int = 200, seed: int = 0) -> dict:
    """Run ``compare()`` on a sample of trials; count splice flags on single-speaker audio."""
    rng = np.random.default_rng(seed)
    qi, ri = t["pair_index"]
    pick = rng.permutation(len(qi))[:max_checks]
    score_err = llr_err = 0.0
    for k in pick:
        rep = compare(q.embedded(int(qi[k])), [r.embedded(int(ri[k]))], cal)
        score_err = max(score_err, abs(rep.score - float(t["scores"][k])))
        llr_err = max(llr_err, abs(rep.llr - float(llr[k])))
    flagged, checked, windows_flagged, windows = 0, 0, 0, 0
    ref_any = r.embedded(int(np.flatnonzero(usable(r))[0]))
    for i in np.flatnonzero(usable(q)):
        rep = compare(q.embedded(int(i)), [ref_any], cal)
        if not rep.consistency.get("checked"):
            continue
        checked += 1
        n_flag = sum(s.different_voice for s in rep.segments)
        flagged += n_flag > 0
        windows_flagged += n_flag
        windows += len(rep.segments)
    return {"compare_checked_trials": len(pick), "max_score_difference": score_err,
            "max_llr_difference": llr_err,
            "consistency_checked_recordings": checked,
            "recordings_flagged_different_voice": flagged,
            "flag_rate": flagged / checked if checked else None,
            "windows_flagged": windows_flagged, "windows": windows}


def splice_probe(cals: dict, pairs: int = 12, seed: int = 0) -> dict:
    """Consistency-check detection of a second speaker spliced in, per calibration."""
    from purport.voice import consistency, embed_recording, load_encoder

    encoder = load_encoder()
    recs = corpus.fsdd_recordings("B", 6.0, seed=seed)
    by = {s: [r for r in recs if r.speaker == s] for s in corpus.FSDD_SPEAKERS}
    rng = np.random.default_rng(corpus.seed_of("splice", seed))
    spk = list(corpus.FSDD_SPEAKERS)
    out = {name: {"splice_flagged": 0, "control_flagged": 0, "splice_windows_right": 0,
                  "splice_windows": 0, "checked": 0} for name in cals}
    for k in range(pairs):
        a, b = rng.choice(len(spk), size=2, replace=False)
        x = by[spk[a]][k % len(by[spk[a]])]
        y = by[spk[b]][(k + 1) % len(by[spk[b]])]
        x2 = by[spk[a]][(k + 2) % len(by[spk[a]])]
        splice = embed_recording(np.r_[x.y, y.y], sr=x.sr, encoder=encoder)
        control = embed_recording(np.r_[x.y, x2.y], sr=x.sr, encoder=encoder)
        second = splice.window_times[:, 0] >= 6.0   # windows wholly in the second voice
        for name, cal in cals.items():
            flags, summary = consistency(splice, cal)
            cflags, _ = consistency(control, cal)
            o = out[name]
            o["checked"] += bool(summary.get("checked"))
            o["splice_flagged"] += bool(flags.any())
            o["control_flagged"] += bool(cflags.any())
            o["splice_windows"] += int(len(flags))
            # a flag is right when it separates the two voices (either side may be flagged)
            if flags.any():
                o["splice_windows_right"] += int(max(np.sum(flags == second),
                                                     np.sum(flags != second)))
    return {"pairs": pairs, "by_calibration": out}
