"""Walking a job's work list: every row, page by page, until the list ends or the job stops.

The work lists of ``projections.queries`` (``list_pending_payments``, ``list_stale_requests``,
``list_releasable``, ``list_users_without_wallet``) are keyset-paginated: each takes
``limit`` and ``after_id``, the id of the last row of the page before. ``work_list`` turns one
into an iterator over its rows that reads a page of ``ctx.batch_size`` only once the caller
has handled the page before, so memory does not grow with the backlog and what the job
changes behind the cursor is not read again in this run.

It stops between rows as soon as ``ctx.stop`` is set (the runner is shutting down), and after
a short page (nothing was left when it was read: rows that appear later wait for the next
run). What it deliberately does not do: catch the read tables up (the job does, first).
"""

import threading
from collections.abc import Iterator, Sequence
from typing import Protocol, TypeVar
from uuid import UUID


class Run(Protocol):
    """What paging needs of a job's run (a ``jobs.base.JobContext`` is one)."""

    @property
    def stop(self) -> threading.Event: ...

    @property
    def batch_size(self) -> int: ...


class Identified(Protocol):
    @property
    def id(self) -> UUID: ...


R = TypeVar("R", bound=Identified)
R_co = TypeVar("R_co", bound=Identified, covariant=True)


class WorkList(Protocol[R_co]):
    """A keyset-paginated work list (its other filters already bound, e.g. with ``partial``)."""

    def __call__(self, *, limit: int, after_id: UUID | None) -> Sequence[R_co]: ...


def work_list(ctx: Run, fetch: WorkList[R]) -> Iterator[R]:
    """Every row of ``fetch``, page by page (see the module docstring)."""
    after: UUID | None = None
    while not ctx.stop.is_set():
        page = fetch(limit=ctx.batch_size, after_id=after)
        for row in page:
            if ctx.stop.is_set():
                return
            yield row
        if len(page) < ctx.batch_size:
            return
        after = page[-1].id


__all__ = ["Identified", "Run", "WorkList", "work_list"]
