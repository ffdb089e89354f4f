"""Background jobs: long work (a whole verification) runs in a worker thread while its
state, progress and outcome are kept in the archive, where every page can read them."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy.exc import OperationalError

from purport.archive import Archive, Job
from purport.errors import PurportError

log = logging.getLogger("purport.web")

#: what a job runs: given ``progress(fraction, message)``, returns its JSON result
Work = Callable[[Callable[[float, str], None]], dict[str, Any]]


class JobRunner:
    """Runs jobs one at a time by default (the work is CPU-bound; the machine has few cores)."""

    def __init__(self, archive: Archive, *, workers: int = 1):
        self.archive = archive
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="purport-job")
        interrupted = archive.jobs(states=("queued", "running"), limit=10_000)
        for job in interrupted:  # left over from a server that stopped mid-way
            archive.update_job(job.id, state="failed", message="failed",
                               error="the server stopped before this job finished: submit "
                                     "it again")

    def submit(self, kind: str, params: dict[str, Any], work: Work, *,
               token_id: int | None = None, cleanup: Callable[[], None] | None = None) -> Job:
        job = self.archive.add_job(kind, params, token_id=token_id)
        self.pool.submit(self._run, job.id, work, cleanup)
        return job

    def _run(self, job_id: int, work: Work, cleanup: Callable[[], None] | None) -> None:
        archive = self.archive
        try:
            archive.update_job(job_id, state="running", message="started")
            result = work(lambda fraction, message: self._note(job_id, fraction, message))
            archive.update_job(job_id, state="done", progress=1.0, message="done",
                               result=result)
        except PurportError as exc:
            archive.update_job(job_id, state="failed", message="failed", error=str(exc))
        except Exception as exc:  # the server lives on; the job says what went wrong
            log.error("job %s failed:\n%s", job_id, traceback.format_exc())
            archive.update_job(job_id, state="failed", message="failed",
                               error=f"internal error: {type(exc).__name__}: {exc}")
        finally:
            if cleanup is not None:
                cleanup()

    def _note(self, job_id: int, fraction: float, message: str) -> None:
        """Progress is news, not a result: a busy database (SQLite while a long batch is
        being filed) skips one update rather than failing the job."""
        try:
            self.archive.update_job(job_id, progress=fraction, message=message)
        except OperationalError as exc:
            log.warning("job %s: progress not recorded (%s)", job_id, exc.orig)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
