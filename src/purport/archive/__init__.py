"""The archive: the only code that talks to the database (SQLite by default, PostgreSQL by URL)."""

from purport.archive.model import AddResult, Provenance, Recording, Release, Sighting, Speaker
from purport.archive.repository import Archive, Transaction

__all__ = [
    "AddResult",
    "Archive",
    "Provenance",
    "Recording",
    "Release",
    "Sighting",
    "Speaker",
    "Transaction",
]
