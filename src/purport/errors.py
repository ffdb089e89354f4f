"""One exception tree: users and the CLI catch ``PurportError`` and nothing else."""


class PurportError(Exception):
    """Base of every error purport raises on purpose; its message is one clear line."""


class MediaError(PurportError):
    """A file that cannot be used as audio: unreadable, truncated, silent, too large."""


class ArchiveError(PurportError):
    """The archive refused a change or a lookup (unknown id, conflicting facts, bad URL)."""


class ArchiveBusyError(ArchiveError):
    """Another process held the archive's write lock for longer than the wait allowed."""


class NotFoundError(ArchiveError):
    """A speaker, recording or release named by the user is not in the archive."""


class ParameterError(PurportError):
    """An argument out of range or of the wrong form (a date, a role, a rate)."""
