"""A stop request (Ctrl-C, SIGTERM) that outlives code which swallows KeyboardInterrupt.

The signal handler raises KeyboardInterrupt where the program is, as Python's own does. A
C extension calling back into Python (a codec's log hook, say) can lose that exception, and
the work would then run to the end. So the request is also remembered, and :func:`check`
raises it again at the points that matter: after each file is decoded and before a
transaction commits.
"""

from __future__ import annotations

_requested = False


def request(signum: int | None = None, frame: object = None) -> None:
    """The signal handler: remember the request, and stop here."""
    global _requested
    _requested = True
    raise KeyboardInterrupt


def check() -> None:
    """Raise KeyboardInterrupt again if a stop was requested (and lost on the way)."""
    if _requested:
        raise KeyboardInterrupt


def reset() -> None:
    global _requested
    _requested = False
