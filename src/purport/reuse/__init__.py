"""Reuse: which seconds of a questioned recording come from recordings in the archive.

>>> from purport.reuse import fingerprint, Index, match      # doctest: +SKIP
>>> index = Index(); index.add(1, fingerprint(ref, sr=16000))  # doctest: +SKIP
>>> match(index, fingerprint(query, sr=16000))               # doctest: +SKIP
"""

from purport.reuse.index import Index, from_bytes, to_bytes
from purport.reuse.landmarks import METHOD, SR, Fingerprint, fingerprint
from purport.reuse.match import LIMITS_TEXT, METHOD_TEXT, Match, match, match_self

__all__ = [
    "LIMITS_TEXT",
    "METHOD",
    "METHOD_TEXT",
    "SR",
    "Fingerprint",
    "Index",
    "Match",
    "fingerprint",
    "from_bytes",
    "match",
    "match_self",
    "to_bytes",
]
