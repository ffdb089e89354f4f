"""purport: verify purported audio statements and keep each speaker's record.

Four questions (reuse, voice, timing, edits) answered with evidence and numbers,
filed in an archive of speakers, recordings and releases.
"""

from purport.errors import ArchiveError, MediaError, NotFoundError, ParameterError, PurportError

__version__ = "0.1.0"

__all__ = [
    "ArchiveError",
    "MediaError",
    "NotFoundError",
    "ParameterError",
    "PurportError",
    "__version__",
]
