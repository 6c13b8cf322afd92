"""A job walks its work list page by page, lazily, and stops between rows when asked."""

import threading
import uuid
from dataclasses import dataclass, field
from uuid import UUID

from jobs.paging import work_list


@dataclass(frozen=True)
class Row:
    id: UUID


@dataclass
class Run:
    batch_size: int
    stop: threading.Event = field(default_factory=threading.Event)


class FakeWorkList:
    """Rows in id order, paged like the queries' work lists; remembers each call."""

    def __init__(self, count: int) -> None:
        self.rows = sorted((Row(uuid.uuid4()) for _ in range(count)), key=lambda r: str(r.id))
        self.calls: list[UUID | None] = []

    def __call__(self, *, limit: int, after_id: UUID | None) -> list[Row]:
        self.calls.append(after_id)
        after = "" if after_id is None else str(after_id)
        return [r for r in self.rows if str(r.id) > after][:limit]


def test_every_row_comes_once_in_order_across_pages() -> None:
    fetch = FakeWorkList(7)
    assert list(work_list(Run(batch_size=3), fetch)) == fetch.rows
    assert fetch.calls == [None, fetch.rows[2].id, fetch.rows[5].id]  # the short page ends it


def test_a_full_last_page_costs_one_more_empty_read() -> None:
    fetch = FakeWorkList(6)
    assert list(work_list(Run(batch_size=3), fetch)) == fetch.rows
    assert fetch.calls == [None, fetch.rows[2].id, fetch.rows[5].id]


def test_the_next_page_is_read_only_once_the_page_before_is_handled() -> None:
    fetch = FakeWorkList(5)
    rows = work_list(Run(batch_size=2), fetch)
    assert [next(rows), next(rows)] == fetch.rows[:2]
    assert fetch.calls == [None]
    assert next(rows) == fetch.rows[2]
    assert fetch.calls == [None, fetch.rows[1].id]


def test_a_stop_ends_the_walk_between_rows() -> None:
    fetch = FakeWorkList(5)
    run = Run(batch_size=10)
    seen = []
    for row in work_list(run, fetch):
        seen.append(row)
        if len(seen) == 2:
            run.stop.set()
    assert seen == fetch.rows[:2]
    assert fetch.calls == [None]


def test_a_run_stopped_before_it_starts_reads_nothing() -> None:
    fetch = FakeWorkList(3)
    run = Run(batch_size=2)
    run.stop.set()
    assert list(work_list(run, fetch)) == []
    assert fetch.calls == []
