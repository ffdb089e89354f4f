"""The archive: the only code that talks to the database (SQLite by default, PostgreSQL by URL)."""

from purport.archive import audit
from purport.archive.model import (
    AddResult,
    Job,
    Provenance,
    Recording,
    Release,
    Sighting,
    Speaker,
    StoredAssessment,
    Token,
)
from purport.archive.repository import Archive, Transaction

__all__ = [
    "AddResult",
    "Archive",
    "Job",
    "Provenance",
    "Recording",
    "Release",
    "Sighting",
    "Speaker",
    "StoredAssessment",
    "Token",
    "Transaction",
    "audit",
]
