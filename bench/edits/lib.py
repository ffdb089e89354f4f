"""The other benchmarks' code this one imports (never copies), and the paths it shares.

``bench/timing/synth.py`` imports its own ``speech`` module (``SR``, ``resample``) and
``bench/cases/speech.py`` has the same name, so bench/timing's modules are imported
first with their folder on ``sys.path``, their ``speech`` is then taken out of
``sys.modules``, and bench/cases (with bench/reuse's ``textpool``) comes after. The folders
are appended to ``sys.path``: bench/edits' own modules come first (bench/cases has a
``generate``, ``report`` and ``score`` of its own).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent
ROOT = BENCH.parent
CACHE = HERE / ".cache"

_timing = str(BENCH / "timing")
sys.path.append(_timing)
import gridlog  # noqa: E402
import synth  # noqa: E402

timing_speech = sys.modules.pop("speech")
sys.path.remove(_timing)

# appended, not put first: bench/cases has a generate.py, report.py and score.py of its own
sys.path.append(str(BENCH / "cases"))
sys.path.append(str(ROOT))  # tests.speechlike
import audio  # noqa: E402
import plan as cases_plan  # noqa: E402
import speech  # noqa: E402
from tests import speechlike  # noqa: E402

SR = 16000
assert SR == synth.SR == cases_plan.SR == timing_speech.SR

__all__ = ["audio", "cases_plan", "gridlog", "speech", "speechlike", "synth", "timing_speech",
           "SR", "HERE", "ROOT", "CACHE"]
