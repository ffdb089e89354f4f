"""The service layer: joins the archive to the questions, and the Assessment.

``verify`` decodes a questioned recording once, fetches from the archive what each
question needs (the reuse index, the claimed speaker's reference embeddings, the grid
log, the speaker's record), runs the questions' pure cores on it and gathers their
answers in one :class:`Assessment`; ``verify_and_file`` also files the recording and
keeps the Assessment with it, in one transaction. One module per question's archive
join: :mod:`~purport.assess.reuse`, :mod:`~purport.assess.voice`,
:mod:`~purport.assess.timing`, :mod:`~purport.assess.record`; edit candidates in
:mod:`~purport.assess.edits`.

>>> from purport.archive import Archive                                  # doctest: +SKIP
>>> from purport.assess import verify                                    # doctest: +SKIP
>>> with Archive("purport.db") as archive:                               # doctest: +SKIP
...     a = verify("clip.ogg", archive=archive, claimed_speaker="Abu Fulan")
>>> a.summary()["reuse"]                                                 # doctest: +SKIP
"""

from purport.assess.verify import (
    SCHEMA_VERSION,
    Assessment,
    Skipped,
    verify,
    verify_and_file,
    verify_signal,
)

__all__ = [
    "SCHEMA_VERSION",
    "Assessment",
    "Skipped",
    "verify",
    "verify_and_file",
    "verify_signal",
]
