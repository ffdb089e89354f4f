"""The exact truth of a case, as ``generate.py`` writes it into ``manifest.json`` and
``run.py`` reads it back.

Every time is in seconds. ``ref_*`` times are on the archive recording as purport decodes
it; ``query_*`` times on the questioned file. The cut points (``*_start`` / ``*_end``) are
where the edit was made; they lie in pauses, so the audio cannot show a boundary more
exactly than the pause around it: ``*_speech_start`` / ``*_speech_end`` are the first and
last speech inside the piece, and ``query_quiet_start`` / ``query_quiet_end`` the last
speech before the piece and the first after it in the case (0 and the case's length at its
ends). Between ``query_quiet_start`` and ``query_speech_start`` there is no speech, only
background, so a reported start anywhere there is as right as the cut itself (likewise
for the end).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class TruthPiece:
    """One re-used piece of an archive recording inside a questioned case."""

    recording: str  # archive file name (the name purport files it under)
    release: int
    kind: str  # excerpt-short | excerpt | speed | tempo | pitch | compilation | reupload
    cut: str  # "pause" (cut points in pauses) | "hard" (wherever they fell) | "trim"
    transform: str  # none | speed | tempo | pitch
    time_factor: float  # query duration / ref duration
    pitch_factor: float  # query pitch / ref pitch
    ref_start: float
    ref_end: float
    ref_speech_start: float
    ref_speech_end: float
    query_start: float
    query_end: float
    query_speech_start: float
    query_speech_end: float
    query_quiet_start: float
    query_quiet_end: float
    level_db: float  # gain applied to the piece before the case's own gain

    @property
    def seconds(self) -> float:
        """Length of the piece on the archive recording."""
        return self.ref_end - self.ref_start

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return asdict(self)

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> TruthPiece:
        """Back from the manifest (unknown keys ignored)."""
        return cls(**{f.name: row[f.name] for f in fields(cls)})


@dataclass(frozen=True)
class TruthRepeat:
    """A copy-paste edit inside one case: ``first`` was pasted again at ``second``."""

    first_start: float
    first_end: float
    second_start: float
    second_end: float
    first_speech_start: float
    first_speech_end: float

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return asdict(self)

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> TruthRepeat:
        """Back from the manifest (unknown keys ignored)."""
        return cls(**{f.name: row[f.name] for f in fields(cls)})
