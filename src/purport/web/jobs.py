"""Background jobs, and the bound on CPU work in flight.

Long work (a whole verification) runs in a worker thread while its state, progress and
outcome are kept in the archive, where every page can read them. Heavy work answered within
its request (a match, an add) passes a :class:`Gate`: a few at once, a short queue, and past
that a clear "busy, retry after N s" rather than every request slowing down together.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from purport.archive import Archive, Job
from purport.errors import ArchiveBusyError, PurportError

log = logging.getLogger("purport.web")

#: what a job runs: given ``progress(fraction, message)``, returns its JSON result
Work = Callable[[Callable[[float, str], None]], dict[str, Any]]

#: the job parameter naming its upload's folder (see :class:`~purport.web.uploads.UploadArea`)
UPLOAD = "upload"
INTERRUPTED = "interrupted: the server stopped before this job finished: submit it again"
INTERNAL = "internal error (the server's log has the details)"


class Busy(Exception):
    """The server is at its limit for this kind of work: try again in ``retry_after`` s."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.message, self.retry_after = message, retry_after


class Gate:
    """At most ``slots`` pieces of heavy work at once, at most ``queue`` more waiting (first
    come, first served, each for up to ``wait`` seconds); anything past that is refused at
    once with :class:`Busy`.

    Use ``with gate.slot(): ...`` in the worker thread that does the work.
    """

    def __init__(self, slots: int, queue: int, *, wait: float = 60.0):
        if slots < 1 or queue < 0 or wait <= 0:
            raise ValueError("a gate needs slots >= 1, queue >= 0 and a positive wait")
        self.slots, self.queue, self.wait = slots, queue, wait
        self.running = 0
        self._waiting: deque[threading.Event] = deque()
        self._lock = threading.Lock()
        self._seconds = 1.0  # a running mean of how long work holds a slot

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def full(self) -> bool:
        """Whether work arriving now would be refused."""
        with self._lock:
            return self.running >= self.slots and len(self._waiting) >= self.queue

    def retry_after(self) -> int:
        """Seconds until the work now in hand is likely done (a whole number, at least 1)."""
        ahead = self.running + len(self._waiting)
        return max(1, math.ceil(self._seconds * ahead / self.slots))

    def busy(self, why: str) -> Busy:
        return Busy(f"the server is busy ({why}): retry in a few seconds",
                    self.retry_after())

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._lock:
            if self.running < self.slots and not self._waiting:
                self.running += 1
                turn = None
            elif len(self._waiting) >= self.queue:
                raise self.busy(f"{self.running} request(s) at work, "
                                 f"{len(self._waiting)} waiting")
            else:
                turn = threading.Event()
                self._waiting.append(turn)
        if turn is not None and not turn.wait(self.wait):
            with self._lock:
                if not turn.is_set():  # else the slot was handed over just in time
                    self._waiting.remove(turn)
                    raise self.busy(f"waited {self.wait:g} s for a turn")
        start = time.monotonic()
        try:
            yield
        finally:
            with self._lock:
                self._seconds = 0.7 * self._seconds + 0.3 * (time.monotonic() - start)
                if self._waiting:  # hand the slot on, in the order they came
                    self._waiting.popleft().set()
                else:
                    self.running -= 1


class JobRunner:
    """Runs jobs one at a time by default (the work is CPU-bound; the machine has few cores),
    with at most ``max_pending`` queued or running (past that :meth:`submit` says
    :class:`Busy`).

    At start, jobs the archive says are queued or running that no running server is at (a
    crash, a restart: ``alive(params)`` is false) are marked failed. ``redact`` cleans an
    error message before it is stored for clients to read.
    """

    def __init__(self, archive: Archive, *, workers: int = 1, max_pending: int = 10_000,
                 alive: Callable[[dict[str, Any]], bool] | None = None,
                 redact: Callable[[str], str] | None = None):
        self.archive, self.max_pending = archive, max_pending
        self.workers = workers
        self.redact = redact or (lambda text: text)
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="purport-job")
        self._pending: dict[Future, tuple[int, Callable[[], None] | None]] = {}
        self._lock = threading.Lock()
        self._seconds = 30.0  # a running mean of how long a job takes
        for job in archive.jobs(states=("queued", "running"), limit=10_000):
            if alive is not None and alive(job.params):
                continue  # another server on this archive is at it
            archive.update_job(job.id, state="failed", message="failed", error=INTERRUPTED)

    def full(self) -> bool:
        with self._lock:
            return len(self._pending) >= self.max_pending

    def retry_after(self) -> int:
        with self._lock:
            ahead = len(self._pending)
        return max(1, math.ceil(self._seconds * ahead / self.workers))

    def submit(self, kind: str, params: dict[str, Any], work: Work, *,
               token_id: int | None = None, cleanup: Callable[[], None] | None = None) -> Job:
        if self.full():
            raise Busy(f"the server is busy ({self.max_pending} job(s) queued or running): "
                       "retry later", self.retry_after())
        job = self.archive.add_job(kind, params, token_id=token_id)
        try:
            with self._lock:
                future = self.pool.submit(self._run, job.id, work, cleanup)
                self._pending[future] = (job.id, cleanup)
        except RuntimeError:  # the pool is shut down: the server is stopping
            self.archive.update_job(job.id, state="failed", message="failed",
                                    error=INTERRUPTED)
            raise Busy("the server is stopping: retry in a moment", 5) from None
        future.add_done_callback(self._forget)
        return job

    def _forget(self, future: Future) -> None:
        with self._lock:
            self._pending.pop(future, None)

    def _run(self, job_id: int, work: Work, cleanup: Callable[[], None] | None) -> None:
        archive = self.archive
        start = time.monotonic()
        try:
            archive.update_job(job_id, state="running", message="started")
            result = work(lambda fraction, message: self._note(job_id, fraction, message))
            archive.update_job(job_id, state="done", progress=1.0, message="done",
                               result=result)
        except PurportError as exc:
            archive.update_job(job_id, state="failed", message="failed",
                               error=self.redact(str(exc)))
        except Exception as exc:  # the server lives on; the job says what went wrong
            log.error("job %s failed:\n%s", job_id, traceback.format_exc())
            archive.update_job(job_id, state="failed", message="failed",
                               error=self._internal(exc))
        finally:
            self._seconds = 0.7 * self._seconds + 0.3 * (time.monotonic() - start)
            if cleanup is not None:
                cleanup()

    def _internal(self, exc: Exception) -> str:
        """An unexpected failure as a client may read it: its kind and the first line of its
        message without server paths; a database error (whose text quotes SQL) not even
        that."""
        if isinstance(exc, SQLAlchemyError):
            return f"{INTERNAL}: a database error"
        line = (str(exc).strip().splitlines() or [""])[0]
        line = self.redact(line if len(line) <= 200 else line[:200] + "...")
        return f"internal error: {type(exc).__name__}" + (f": {line}" if line else "")

    def _note(self, job_id: int, fraction: float, message: str) -> None:
        """Progress is news, not a result: a busy database (SQLite while a long batch is
        being filed) skips one update rather than failing the job."""
        try:
            self.archive.update_job(job_id, progress=fraction, message=message)
        except (OperationalError, ArchiveBusyError) as exc:
            log.warning("job %s: progress not recorded (%s)", job_id, exc)

    @property
    def pending(self) -> int:
        """How many jobs are queued or running here."""
        with self._lock:
            return len(self._pending)

    def busy(self) -> bool:
        """Whether a job is running or waiting."""
        return self.pending > 0

    def shutdown(self) -> None:
        """Stop taking work: jobs still queued are marked failed (their uploads removed);
        a running one finishes in its thread as the process exits."""
        with self._lock:
            pending = list(self._pending.items())
        self.pool.shutdown(wait=False, cancel_futures=True)
        for future, (job_id, cleanup) in pending:
            if future.cancelled():
                try:
                    self.archive.update_job(job_id, state="failed", message="failed",
                                            error=INTERRUPTED)
                except Exception as exc:  # the next server's start marks it instead
                    log.warning("job %s: not marked as interrupted (%s)", job_id, exc)
                if cleanup is not None:
                    cleanup()
