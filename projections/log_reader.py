"""Reading the event log in batches, for the projector engine.

``LogReader.select(start, limit, stop, topics, inclusive_of_start=...)`` returns what the
event store's ``select_notifications`` returns for the same arguments: the notifications from
position ``start`` (``None``: from the beginning; excluded with ``inclusive_of_start=False``)
to ``stop`` (included; ``None``: to the end), of the given ``topics`` (empty: all), in order,
at most ``limit``.

On PostgreSQL it sends the same query as eventsourcing's recorder (9.5.6:
``SELECT ... FROM <schema>.<events table> [WHERE notification_id >= %s] [AND notification_id
<= %s] [AND topic = ANY(%s)] ORDER BY notification_id LIMIT %s``, each condition only when
its argument is given) but asks for binary results as tuples, which costs the client about
half as much per row (no dict per row, no hex decoding of the state). The positions are
gap-safe for the library's reason: a writer holds the events table's lock until it commits,
so ids become visible in order. Other recorders (SQLite) are read with
``select_notifications``. Errors are retried and mapped like the library's.
"""

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import (
    ApplicationRecorder,
    InterfaceError,
    Notification,
    OperationalError,
)
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg import sql
from psycopg.rows import tuple_row

# (start given, start included, stop given, topics given) -> the statement for that shape.
_Shape = tuple[bool, bool, bool, bool]


class LogReader:
    """Reads batches of notifications from ``recorder``'s log."""

    def __init__(self, recorder: ApplicationRecorder) -> None:
        self._recorder = recorder
        self._pg: PostgresApplicationRecorder | None = None
        self._statements: dict[_Shape, sql.Composed] = {}
        if type(recorder).select_notifications is PostgresApplicationRecorder.select_notifications:
            assert isinstance(recorder, PostgresApplicationRecorder)
            self._pg = recorder
            self._table = sql.Identifier(recorder.datastore.schema, recorder.events_table_name)

    def select(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        if self._pg is None:
            return self._recorder.select_notifications(
                start=start,
                limit=limit,
                stop=stop,
                topics=topics,
                inclusive_of_start=inclusive_of_start,
            )
        shape: _Shape = (start is not None, inclusive_of_start, stop is not None, bool(topics))
        params: list[Any] = []
        if start is not None:
            params.append(start)
        if stop is not None:
            params.append(stop)
        if topics:
            params.append(list(topics))
        params.append(limit)
        selected: list[Notification] = self._select_pg(self._pg, self._statement(shape), params)
        return selected

    def _statement(self, shape: _Shape) -> sql.Composed:
        statement = self._statements.get(shape)
        if statement is None:
            has_start, inclusive, has_stop, has_topics = shape
            conditions: list[sql.Composable] = []
            if has_start:
                conditions.append(
                    sql.SQL("notification_id >= %s" if inclusive else "notification_id > %s")
                )
            if has_stop:
                conditions.append(sql.SQL("notification_id <= %s"))
            if has_topics:
                conditions.append(sql.SQL("topic = ANY(%s)"))
            statement = sql.SQL(
                "SELECT notification_id, originator_id, originator_version, topic, state FROM {}"
            ).format(self._table)
            if conditions:
                statement += sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conditions)
            statement += sql.SQL(" ORDER BY notification_id LIMIT %s")
            self._statements[shape] = statement
        return statement

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _select_pg(
        self, recorder: PostgresApplicationRecorder, statement: sql.Composed, params: list[Any]
    ) -> list[Notification]:
        with (
            recorder.datastore.get_connection() as conn,
            conn.cursor(row_factory=tuple_row, binary=True) as cursor,
        ):
            cursor.execute(statement, params, prepare=True)
            return [
                Notification(
                    id=position,
                    originator_id=originator_id,
                    originator_version=version,
                    topic=topic,
                    state=state,
                )
                for position, originator_id, version, topic, state in cursor.fetchall()
            ]


__all__ = ["LogReader"]
