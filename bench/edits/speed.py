"""CPU time of piecewise ENF placement at the size of the work: a 1-hour trace with a
10-minute splice from another day, placed in a 30-day log of 1 Hz values.

The log is the synthetic grid path of ``tests/test_timing.py`` (``busy_path``: a slow
wander with a few mHz of second-to-second detail, like ENF-WHU) so that every stretch of
the 30 days is distinct; the trace is that log under the recording's pieces plus 1 mHz of
estimation noise (no audio: this times :func:`purport.timing.pieces.place_pieces` alone;
bench/timing/speed.py times decoding and extraction). Prints the CPU seconds and each
piece against the truth.

    .venv/bin/python bench/edits/speed.py [--days 30] [--repeats 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.test_timing import START, busy_path, trace_of  # noqa: E402

from purport.timing import grid, pieces  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=1)
    a = ap.parse_args(argv)
    path = busy_path(a.days * 86400, seed=11)
    log = grid.GridLog(START, path)
    host, other = 5 * 86400 + 1234, 17 * 86400 + 777  # the splice: 12 days later
    f = np.concatenate([path[host:host + 1500], path[other:other + 600],
                        path[host + 1500:host + 3000]])
    f = f + np.random.default_rng(0).normal(0, 0.001, len(f))
    trace = trace_of(f)
    truth = [(0, 1500, host), (1500, 2100, other - 1500), (2100, 3600, host - 600)]
    for _ in range(a.repeats):
        t0 = time.process_time()
        found = pieces.place_pieces(trace, log)
        cpu = time.process_time() - t0
        print(f"{len(f) / 3600:.1f} h trace, {a.days}-day log: {cpu:.1f} s CPU, "
              f"{len(found)} pieces")
    for p, (q0, q1, offset) in zip(found, truth, strict=False):
        print(f"  {p.query_start:7.1f}-{p.query_end:7.1f} s (truth {q0}-{q1}): offset "
              f"{p.offset_seconds} (truth {offset}), placed {p.placed}, false-match "
              f"probability {p.false_match_probability:.1e}")


if __name__ == "__main__":
    main()
