"""Edits: was the recording cut or spliced, and where?

One module per detector family, each a pure function over the signal (``y``, ``sr`` in,
:class:`Candidate` out): :mod:`~purport.edits.join` (digital silence, clicks, DC steps),
:mod:`~purport.edits.background` (the room tone in the pauses),
:mod:`~purport.edits.channel` (bandwidth), :mod:`~purport.edits.enf` (hum steps and
jumps between placed pieces) and :mod:`~purport.edits.questions` (re-used spans,
self-repeats, voice changes); :mod:`~purport.edits.fuse` runs them all and puts every
candidate on one time axis with its detector's measured false alarms per hour.

>>> from purport.edits import detect                          # doctest: +SKIP
>>> detect(y, sr=16000).candidates                             # doctest: +SKIP
"""

from purport.edits.base import Candidate, Detector, calibration
from purport.edits.fuse import DETECTORS, LIMITS, METHOD, EditsReport, detect

__all__ = ["DETECTORS", "LIMITS", "METHOD", "Candidate", "Detector", "EditsReport",
           "calibration", "detect"]
