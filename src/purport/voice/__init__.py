"""Voice: is it the claimed speaker? Calibrated likelihood ratios, whole and per window.

>>> from purport.voice import embed_recording, compare, default_calibration  # doctest: +SKIP
>>> q = embed_recording(y, sr=16000)                                        # doctest: +SKIP
>>> compare(q, [embed_recording(r, sr=16000)], default_calibration()).log10_lr  # doctest: +SKIP
"""

from purport.voice.calibrate import (
    Calibration,
    calibrate,
    cllr,
    cllr_min,
    default_calibration,
    eer,
    min_dcf,
    population_scores,
    verbal,
)
from purport.voice.compare import LIMITS_TEXT, VoiceReport, compare, consistency, profile
from purport.voice.embed import Embedded, Encoder, embed_recording, load_encoder

__all__ = [
    "LIMITS_TEXT",
    "Calibration",
    "Embedded",
    "Encoder",
    "VoiceReport",
    "calibrate",
    "cllr",
    "cllr_min",
    "compare",
    "consistency",
    "default_calibration",
    "eer",
    "embed_recording",
    "load_encoder",
    "min_dcf",
    "population_scores",
    "profile",
    "verbal",
]
