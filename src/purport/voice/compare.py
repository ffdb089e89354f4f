"""Questioned voice against reference voices: calibrated LRs, per window, and consistency."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy.cluster import hierarchy

from purport.voice.calibrate import LN10, Calibration, verbal
from purport.voice.conditions import CLEAN_CHANNEL, NETS, bucket_of
from purport.voice.embed import Embedded, Quality

METHOD_TEXT = (
    "Speech found by WebRTC's voice activity detector; speaker embeddings from {encoder} "
    "for all the speech and for 3-second speech windows (1.5 s apart); the cosine "
    "similarity of the questioned embedding to the mean of the reference embeddings "
    "(weighted by net speech). The questioned recording's condition is measured (net "
    "speech, speech-to-noise ratio, bandwidth) and put in a condition bucket that holds no "
    "more speech and no cleaner a channel than it has; the score is turned into a "
    "natural-log likelihood ratio by the logistic-regression calibration fitted for that "
    "bucket on a population rendered in it, and bounded by what that fit's held-out pairs "
    "support (empirical lower and upper bounds after Vergeer et al. 2016). When the bucket's "
    "held-out validation shows the scores carry too little information, no LR is given. "
    "Windows are rated with the 3-s bucket of the same channel; windows are "
    "clustered (average linkage on cosine distance; beyond {max_clustered} windows, an evenly "
    "spaced subset of them, the others joining the nearer cluster's centre) and a cluster "
    "whose voice the calibration rates as a different speaker from the rest is flagged.")
LIMITS_TEXT = (
    "A likelihood ratio, not a probability that the claimed speaker spoke: combine it with "
    "prior odds from the other evidence. Its strength is only as good as the calibration "
    "population's relevance to this case (language, channel, recording conditions, sex, "
    "age): with a population that does not resemble the case, the number can mislead. "
    "Impersonation, voice conversion or synthetic speech of the claimed speaker may score "
    "as the speaker; a recording re-using authentic speech (see reuse) will score as the "
    "speaker because it is the speaker. Short, noisy, clipped or codec-mismatched speech "
    "weakens the comparison (see warnings). The condition buckets are coarse (net speech "
    "3, 6, 15, 30 s; wide or telephone band; clean or noise about 20, 15, 10 dB below the "
    "speech, rendered as white noise and Opus); reverberation, babble, far-field "
    "microphones and reference recordings under about 30 s of speech are not rendered.")


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    llr: float
    log10_lr: float
    different_voice: bool


@dataclass(frozen=True)
class VoiceReport:
    """What ``purport voice compare --json`` prints."""

    llr: float | None
    log10_lr: float | None
    verbal: str
    score: float | None
    calibration: dict[str, Any]
    net_speech_seconds: dict[str, float]
    warnings: list[str]
    segments: list[Segment]
    consistency: dict[str, Any]
    references: list[str] = field(default_factory=list)
    method: str = ""
    limits: str = LIMITS_TEXT

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VoiceReport:
        """The report again from its ``to_dict()`` (a stored Assessment's part)."""
        kwargs = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        kwargs["segments"] = [Segment(**s) for s in data.get("segments", [])]
        return cls(**kwargs)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-9)


def profile(references: list[Embedded]) -> np.ndarray:
    """The reference voice: mean of the references' embeddings, weighted by net speech."""
    usable = [r for r in references if r.vector.size]
    if not usable:
        return np.zeros(0, np.float32)
    weights = np.array([r.quality.net_speech_seconds for r in usable])
    return _unit(np.average(np.stack([r.vector for r in usable]), axis=0, weights=weights))


#: windows clustered directly: average linkage holds all n^2/2 distances (3000: 36 MB,
#: 0.7 s); a 3-hour message has about 7000 windows (200 MB and 5 s before the linkage)
MAX_CLUSTERED = 3000


def consistency(q: Embedded, calibration: Calibration) -> tuple[np.ndarray, dict[str, Any]]:
    """Flag windows that cluster apart from the rest and that the calibration calls another voice.

    Returns (flag per window, summary). Two clusters by average linkage on cosine distance;
    the smaller is flagged when it has at least 2 windows and the window-level LLR of the
    two cluster centroids favours different speakers. Above ``MAX_CLUSTERED`` windows,
    every k-th window is clustered and each other window joins the cluster whose centroid
    is nearer (cosine), so time and memory stay bounded on whole messages.
    """
    n = len(q.window_vectors)
    flags = np.zeros(n, dtype=bool)
    if n < 4:
        return flags, {"checked": False, "reason": f"only {n} speech windows (need 4)"}
    labels = _two_clusters(q.window_vectors)
    sizes = {c: int(np.sum(labels == c)) for c in np.unique(labels)}
    if len(sizes) < 2:
        return flags, {"checked": True, "different_voice_windows": 0}
    minority = min(sizes, key=lambda c: (sizes[c], c))
    a = _unit(q.window_vectors[labels == minority].mean(axis=0))
    b = _unit(q.window_vectors[labels != minority].mean(axis=0))
    score = float(a @ b)
    llr = calibration.window_llr(score)
    different = sizes[minority] >= 2 and llr < 0
    if different:
        flags = labels == minority
    return flags, {"checked": True, "clusters": sorted(sizes.values(), reverse=True),
                   "between_cluster_score": round(score, 4),
                   "between_cluster_log10_lr": round(llr / LN10, 3),
                   "different_voice_windows": int(flags.sum())}


def _two_clusters(vectors: np.ndarray) -> np.ndarray:
    """Cluster label (1 or 2) per row: average linkage on cosine distance, cut at two
    clusters; over ``MAX_CLUSTERED`` rows, on every k-th row, the rest by nearer centroid."""
    step = -(-len(vectors) // MAX_CLUSTERED)
    tree = hierarchy.linkage(vectors[::step], method="average", metric="cosine")
    sampled = hierarchy.fcluster(tree, 2, criterion="maxclust")
    if step == 1:
        return sampled
    found = np.unique(sampled)
    centres = np.stack([_unit(vectors[::step][sampled == c].mean(axis=0)) for c in found])
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
    labels = found[np.argmax(unit @ centres.T, axis=1)]
    labels[::step] = sampled
    return labels


def rate(score: float, quality: Quality, calibration: Calibration, *,
         reference_channel: str = CLEAN_CHANNEL
         ) -> tuple[float | None, dict[str, Any], list[str]]:
    """The natural-log LR of a whole-recording score in the questioned recording's
    condition, the condition used (bucket, its validation, its bounds) and notes.

    None, with the reason in the condition, when the recording falls in no bucket, the
    calibration has no fit for its bucket, or that fit's held-out validation shows the
    scores carry too little information there: a number would then mislead. The cells
    were fitted with references rendered in the questioned channel, so ``reference_channel``
    (the channel the references were rendered in) must be the bucket's.
    """
    bucket, reason = bucket_of(quality)
    condition: dict[str, Any] = {"measured": {
        "net_speech_seconds": quality.net_speech_seconds, "snr_db": quality.snr_db,
        "bandwidth_hz": quality.bandwidth_hz}}
    if bucket is None:
        return None, {**condition, "reason": reason}, []
    condition.update(bucket=bucket.key, description=bucket.describe(),
                     rendering=calibration.rendering)
    cell = calibration.cells.get(bucket.key)
    if reference_channel != bucket.channel:
        why = (f"the references were rendered in channel {reference_channel}, not in the "
               f"questioned recording's ({bucket.channel}): render them with "
               "purport.voice.conditions.render before comparing")
        return None, {**condition, "reason": why}, []
    if cell is None:
        why = (f"calibration {calibration.name} was not fitted or validated for this "
               f"condition ({bucket.describe()}): fit one on a population rendered like "
               "the questioned recording with `purport voice calibrate --population DIR "
               "--conditions QUESTIONED`")
        return None, {**condition, "reason": why}, []
    condition.update({k: cell[k] for k in ("cllr", "cllr_min", "eer", "n_speakers",
                                           "n_same", "n_different")},
                     bounds_log10=[round(cell["llr_min"] / LN10, 2),
                                   round(cell["llr_max"] / LN10, 2)])
    if not cell["useful"]:
        why = (f"in this condition ({bucket.describe()}) the calibration population's "
               f"speakers left out of the fit were told apart too poorly for an LR to mean "
               f"anything (held-out Cllr {cell['cllr']}, EER {cell['eer']:.0%})")
        return None, {**condition, "reason": why}, []
    llr, notes = calibration.cell_llr(score, bucket.key)
    return llr, condition, notes


def _window_cell(quality: Quality, calibration: Calibration) -> str | None:
    """The cell that rates 3-s windows of this recording, if it has a useful one."""
    bucket, _ = bucket_of(quality, net=NETS[0])
    cell = calibration.cells.get(bucket.key) if bucket else None
    return bucket.key if cell is not None and cell["useful"] else None


def compare(questioned: Embedded, references: list[Embedded], calibration: Calibration, *,
            reference_names: list[str] | None = None,
            codecs: tuple[str, list[str]] | None = None,
            reference_channel: str = CLEAN_CHANNEL) -> VoiceReport:
    """The questioned recording against the reference profile, whole and window by window.

    ``reference_channel`` is the channel the references were rendered in
    (:func:`purport.voice.conditions.reference_bucket`); it must be the questioned
    recording's for a number to be given.
    """
    warnings = [f"questioned: {w}" for w in questioned.quality.warnings]
    ref_speech = float(sum(r.quality.net_speech_seconds for r in references))
    for i, r in enumerate(references):
        label = reference_names[i] if reference_names else f"reference {i + 1}"
        warnings += [f"{label}: {w}" for w in r.quality.warnings if "net speech" not in w]
    if ref_speech < 10:
        warnings.append(f"references hold only {ref_speech:.1f} s of net speech in all")
    if questioned.encoder != calibration.encoder:
        warnings.append(f"calibration {calibration.name} was fitted for encoder "
                        f"{calibration.encoder}, not {questioned.encoder}: its LRs do not apply")
    if codecs is not None:
        q_codec, r_codecs = codecs
        if r_codecs and q_codec not in r_codecs:
            warnings.append(f"codec mismatch: questioned is {q_codec}, references are "
                            f"{', '.join(sorted(set(r_codecs)))}")
    ref = profile(references)
    net = {"questioned": questioned.quality.net_speech_seconds, "reference": round(ref_speech, 2)}
    method = METHOD_TEXT.format(encoder=questioned.encoder, max_clustered=MAX_CLUSTERED)
    if questioned.vector.size == 0 or ref.size == 0:
        which = ("questioned recording holds" if questioned.vector.size == 0
                 else "references hold")
        return VoiceReport(llr=None, log10_lr=None,
                           verbal=f"no comparison: the {which} too little speech",
                           score=None, calibration=calibration.summary(),
                           net_speech_seconds=net, warnings=warnings, segments=[],
                           consistency={"checked": False}, references=reference_names or [],
                           method=method)
    score = float(questioned.vector @ ref)
    llr, condition, notes = rate(score, questioned.quality, calibration,
                                 reference_channel=reference_channel)
    warnings += notes
    cal_summary = {**calibration.summary(), "condition": condition}
    if llr is None:
        return VoiceReport(llr=None, log10_lr=None, verbal=f"no useful LR: {condition['reason']}",
                           score=round(score, 4), calibration=cal_summary,
                           net_speech_seconds=net, warnings=warnings, segments=[],
                           consistency={"checked": False}, references=reference_names or [],
                           method=method)
    flags, summary = consistency(questioned, calibration)
    segments = []
    window_key = _window_cell(questioned.quality, calibration)
    if window_key is None and len(questioned.window_vectors):
        warnings.append("windows are not rated: the calibration has no useful fit for 3 s of "
                        "speech in this channel (their log10 LR is shown as 0)")
    for (start, end), vec, flag in zip(questioned.window_times, questioned.window_vectors,
                                       flags, strict=True):
        w = calibration.cell_llr(float(vec @ ref), window_key)[0] if window_key else 0.0
        segments.append(Segment(start=round(float(start), 2), end=round(float(end), 2),
                                llr=round(w, 3), log10_lr=round(w / LN10, 3),
                                different_voice=bool(flag)))
    if summary.get("different_voice_windows"):
        spans = [f"{s.start:.1f}-{s.end:.1f} s" for s in segments if s.different_voice]
        warnings.append("windows that sound like a different voice from the rest: "
                        + ", ".join(spans))
    return VoiceReport(
        llr=round(llr, 4), log10_lr=round(llr / LN10, 4), verbal=verbal(llr / LN10),
        score=round(score, 4), calibration=cal_summary, net_speech_seconds=net,
        warnings=warnings, segments=segments, consistency=summary,
        references=reference_names or [], method=method)
