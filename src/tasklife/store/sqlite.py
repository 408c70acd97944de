"""The SQLite backend: the standard library's ``sqlite3`` on a file in WAL mode (or in memory).

Each thread gets its own connection to the file (``sqlite3`` connections are not meant to be
shared); an in-memory store has exactly one, behind a lock. Writes run in ``BEGIN IMMEDIATE``
transactions: the database's single write lock is taken before anything is read, so the
read-decide-write of a fire can never interleave with another writer's, in this process or
any other. That also makes the history's ``seq`` (SQLite's rowid) commit order, which is
what the events cursor is. Readers never block writers, nor writers readers (WAL).

Speed. Each statement costs a fire about as much as its Python does, so a fire runs the
floor's statements only: ``BEGIN IMMEDIATE``, the compare-and-set ``UPDATE`` (on the version
and status the fire was decided on), the history ``INSERT``, ``COMMIT``, on one cursor kept
per connection. The read before deciding is skipped when this store remembers the task's
row from its last committed transaction of that task alone (:data:`ROW_CACHE_MAX` rows):
the row is a guess that the compare-and-set checks, and a guess that misses or refuses is
replaced by a real read in the same transaction (see :mod:`tasklife.store.transition`). A
batch always reads its rows, in one statement: a guessed batch would need a savepoint to
undo, whose sub-journal costs more than the read. Absent values are bound as :data:`NULL`
(CPython's ``sqlite3`` binds ``None`` through its adapter protocol, two failed attribute
lookups per value: as much as the rest of a history row), which ``NULLIF(?, -1)`` in the
statements turns back into ``NULL``.

Durability (see :data:`tasklife.store.url.DURABILITIES`): ``full`` runs
``synchronous=FULL`` (the WAL is synced at every commit); ``process`` runs ``NORMAL`` (synced
at checkpoints: a committed transaction survives a process crash, not a power loss).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any, ClassVar, Final

import orjson

from tasklife.errors import StoreError, StoreReadOnly, StoreSchemaError, TaskExists
from tasklife.store.backend import (
    LEASE_COLUMNS,
    SHORT_TASK_COLUMNS,
    TASK_COLUMNS,
    Backend,
    Rows,
    WriteTx,
)
from tasklife.store.schema import ensure_schema
from tasklife.store.transition import (
    CHANGED_BY_HAND,
    HISTORY_COLUMNS,
    STATE_COLUMNS,
    HistoryRow,
    TaskState,
)
from tasklife.store.url import StoreURL

__all__ = ["NULL", "SQLiteBackend"]

BUSY_TIMEOUT_S: Final = 60.0
"""How long a writer waits for another's write lock before giving up: far longer than any
transaction here holds it (the longest, a bulk add of a million tasks, takes seconds)."""
_SYNCHRONOUS: Final = {"full": "FULL", "process": "NORMAL"}
CACHE_KIB: Final = 65_536
"""SQLite's page cache per connection (its default is 2 MB): large enough for the indexes of
a store of millions of tasks to stay in memory while tasks are added and fired."""
ROW_CACHE_MAX: Final = 16_384
"""Task rows a store remembers for its next fires (about 2 MB): the tasks a worker has in
flight. When full it is emptied, which costs the next fire of each task one read."""
NULL: Final = -1
"""An absent value, as bound (see the module docstring): every nullable column holds text or
a non-negative integer, so no present value is ever the integer -1."""
_N: Final = "NULLIF(?, -1)"
_UPDATE: Final = (
    f"UPDATE tasklife_tasks SET status = ?, error = {_N}, start_usecs = {_N}, "
    f"end_usecs = {_N}, version = ? WHERE ref = ? AND version = ? AND status = ?"
)
_INSERT_HISTORY: Final = (
    f"INSERT INTO tasklife_history ({HISTORY_COLUMNS}) "
    f"VALUES (?, ?, ?, ?, ?, ?, ?, {_N}, {_N}, {_N})"
)
_INSERT_TASKS: Final = (
    f"INSERT INTO tasklife_tasks ({TASK_COLUMNS}) VALUES "
    f"(?, ?, {_N}, ?, ?, {_N}, {_N}, {_N}, ?, {_N}, {_N}, {_N}, {_N}, {_N}, {_N})"
)
_INSERT_SHORT_TASKS: Final = (
    f"INSERT INTO tasklife_tasks ({SHORT_TASK_COLUMNS}) VALUES (?, ?, {_N}, ?, ?, {_N}, {_N}, {_N})"
)
_INSERT_CREATION: Final = (
    "INSERT INTO tasklife_history (task_ref, version, attempt, dest, at_usecs, error, "
    "start_usecs, end_usecs) SELECT ref, 0, attempt, status, ?, error, start_usecs, end_usecs "
    "FROM tasklife_tasks WHERE ref BETWEEN ? AND ? ORDER BY ref"
)
"""The creation rows of the tasks just inserted (refs are consecutive: writers are serialised)."""
_SHORT: Final = SHORT_TASK_COLUMNS.count(",") + 1
_MANY: Final = "SELECT value FROM json_each({})"
"""A list of task ids bound as one JSON array parameter (no 999-parameter limit)."""
_STATE: Final = STATE_COLUMNS.count(",") + 1
_READ_LEASED: Final = (
    "SELECT " + ", ".join(f"t.{c}" for c in STATE_COLUMNS.split(", ")) + f", {LEASE_COLUMNS} "
    "FROM tasklife_tasks AS t LEFT JOIN tasklife_leases AS l ON l.task_ref = t.ref "
    "WHERE t.task_id = ?"
)
_READ_ONE: Final = f"SELECT {STATE_COLUMNS} FROM tasklife_tasks WHERE task_id = ?"
_READ_MANY: Final = (
    f"SELECT {STATE_COLUMNS} FROM tasklife_tasks WHERE task_id IN ({_MANY.format('?')})"
)


class _SQLiteTx(WriteTx):
    """A write transaction, its own context manager: ``BEGIN IMMEDIATE`` ... ``COMMIT``, or
    ``ROLLBACK`` on any error (a class, not a generator: this wraps every fire, and
    generator context managers cost microseconds)."""

    __slots__ = ("backend", "db", "remembered", "seen")
    placeholder: ClassVar[str] = "?"
    json_ints: ClassVar[str] = "SELECT value FROM json_each(?)"

    def __init__(self, backend: SQLiteBackend) -> None:
        self.backend = backend
        self.remembered = backend._rows
        self.seen: dict[str, tuple[Any, ...]] = {}  # a single task's row as this leaves it

    def __enter__(self) -> _SQLiteTx:
        backend = self.backend
        if backend._memory is not None:
            backend._lock.acquire()
        try:
            self.db = backend._cursor()
            self.db.execute("BEGIN IMMEDIATE")
        except BaseException as exc:
            self._release()
            if isinstance(exc, sqlite3.Error):
                raise backend._error(exc) from None
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        try:
            if kind is None:
                self.db.execute("COMMIT")
                if self.seen:
                    self.backend._remember(self.seen)
            else:
                _rollback(self.db.connection)
        except sqlite3.Error as error:
            _rollback(self.db.connection)
            raise self.backend._error(error) from None
        finally:
            self._release()
        if isinstance(exc, sqlite3.Error):
            raise self.backend._error(exc) from None

    def _release(self) -> None:
        if self.backend._memory is not None:
            self.backend._lock.release()

    def read_states(self, task_ids: Sequence[str], fresh: bool) -> tuple[list[Any], bool]:
        if len(task_ids) != 1:
            return self.db.execute(_READ_MANY, (_json(task_ids),)).fetchall(), False
        if not fresh:
            row = self.remembered.get(task_ids[0])
            if row is not None:
                return [row], True
        rows = self.db.execute(_READ_ONE, task_ids).fetchall()
        if rows:
            self.seen[task_ids[0]] = rows[0]
        return rows, False

    def read_keys(self, keys: Sequence[tuple[int, str]]) -> list[tuple[Any, ...]]:
        return self.db.execute(
            "SELECT k.task_ref, k.fire_key, h.trigger_name, h.source, h.dest, h.at_usecs, "
            "h.error, h.seq FROM json_each(?) AS j "
            "JOIN tasklife_keys AS k ON k.task_ref = json_extract(j.value, '$[0]') "
            "AND k.fire_key = json_extract(j.value, '$[1]') "
            "JOIN tasklife_history AS h ON h.task_ref = k.task_ref AND h.version = k.version",
            (_json(keys),),
        ).fetchall()

    def write(
        self,
        changed: Sequence[TaskState],
        history: Sequence[HistoryRow],
        keys: Sequence[tuple[int, str, int]],
    ) -> list[int] | None:
        db, n = self.db, NULL
        if len(history) == 1:  # one fire: no lists
            s = changed[0]
            if db.execute(_UPDATE, _cas(s)).rowcount != 1:
                return None  # nothing written: the caller reads the row and decides again
            self.seen[s.task_id] = s.row()  # remembered for the task's next single fire
            cursors = [db.execute(_INSERT_HISTORY, _history(history[0])).lastrowid or 0]
        else:
            if db.executemany(_UPDATE, [_cas(s) for s in changed]).rowcount != len(changed):
                raise StoreError(CHANGED_BY_HAND)
            rows = [
                (ref, version, attempt, trigger, source, dest, at,
                 n if error is None else error, n if start is None else start,
                 n if end is None else end)
                for ref, version, attempt, trigger, source, dest, at, error, start, end
                in history
            ]  # fmt: skip
            db.executemany(_INSERT_HISTORY, rows)
            (last,) = db.execute("SELECT last_insert_rowid()").fetchone()
            # the write lock is held, so the rows took the consecutive rowids up to ``last``
            cursors = list(range(last - len(history) + 1, last + 1))
        if keys:
            db.executemany(
                "INSERT INTO tasklife_keys (task_ref, fire_key, version) VALUES (?, ?, ?)", keys
            )
        return cursors

    def read_leased(self, task_id: str) -> tuple[tuple[Any, ...] | None, tuple[Any, ...] | None]:
        row = self.db.execute(_READ_LEASED, (task_id,)).fetchone()
        if row is None:
            return None, None
        task, lease = tuple(row[:_STATE]), tuple(row[_STATE:])
        self.seen[task_id] = task
        return task, (lease if lease[0] is not None else None)

    def run(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        sql = sql.replace("{ints}", self.json_ints).replace("{p}", "?")
        return self.db.execute(sql, params).fetchall()

    def lifecycle_id(self, name: str, definition: str) -> tuple[int, str]:
        self.db.execute(
            "INSERT INTO tasklife_lifecycles (name, definition) VALUES (?, ?) "
            "ON CONFLICT (name) DO NOTHING",
            (name, definition),
        )
        row = self.db.execute(
            "SELECT id, definition FROM tasklife_lifecycles WHERE name = ?", (name,)
        ).fetchone()
        return row[0], row[1]

    def new_refs(self, count: int) -> range:
        (last,) = self.db.execute("SELECT coalesce(max(ref), 0) FROM tasklife_tasks").fetchone()
        return range(last + 1, last + 1 + count)

    def insert_tasks(
        self, tasks: Sequence[tuple[Any, ...]], documents: Sequence[tuple[int, str]], at: int
    ) -> None:
        short = [t for t in tasks if len(t) == _SHORT]
        try:
            if short:
                self.db.executemany(_INSERT_SHORT_TASKS, short)
            if len(short) < len(tasks):
                self.db.executemany(_INSERT_TASKS, [t for t in tasks if len(t) != _SHORT])
        except sqlite3.IntegrityError:
            found = self.db.execute(
                f"SELECT task_id FROM tasklife_tasks WHERE task_id IN ({_MANY.format('?')}) "
                "ORDER BY task_id LIMIT 1",
                (_json([t[1] for t in tasks]),),
            ).fetchone()
            raise TaskExists(found[0] if found else "?") from None
        self.db.executemany(
            "INSERT INTO tasklife_documents (task_ref, document) VALUES (?, ?)", documents
        )
        self.db.execute(_INSERT_CREATION, (at, tasks[0][0], tasks[-1][0]))


def _cas(s: TaskState) -> tuple[Any, ...]:
    """A task's compare-and-set ``UPDATE`` parameters."""
    n, error, start, end = NULL, s.error, s.task_start_time_usecs, s.task_end_time_usecs
    return (s.status, n if error is None else error, n if start is None else start,
            n if end is None else end, s.version, s.ref, s.read_version, s.read_status)  # fmt: skip


def _history(r: HistoryRow) -> tuple[Any, ...]:
    """A history row's ``INSERT`` parameters."""
    n = NULL
    return (*r[:7], n if r[7] is None else r[7], n if r[8] is None else r[8],
            n if r[9] is None else r[9])  # fmt: skip


def _json(values: Sequence[Any]) -> str:
    return orjson.dumps(values).decode()


class SQLiteBackend(Backend):
    """A SQLite store file (or an in-memory store)."""

    dialect: ClassVar[str] = "sqlite"
    placeholder: ClassVar[str] = "?"
    null: ClassVar[Any] = NULL

    def __init__(self, url: StoreURL) -> None:
        super().__init__(url)
        self._where = url.path or "the in-memory store"
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.RLock()
        self._memory: sqlite3.Connection | None = None
        self._rows: dict[str, tuple[Any, ...]] = {}  # task rows as last committed here
        # a file we may not write is opened read-only: reads work, writes say why not
        self.read_only = url.read_only or (
            url.path is not None and os.path.exists(url.path) and not os.access(url.path, os.W_OK)
        )
        with self._errors():
            conn = self._connect()
            if url.path is None:
                self._memory = conn
                self._memory_cursor = conn.cursor()
            else:
                self._local.conn = conn
                if not self.read_only:
                    conn.execute("PRAGMA journal_mode=WAL")
            self._check_schema(conn)

    def _connect(self) -> sqlite3.Connection:
        if self.url.path is None:
            target, uri = ":memory:", False
        else:
            mode = "ro" if self.read_only else "rwc"
            target, uri = f"file:{_quote(self.url.path)}?mode={mode}", True
        conn = sqlite3.connect(
            target, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False, uri=uri
        )
        conn.execute(f"PRAGMA synchronous={_SYNCHRONOUS[self.url.durability]}")
        conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        with self._lock:
            self._all.append(conn)
        return conn

    def _check_schema(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN" if self.read_only else "BEGIN IMMEDIATE")
        try:
            ensure_schema(
                lambda sql, params: conn.execute(sql, params).fetchall(), "sqlite", self._where
            )
        except BaseException:
            _rollback(conn)
            raise
        conn.execute("ROLLBACK" if self.read_only else "COMMIT")

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection (the in-memory one: the caller holds the lock)."""
        if self._memory is not None:
            return self._memory
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def _cursor(self) -> sqlite3.Cursor:
        """This thread's one cursor on its connection, reused by its write transactions
        (a new cursor per statement costs a fire about a microsecond a statement)."""
        if self._memory is not None:
            return self._memory_cursor
        cur: sqlite3.Cursor | None = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._local.cursor = self._connection().cursor()
        return cur

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def _error(self, exc: sqlite3.Error) -> StoreError:
        """sqlite3's error as the store's, naming the file."""
        text = str(exc)
        if "readonly" in text or "read-only" in text:
            return StoreReadOnly(f"{self._where} is read-only: {text}")
        if "not a database" in text:
            return StoreSchemaError(f"{self._where} is not a tasklife store: {text}")
        return StoreError(f"{self._where}: {text}")

    def transaction(self) -> _SQLiteTx:
        return _SQLiteTx(self)

    def _remember(self, rows: dict[str, tuple[Any, ...]]) -> None:
        """Remember the rows a transaction committed (a guess for the next fires)."""
        if len(self._rows) + len(rows) > ROW_CACHE_MAX:
            self._rows = {}
        self._rows.update(rows)

    def query(self, sql: str, params: Sequence[Any]) -> Rows:
        with self._errors(), self._lock if self._memory is not None else nullcontext():
            return self._connection().execute(sql, params).fetchall()

    def event_rows(self, after: int, limit: int) -> Rows:
        return self._q(
            "SELECT h.seq, t.task_id, h.dest, h.at_usecs, h.error, h.start_usecs, h.end_usecs, "
            "h.attempt "
            "FROM tasklife_history AS h JOIN tasklife_tasks AS t ON t.ref = h.task_ref "
            "WHERE h.seq > {p} ORDER BY h.seq LIMIT {p}",
            after,
            limit,
        )

    def _newest_before(self) -> int:
        (newest,) = self._q("SELECT coalesce(max(seq), 0) FROM tasklife_history")[0]
        return max(int(newest) - 1, 0)

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back, unless SQLite already did (it does on some errors, such as a full disk)."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _quote(path: str) -> str:
    """A path as the path of a ``file:`` URI (``?`` and ``#`` would end it)."""
    return path.replace("%", "%25").replace("?", "%3f").replace("#", "%23")
