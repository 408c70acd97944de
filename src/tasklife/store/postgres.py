"""The PostgreSQL backend: psycopg 3 with a connection pool (``pip install 'tasklife[postgres]'``).

Locks. A write transaction first takes transaction-scoped advisory locks on its task ids
(their 64-bit ``hashtextextended``, sorted, in one statement: no deadlocks), then reads the
rows. Advisory locks, not ``SELECT ... FOR UPDATE``, because taking them assigns no
transaction id: a transaction gets its id at its first write, after it holds every lock it
needs. So when two transactions change one task, the later one's id is the larger, which
the events cursor relies on.

Cursor. A history row's position is ``(xid, ord)``: its transaction's id and its place in the
transaction (``cursor = xid << 32 | ord``). Transaction ids are not commit order, so
``events()`` returns only rows whose transaction is older than every transaction still
running (``pg_snapshot_xmin``): those are final, and every row that commits later has a
larger ``xid``. Nothing past a cursor is ever skipped or repeated, and one task's changes
come in their order. The price: a change shows in ``events()`` only once every writing
transaction that began before it has ended (normally milliseconds). A store always sees its
own commits: its ``events()`` waits (at most :data:`OWN_WRITES_WAIT_S`) until the last
transaction it committed is past that horizon.

Round trips, one fewer than the floor's: ``BEGIN`` with the locks and the rows (a single
fire: one simple-protocol query of plain statements; a batch: one call of
``tasklife_lock_read``, pipelined); the compare-and-set update and the history rows (one
statement); ``COMMIT``. Many rows travel as one JSON array each (orjson writes it in C;
psycopg writes a list as a PostgreSQL array in Python, at about a microsecond a value).
Durability: ``full`` keeps ``synchronous_commit=on``; ``process`` sets it ``off`` for the
store's sessions (a committed transaction may be lost if the *server* crashes, never torn).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar, Final

import orjson

from tasklife.errors import MissingExtra, StoreError, StoreReadOnly, StoreUnavailable, TaskExists
from tasklife.store.backend import LEASE_COLUMNS, TASK_COLUMNS, Backend, Rows, WriteTx
from tasklife.store.schema import NOTIFY_CHANNEL, ensure_schema
from tasklife.store.transition import (
    CHANGED_BY_HAND,
    HISTORY_COLUMNS,
    STATE_COLUMNS,
    HistoryRow,
    TaskState,
)
from tasklife.store.url import StoreURL

if TYPE_CHECKING:
    import psycopg

__all__ = ["PostgresBackend"]

CONNECT_TIMEOUT_S: Final = 10
"""Seconds to wait for the server before saying it is unavailable (libpq's connect_timeout)."""
POOL_MAX: Final = 8
"""Connections a store keeps at most: enough for the threads of one worker process (each
transaction holds one only while it runs); many processes each have their own pool."""
POOL_WAIT_S: Final = 30.0
"""How long a thread waits for a free pooled connection (or a new one) before giving up."""
MIN_SERVER: Final = 130000
"""PostgreSQL 13: the first with ``pg_current_xact_id`` and ``pg_snapshot_xmin``."""
SCHEMA_LOCK: Final = 0x7461736B6C696665  # "tasklife": serialises schema creation and upgrades
_SYNCHRONOUS: Final = {"full": "on", "process": "off"}
OWN_WRITES_WAIT_S: Final = 10.0
"""How long ``events()`` waits for older transactions of others to end so that this store's
own last commit shows; far longer than a transaction here lasts."""
_CURSOR_SHIFT: Final = 32
"""A cursor is ``xid << 32 | ord``: a transaction writes fewer than 2**32 history rows."""


def _cursor(xid: int, ord_: int) -> int:
    return xid << _CURSOR_SHIFT | ord_


class _PgTx(WriteTx):
    placeholder: ClassVar[str] = "%s"
    json_ints: ClassVar[str] = "SELECT jsonb_array_elements_text(%s::jsonb)::bigint"

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.begun = False
        self.ord = 0  # history rows written by this transaction so far
        self.xid = 0  # this transaction's id, once it has written history

    def _begin(self) -> None:
        if not self.begun:
            self.conn.execute("BEGIN")
            self.begun = True

    def read_states(self, task_ids: Sequence[str], fresh: bool) -> tuple[list[Any], bool]:
        if len(task_ids) == 1:  # every fire: two plain statements, no function call
            return self._lock_read_one(task_ids[0]), False
        if self.begun:
            return self.conn.execute(_LOCK_READ, (_json(task_ids),)).fetchall(), False
        with self.conn.pipeline():  # BEGIN and the locks in one round trip
            self.conn.execute("BEGIN")
            self.begun = True
            cur = self.conn.execute(_LOCK_READ, (_json(task_ids),))
        return cur.fetchall(), False

    def _lock_read_one(self, task_id: str) -> list[Any]:
        """One task's lock, then its row, as ``tasklife_lock_read`` takes them, in one
        simple-protocol query of plain statements (``BEGIN``; the lock; the row): one round
        trip and one ``execute``, where a pipeline costs the client as much again, and a
        PL/pgSQL call with its JSON costs the server more than the fire's update. The row is
        read by a statement of its own, after the lock, so it sees every commit made before
        the lock was granted (READ COMMITTED: a snapshot per statement). The simple protocol
        takes no parameters: the id is sent as a literal quoted by psycopg."""
        from psycopg import sql

        literal = sql.Literal(task_id).as_string(self.conn)
        begin = "" if self.begun else "BEGIN; "
        cur = self.conn.execute(_LOCK_READ_ONE.format(begin=begin, id=literal).encode())
        self.begun = True
        while cur.nextset():  # the row is the last statement's result
            pass
        return cur.fetchall()

    def read_leased(self, task_id: str) -> tuple[tuple[Any, ...] | None, tuple[Any, ...] | None]:
        ids = _json([task_id])
        with self.conn.pipeline():  # BEGIN, the lock and both rows in one round trip
            if not self.begun:
                self.conn.execute("BEGIN")
                self.begun = True
            task = self.conn.execute(_LOCK_READ, (ids,))
            lease = self.conn.execute(_READ_LEASE, (task_id,))  # runs after the lock
        rows, leases = task.fetchall(), lease.fetchall()
        return (rows[0] if rows else None), (leases[0] if leases else None)

    def read_keys(self, keys: Sequence[tuple[int, str]]) -> list[tuple[Any, ...]]:
        rows = self.conn.execute(
            "SELECT k.task_ref, k.fire_key, h.trigger_name, h.source, h.dest, h.at_usecs, "
            "h.error, h.xid, h.ord FROM jsonb_array_elements(%s::jsonb) AS w "
            "JOIN tasklife_keys AS k ON k.task_ref = (w ->> 0)::bigint AND k.fire_key = w ->> 1 "
            "JOIN tasklife_history AS h ON h.task_ref = k.task_ref AND h.version = k.version",
            (_json(keys),),
        ).fetchall()
        return [(*row[:-2], _cursor(row[-2], row[-1])) for row in rows]

    def write(
        self,
        changed: Sequence[TaskState],
        history: Sequence[HistoryRow],
        keys: Sequence[tuple[int, str, int]],
    ) -> list[int] | None:
        ords = self._ords(len(history))
        if keys:
            self.conn.execute(_INSERT_KEYS, (_json(keys),))
        if len(changed) == 1 and len(history) == 1:  # one fire: scalar parameters
            s = changed[0]
            row = (s.status, s.error, s.task_start_time_usecs, s.task_end_time_usecs,
                   s.version, s.ref, s.read_version, s.read_status, ords[0],
                   *history[0])  # fmt: skip
            cur = self.conn.execute(_WRITE_ONE, row)
        else:
            tasks = [
                (s.ref, s.status, s.error, s.task_start_time_usecs, s.task_end_time_usecs,
                 s.version, s.read_version, s.read_status)
                for s in changed
            ]  # fmt: skip
            cur = self.conn.execute(_WRITE_MANY, (_json(tasks), ords.start, _json(history)))
        xid, updated = cur.fetchone() or (0, 0)
        if updated != len(changed):
            raise StoreError(CHANGED_BY_HAND)
        self.xid = xid
        return [_cursor(xid, o) for o in ords]

    def run(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        self._begin()
        sql = sql.replace("{ints}", self.json_ints).replace("{p}", "%s")
        return _rows(self.conn.execute(sql, params))

    def _ords(self, n: int) -> range:
        first, self.ord = self.ord, self.ord + n
        return range(first, self.ord)

    def lifecycle_id(self, name: str, definition: str) -> tuple[int, str]:
        self._begin()
        self.conn.execute(
            "INSERT INTO tasklife_lifecycles (name, definition) VALUES (%s, %s) "
            "ON CONFLICT (name) DO NOTHING",
            (name, definition),
        )
        row = self.conn.execute(
            "SELECT id, definition FROM tasklife_lifecycles WHERE name = %s", (name,)
        ).fetchone()
        assert row is not None
        return row[0], row[1]

    def new_refs(self, count: int) -> list[int]:
        self._begin()
        rows = self.conn.execute(_NEW_REFS, (count,)).fetchall()
        return [row[0] for row in rows]

    def insert_tasks(
        self, tasks: Sequence[tuple[Any, ...]], documents: Sequence[tuple[int, str]], at: int
    ) -> None:
        import psycopg

        self._begin()
        try:  # COPY: the bulk path; in a savepoint, to name a duplicate id after it fails
            with self.conn.transaction(), self.conn.cursor().copy(_COPY_TASKS) as copy:
                for row in tasks:
                    copy.write_row(row if len(row) == _FULL else (*row, *_NO_STATS))
        except psycopg.errors.UniqueViolation:
            found = self.conn.execute(
                "SELECT task_id FROM tasklife_tasks WHERE task_id = ANY(%s::text[]) "
                "ORDER BY task_id LIMIT 1",
                ([t[1] for t in tasks],),
            ).fetchone()
            raise TaskExists(found[0] if found else "?") from None
        with self.conn.cursor().copy(_COPY_DOCUMENTS) as copy:
            for pair in documents:
                copy.write_row(pair)
        first = self._ords(len(tasks)).start
        refs = _json([t[0] for t in tasks])
        xid = self.conn.execute(_INSERT_CREATION, (first, at, refs)).fetchone()
        self.xid = xid[0] if xid else 0


_LOCK_READ: Final = "SELECT * FROM tasklife_lock_read(%s::jsonb)"
"""The locks, then the rows (see ``tasklife_lock_read`` in :mod:`tasklife.store.schema`)."""
_LOCK_READ_ONE: Final = (
    "{begin}SELECT pg_advisory_xact_lock(hashtextextended({id}, 0)); "
    f"SELECT {STATE_COLUMNS} FROM tasklife_tasks WHERE task_id = {{id}}"
)
"""One task's lock (the key ``tasklife_lock_read`` takes for it), then its row."""
_READ_LEASE: Final = (
    f"SELECT {LEASE_COLUMNS} FROM tasklife_leases AS l JOIN tasklife_tasks AS t "
    "ON t.ref = l.task_ref WHERE t.task_id = %s"
)
_WRITE_ONE: Final = (
    "WITH changed AS (UPDATE tasklife_tasks SET status = %s, error = %s, start_usecs = %s, "
    "end_usecs = %s, version = %s WHERE ref = %s AND version = %s AND status = %s "
    f"RETURNING 1), added AS (INSERT INTO tasklife_history (ord, {HISTORY_COLUMNS}) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING xid) "
    "SELECT (SELECT xid FROM added), (SELECT count(*) FROM changed)"
)
"""One fire's writes in one statement: the compare-and-set update and its history row."""
_WRITE_MANY: Final = (  # a written CTE runs whether read or not; the history's xid is ours
    "WITH changed AS (UPDATE tasklife_tasks AS t SET status = v ->> 1, error = v ->> 2, "
    "start_usecs = (v ->> 3)::bigint, end_usecs = (v ->> 4)::bigint, version = (v ->> 5)::int "
    "FROM jsonb_array_elements(%s::jsonb) AS v WHERE t.ref = (v ->> 0)::bigint "
    "AND t.version = (v ->> 6)::int AND t.status = v ->> 7 RETURNING 1), "
    f"added AS (INSERT INTO tasklife_history (ord, {HISTORY_COLUMNS}) "
    "SELECT %s + i - 1, (h ->> 0)::bigint, (h ->> 1)::int, (h ->> 2)::int, h ->> 3, h ->> 4, "
    "h ->> 5, (h ->> 6)::bigint, h ->> 7, (h ->> 8)::bigint, (h ->> 9)::bigint "
    "FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS x (h, i)) "
    "SELECT pg_current_xact_id()::text::bigint, (SELECT count(*) FROM changed)"
)
"""Many fires' writes in one statement, the same way: the tasks ``(ref, status, error, start,
end, version, read version, read status)`` and the history rows as JSON arrays."""
_INSERT_KEYS: Final = (
    "INSERT INTO tasklife_keys (task_ref, fire_key, version) SELECT (k ->> 0)::bigint, "
    "k ->> 1, (k ->> 2)::int FROM jsonb_array_elements(%s::jsonb) AS k"
)
_NEW_REFS: Final = (
    "SELECT nextval(pg_get_serial_sequence('tasklife_tasks', 'ref')) "
    "FROM generate_series(1, %s) ORDER BY 1"
)
_COPY_TASKS: Final = f"COPY tasklife_tasks ({TASK_COLUMNS}) FROM STDIN"
_FULL: Final = TASK_COLUMNS.count(",") + 1
_NO_STATS: Final = (0, None, None, None, None, None, None)
"""The stats columns of a short row (a task without stats)."""
_COPY_DOCUMENTS: Final = "COPY tasklife_documents (task_ref, document) FROM STDIN"
_INSERT_CREATION: Final = (
    "WITH added AS (INSERT INTO tasklife_history (ord, task_ref, version, attempt, dest, "
    "at_usecs, error, start_usecs, end_usecs) SELECT %s + w.i - 1, t.ref, 0, t.attempt, "
    "t.status, %s, t.error, t.start_usecs, t.end_usecs "
    "FROM jsonb_array_elements_text(%s::jsonb) WITH ORDINALITY AS w (ref, i) "
    "JOIN tasklife_tasks AS t ON t.ref = w.ref::bigint) SELECT pg_current_xact_id()::text::bigint"
)
"""The creation rows of the tasks just copied, each at its place in ``tasks``."""


class PostgresBackend(Backend):
    """A store in a PostgreSQL database (its tables in the first schema of the search path)."""

    dialect: ClassVar[str] = "postgresql"
    placeholder: ClassVar[str] = "%s"

    def __init__(self, url: StoreURL) -> None:
        super().__init__(url)
        self._last_xid = 0
        try:
            import psycopg
            import psycopg_pool
        except ImportError as exc:
            raise MissingExtra(
                f"a PostgreSQL store needs the postgres extra ({exc.name} is missing): "
                "pip install 'tasklife[postgres]'"
            ) from None
        self._psycopg = psycopg
        options: dict[str, Any] = {"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S}
        with self._errors():
            with psycopg.connect(url.conninfo, **options) as conn:  # errors come out plainly
                self._check(conn)
            self._pool = psycopg_pool.ConnectionPool(
                url.conninfo,
                min_size=1,
                max_size=POOL_MAX,
                kwargs=options,
                configure=self._configure,
                timeout=POOL_WAIT_S,
                open=False,
            )
            self._pool.open(wait=True, timeout=POOL_WAIT_S)

    def _check(self, conn: psycopg.Connection[Any]) -> None:
        if conn.info.server_version < MIN_SERVER:
            raise StoreError(
                f"{self.url.redacted}: PostgreSQL {conn.info.server_version // 10000} is too "
                "old for a tasklife store (13 or newer)"
            )
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            ensure_schema(
                lambda sql, params: _rows(conn.execute(sql, params)),
                "postgresql",
                self.url.redacted,
            )

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(f"SET synchronous_commit = {_SYNCHRONOUS[self.url.durability]}")

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """psycopg's errors as the store's, naming the server without the password."""
        import psycopg_pool

        psycopg = self._psycopg
        try:
            yield
        except psycopg_pool.PoolTimeout as exc:
            raise StoreUnavailable(f"{self.url.redacted}: {self.url.scrub(str(exc))}") from None
        except psycopg.Error as exc:
            text = self.url.scrub(str(exc).strip()).replace("\n", " ")
            if isinstance(exc, psycopg.errors.ReadOnlySqlTransaction):
                raise StoreReadOnly(f"{self.url.redacted} is read-only: {text}") from None
            if isinstance(exc, psycopg.OperationalError):
                raise StoreUnavailable(f"cannot use {self.url.redacted}: {text}") from None
            raise StoreError(f"{self.url.redacted}: {text}") from None

    @contextmanager
    def transaction(self) -> Iterator[WriteTx]:
        with self._errors(), self._pool.connection() as conn:
            tx = _PgTx(conn)
            try:
                yield tx
            except BaseException:
                _rollback(conn)
                raise
            if tx.begun:
                conn.execute("COMMIT")
                self._last_xid = max(self._last_xid, tx.xid)

    def query(self, sql: str, params: Sequence[Any]) -> Rows:
        with self._errors(), self._pool.connection() as conn:
            return _rows(conn.execute(sql, params))

    def event_rows(self, after: int, limit: int) -> Rows:
        rows = self._q(
            "SELECT h.xid, h.ord, t.task_id, h.dest, h.at_usecs, h.error, h.start_usecs, "
            "h.end_usecs, h.attempt FROM tasklife_history AS h "
            "JOIN tasklife_tasks AS t ON t.ref = h.task_ref "
            "WHERE (h.xid, h.ord) > ({p}, {p}) AND h.xid < {p} ORDER BY h.xid, h.ord LIMIT {p}",
            after >> _CURSOR_SHIFT,
            after & ((1 << _CURSOR_SHIFT) - 1),
            self._horizon(),
            limit,
        )
        return [(_cursor(xid, ord_), *rest) for xid, ord_, *rest in rows]

    def _horizon(self) -> int:
        """The oldest transaction still running: every history row below it is final. Waits
        (briefly, bounded) until it is past this store's own last commit."""
        pause, deadline = 0.001, time.monotonic() + OWN_WRITES_WAIT_S
        while True:
            (horizon,) = self._q("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")[0]
            if horizon > self._last_xid or time.monotonic() > deadline:
                return int(horizon)
            time.sleep(pause)
            pause = min(pause * 2, 0.05)

    def _newest_before(self) -> int:
        rows = self._q(
            "SELECT xid, ord FROM tasklife_history WHERE xid < {p} "
            "ORDER BY xid DESC, ord DESC LIMIT 1",
            self._horizon(),
        )
        if not rows:
            return 0
        xid, ord_ = rows[0]
        return _cursor(xid, ord_) - 1 if ord_ else _cursor(xid - 1, (1 << _CURSOR_SHIFT) - 1)

    def waker(self) -> _Listener:
        with self._errors():
            return _Listener(self)

    def close(self) -> None:
        self._pool.close()


class _Listener:
    """A watch's own connection, listening on :data:`~tasklife.store.schema.NOTIFY_CHANNEL`."""

    def __init__(self, backend: PostgresBackend) -> None:
        self.backend = backend
        psycopg = backend._psycopg
        self.conn = psycopg.connect(
            backend.url.conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
        )
        self.conn.execute(f"LISTEN {NOTIFY_CHANNEL}")

    def wait(self, timeout_s: float) -> None:
        with self.backend._errors():
            for _ in self.conn.notifies(timeout=timeout_s, stop_after=1):
                pass

    def close(self) -> None:
        self.conn.close()


def _json(values: Sequence[Any]) -> str:
    return orjson.dumps(values).decode()


def _rollback(conn: psycopg.Connection[Any]) -> None:
    """Roll back an open transaction; a broken connection is the pool's to discard."""
    import psycopg

    if conn.closed or conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
        return
    with contextlib.suppress(psycopg.Error):  # the original error says more
        conn.execute("ROLLBACK")


def _rows(cur: psycopg.Cursor[Any]) -> Rows:
    return cur.fetchall() if cur.description is not None else []
