"""The store's schema, its version number, and how a store is created or upgraded.

One schema, written once per dialect (SQLite, PostgreSQL), every table named ``tasklife_*``:

* ``tasklife_meta``: ``schema_version`` and ``application``;
* ``tasklife_lifecycles``: each lifecycle used by a task, by name, with its definition (the
  TOML/JSON file shape as canonical JSON), so any process can fire any stored task;
* ``tasklife_tasks``: one row per task, under ``ref`` (an integer the store gives it: every
  other table names the task by it, because an integer key makes the history's index a
  third of the size of one on the text id, and a history row cheaper to write) and its
  ``task_id`` (unique): the lifecycle-managed fields in columns (``status``, ``error``, the
  start and end stamps), ``version`` (the number of transitions so far: the compare-and-set
  token, so every change of these columns bumps it), ``attempt``, and the few stats columns
  ``roll_up`` adds up: a narrow row, which a transition rewrites and a roll-up scans;
* ``tasklife_documents``: the rest of each task's wire document as JSON (none for a light
  ``Task``), written once by ``add`` and never by a transition;
* ``tasklife_history``: one row per committed change, the task's creation included (version 0,
  no trigger: ``events()`` reports new tasks too), with the stamps after it;
  ``(task_ref, version)`` is unique, so two writers can never both record the same step of a
  task. Its position is the events cursor: SQLite's ``seq`` (writers are serialised, so it is
  commit order); PostgreSQL's ``(xid, ord)``, the writing transaction and the row's place in
  it (see :mod:`tasklife.store.postgres`);
* ``tasklife_keys``: idempotency keys, each naming the history row it produced;
* ``tasklife_leases`` (version 3): per task, the worker that holds it, the attempt it
  holds, its last heartbeat and when its lease expires; ``reaped_usecs`` once ``reap`` took
  it away (kept, so a late heartbeat learns it lost the task);
* ``tasklife_runs`` (version 3): a run's default deadline for the tasks added to it;
  a task's own deadline is ``tasklife_tasks.deadline_usecs`` (cleared once ``reap`` has
  seen it pass).

PostgreSQL (version 3): a statement trigger on the history notifies the channel
:data:`NOTIFY_CHANNEL` (one wake-up per transaction: the server folds equal notifications),
which wakes ``store.watch``; SQLite watchers poll.

Indexes: the task ids (unique), the tasks of a run (``run_id``: ``tasks``, ``counts`` and
``roll_up`` of a run), each task's history (``(task_ref, version)``), and two partial ones
that hold only what ``reap`` looks for: the deadlines set and the leases not yet reaped, by
time; nothing else, since each index is written by every add.

Versions: :data:`SCHEMA_VERSION` is what this code writes. Opening an older store applies
``MIGRATIONS[dialect][v]`` for each later ``v`` in the same transaction as the check (a later
issue adds leases, deadlines and attempts this way: new columns and tables); a newer store,
or a database that is not a tasklife store, is refused with
:class:`~tasklife.errors.StoreSchemaError`. Version 1 named tasks by their text id in every
table; version 2 gives them ``ref`` (the upgrade keeps every row, cursor and key); version 3
adds leases, deadlines and the wake-ups of watchers, and gives the built-in lifecycles stored
by an older tasklife their ``[liveness]`` table.

>>> SCHEMA_VERSION, len(TABLES), TABLES[2]
(3, 8, 'tasklife_tasks')
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from tasklife.errors import StoreSchemaError

__all__ = [
    "DDL",
    "MIGRATIONS",
    "NOTIFY_CHANNEL",
    "SCHEMA_VERSION",
    "TABLES",
    "Execute",
    "ensure_schema",
]

SCHEMA_VERSION: Final = 3
"""The schema version this tasklife writes (``tasklife_meta.schema_version``)."""

Execute = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]
"""Run one statement inside the caller's transaction and return its rows."""

TABLES: Final = (
    "tasklife_meta",
    "tasklife_lifecycles",
    "tasklife_tasks",
    "tasklife_documents",
    "tasklife_history",
    "tasklife_keys",
    "tasklife_leases",
    "tasklife_runs",
)
NOTIFY_CHANNEL: Final = "tasklife_history"
"""PostgreSQL: the channel every commit that writes history notifies."""

_TASK_COLUMNS: Final = """
    run_id TEXT,
    lifecycle_id INTEGER NOT NULL REFERENCES tasklife_lifecycles (id),
    status TEXT NOT NULL,
    error TEXT,
    start_usecs {int64},
    end_usecs {int64},
    version INTEGER NOT NULL DEFAULT 0,
    attempt INTEGER NOT NULL DEFAULT 1,
    stats_present {flag} NOT NULL DEFAULT 0,
    stats_start_usecs {int64},
    stats_end_usecs {int64},
    logical_bytes {int64},
    logical_size_bytes {int64},
    physical_bytes {int64},
    incremental {flag}"""

_HISTORY_COLUMNS: Final = """
    version INTEGER NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 1,
    trigger_name TEXT,
    source TEXT,
    dest TEXT NOT NULL,
    at_usecs {int64} NOT NULL,
    error TEXT,
    start_usecs {int64},
    end_usecs {int64}"""

_CREATE: Final = {
    "tasks": "CREATE TABLE tasklife_tasks{suffix} ({ref}, task_id TEXT NOT NULL UNIQUE,"
    + _TASK_COLUMNS
    + ")",
    "documents": "CREATE TABLE tasklife_documents{suffix} "
    "(task_ref {int64} PRIMARY KEY, document TEXT NOT NULL)",
    "history": "CREATE TABLE tasklife_history{suffix} ({position}, task_ref {int64} NOT NULL,"
    + _HISTORY_COLUMNS
    + ", UNIQUE (task_ref, version))",
    "keys": "CREATE TABLE tasklife_keys{suffix} (task_ref {int64} NOT NULL, "
    "fire_key TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (task_ref, fire_key))"
    "{keys_suffix}",
}
"""The tables naming tasks by ``ref`` (``suffix``: a name to build them under first)."""

_COMMON: Final = (
    "CREATE TABLE tasklife_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE tasklife_lifecycles ({id}, name TEXT NOT NULL UNIQUE, definition TEXT NOT NULL)",
    *_CREATE.values(),
    "CREATE INDEX tasklife_tasks_run ON tasklife_tasks (run_id)",
)

_TYPES: Final[Mapping[str, Mapping[str, str]]] = {
    "sqlite": {
        "int64": "INTEGER",
        "flag": "INTEGER",
        "id": "id INTEGER PRIMARY KEY",
        "ref": "ref INTEGER PRIMARY KEY",
        "position": "seq INTEGER PRIMARY KEY",
        "keys_suffix": " WITHOUT ROWID",
        "suffix": "",
    },
    "postgresql": {
        "int64": "BIGINT",
        "flag": "SMALLINT",
        "id": "id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
        "ref": "ref BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
        # the writing transaction's id (its default) and the row's place in it
        "position": "xid BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint), "
        "ord INTEGER NOT NULL, PRIMARY KEY (xid, ord)",
        "keys_suffix": "",
        "suffix": "",
    },
}

_LOCK_READ: Final = """
CREATE FUNCTION tasklife_lock_read(ids JSONB) RETURNS TABLE (
    ref BIGINT, task_id TEXT, run_id TEXT, lifecycle_id INTEGER, status TEXT, error TEXT,
    start_usecs BIGINT, end_usecs BIGINT, version INTEGER, attempt INTEGER
) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    wanted TEXT[] := ARRAY(SELECT jsonb_array_elements_text(ids));
BEGIN
    -- the locks first, in one order for every transaction (no deadlocks) ...
    PERFORM pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtextextended(i, 0) AS k
        FROM unnest(wanted) AS i ORDER BY k) AS keys;
    -- ... then the rows, read by a statement of its own: it sees every commit made
    -- before the locks were granted
    RETURN QUERY SELECT t.ref, t.task_id, t.run_id, t.lifecycle_id, t.status, t.error,
        t.start_usecs, t.end_usecs, t.version, t.attempt FROM tasklife_tasks AS t
        WHERE t.task_id = ANY(wanted);
END $$"""
"""PostgreSQL: a write transaction's advisory locks and its rows in one round trip."""

_V2: Final[Mapping[str, tuple[str, ...]]] = {
    "sqlite": tuple(stmt.format(**_TYPES["sqlite"]) for stmt in _COMMON),
    "postgresql": (*(stmt.format(**_TYPES["postgresql"]) for stmt in _COMMON), _LOCK_READ),
}
"""The statements that create schema version 2, per dialect (later versions are its
migrations: one way to every table, whether created or upgraded)."""

_V3_LIVENESS: Final = (
    "ALTER TABLE tasklife_tasks ADD COLUMN deadline_usecs {int64}",
    "CREATE INDEX tasklife_tasks_deadline ON tasklife_tasks (deadline_usecs) "
    "WHERE deadline_usecs IS NOT NULL",
    "CREATE TABLE tasklife_leases (task_ref {int64} PRIMARY KEY, worker TEXT NOT NULL, "
    "attempt INTEGER NOT NULL, beat_usecs {int64} NOT NULL, expires_usecs {int64} NOT NULL, "
    "reaped_usecs {int64})",
    "CREATE INDEX tasklife_leases_expiry ON tasklife_leases (expires_usecs) "
    "WHERE reaped_usecs IS NULL",
    "CREATE TABLE tasklife_runs (run_id TEXT PRIMARY KEY, deadline_usecs {int64})",
)
_POSTGRES_V3_NOTIFY: Final = (
    "CREATE FUNCTION tasklife_notify() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"PERFORM pg_notify('{NOTIFY_CHANNEL}', ''); RETURN NULL; END $$",
    "CREATE TRIGGER tasklife_history_notify AFTER INSERT ON tasklife_history "
    "FOR EACH STATEMENT EXECUTE FUNCTION tasklife_notify()",
)


def _rebuilt(table: str, columns: str, select: str) -> tuple[str, ...]:
    """SQLite: ``table`` rebuilt in its version-2 shape from ``select`` over the old one
    (SQLite cannot change a table's key in place)."""
    create = _CREATE[table].format(**{**_TYPES["sqlite"], "suffix": "_v2"})
    return (
        create,
        f"INSERT INTO tasklife_{table}_v2 ({columns}) {select}",
    )


_V1_TASK_COLUMNS: Final = (
    "task_id, run_id, lifecycle_id, status, error, start_usecs, end_usecs, version, attempt, "
    "stats_present, stats_start_usecs, stats_end_usecs, logical_bytes, logical_size_bytes, "
    "physical_bytes, incremental"
)
_V1_HISTORY_COLUMNS: Final = (
    "version, attempt, trigger_name, source, dest, at_usecs, error, start_usecs, end_usecs"
)

_SQLITE_V2: Final = (
    # a version-1 task row's rowid becomes its ref
    *_rebuilt(
        "tasks", f"ref, {_V1_TASK_COLUMNS}", f"SELECT rowid, {_V1_TASK_COLUMNS} FROM tasklife_tasks"
    ),
    *_rebuilt(
        "documents",
        "task_ref, document",
        "SELECT t.ref, d.document FROM tasklife_documents AS d "
        "JOIN tasklife_tasks_v2 AS t ON t.task_id = d.task_id",
    ),
    *_rebuilt(
        "history",
        f"seq, task_ref, {_V1_HISTORY_COLUMNS}",
        "SELECT h.seq, t.ref, "
        + ", ".join(f"h.{c}" for c in _V1_HISTORY_COLUMNS.split(", "))
        + " FROM tasklife_history AS h JOIN tasklife_tasks_v2 AS t ON t.task_id = h.task_id",
    ),
    *_rebuilt(
        "keys",
        "task_ref, fire_key, version",
        "SELECT t.ref, k.fire_key, k.version FROM tasklife_keys AS k "
        "JOIN tasklife_tasks_v2 AS t ON t.task_id = k.task_id",
    ),
    *(
        stmt
        for table in ("tasks", "documents", "history", "keys")
        for stmt in (
            f"DROP TABLE tasklife_{table}",
            f"ALTER TABLE tasklife_{table}_v2 RENAME TO tasklife_{table}",
        )
    ),
    "CREATE INDEX tasklife_tasks_run ON tasklife_tasks (run_id)",
)


def _by_ref(table: str, key: str) -> tuple[str, ...]:
    """PostgreSQL: ``table`` names its task by ``task_ref`` instead of ``task_id``
    (dropping ``task_id`` drops the old key; ``key`` is the new one)."""
    return (
        f"ALTER TABLE {table} ADD COLUMN task_ref BIGINT",
        f"UPDATE {table} AS x SET task_ref = t.ref FROM tasklife_tasks AS t "
        "WHERE t.task_id = x.task_id",
        f"ALTER TABLE {table} DROP COLUMN task_id",
        f"ALTER TABLE {table} ALTER COLUMN task_ref SET NOT NULL, ADD {key}",
    )


_POSTGRES_V2: Final = (
    # identity values for the tasks there are, then the key moves from task_id to ref
    "ALTER TABLE tasklife_tasks ADD COLUMN ref BIGINT GENERATED BY DEFAULT AS IDENTITY",
    "ALTER TABLE tasklife_tasks DROP CONSTRAINT tasklife_tasks_pkey, ADD PRIMARY KEY (ref), "
    "ADD CONSTRAINT tasklife_tasks_task_id_key UNIQUE (task_id), "
    "ALTER COLUMN version SET DEFAULT 0",
    *_by_ref("tasklife_documents", "PRIMARY KEY (task_ref)"),
    *_by_ref("tasklife_history", "UNIQUE (task_ref, version)"),
    *_by_ref("tasklife_keys", "PRIMARY KEY (task_ref, fire_key)"),
    "DROP FUNCTION tasklife_lock_read(TEXT[], BIGINT[])",
    _LOCK_READ,
)

Statement = str | tuple[str, tuple[Any, ...]] | Callable[[], Sequence[tuple[str, tuple[Any, ...]]]]
"""A statement of a migration: its SQL, with its parameters when it has some (``{p}`` marks
one), or a function giving such statements when the step runs."""


def _builtin_liveness() -> list[tuple[str, tuple[Any, ...]]]:
    """Version 3: each built-in lifecycle stored as an older tasklife wrote it (without its
    ``[liveness]`` table) gets its definition of now, so it is still the built-in."""
    from tasklife.lifecycle import builtin_lifecycles
    from tasklife.store.lifecycles import definition_of

    updates: list[tuple[str, tuple[Any, ...]]] = []
    for lc in builtin_lifecycles():
        old = {k: v for k, v in lc.to_dictionary().items() if k != "liveness"}
        updates.append((
            "UPDATE tasklife_lifecycles SET definition = {p} WHERE name = {p} AND definition = {p}",
            (definition_of(lc), lc.name, json.dumps(old, sort_keys=True, separators=(",", ":"))),
        ))  # fmt: skip
    return updates


def _v3(dialect: str) -> tuple[str, ...]:
    statements = tuple(stmt.format(**_TYPES[dialect]) for stmt in _V3_LIVENESS)
    return statements + _POSTGRES_V3_NOTIFY if dialect == "postgresql" else statements


MIGRATIONS: Final[dict[str, dict[int, tuple[Statement, ...]]]] = {
    "sqlite": {2: _SQLITE_V2, 3: (*_v3("sqlite"), _builtin_liveness)},
    "postgresql": {2: _POSTGRES_V2, 3: (*_v3("postgresql"), _builtin_liveness)},
}
"""``MIGRATIONS[dialect][v]``: the statements that upgrade version ``v - 1`` to ``v``."""

DDL: Final[Mapping[str, tuple[str, ...]]] = {d: (*_V2[d], *_v3(d)) for d in _V2}
"""The statements that create schema version :data:`SCHEMA_VERSION`, per dialect."""

_LIST_TABLES: Final = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    "postgresql": "SELECT table_name FROM information_schema.tables "
    "WHERE table_schema = current_schema()",
}
_PLACEHOLDER: Final = {"sqlite": "?", "postgresql": "%s"}


def _expanded(statement: Statement) -> Sequence[tuple[str, tuple[Any, ...]]]:
    if isinstance(statement, str):
        return [(statement, ())]
    return statement() if callable(statement) else [statement]


def ensure_schema(execute: Execute, dialect: str, where: str) -> int:
    """Create the schema in an empty database, upgrade an older one, or refuse; inside the
    caller's transaction (which must exclude other writers). Returns the version found
    (0 when the schema was created).

    ``where`` names the store in messages (a path or a redacted URL).
    """
    p = _PLACEHOLDER[dialect]
    tables = {row[0] for row in execute(_LIST_TABLES[dialect], ())}
    if "tasklife_meta" not in tables:
        others = sorted(t for t in tables if dialect == "sqlite" or t.startswith("tasklife_"))
        if others:
            raise StoreSchemaError(
                f"{where} is not a tasklife store: it has tables ({', '.join(others[:5])}) "
                "but no tasklife_meta"
            )
        for statement in DDL[dialect]:
            execute(statement, ())
        execute(
            f"INSERT INTO tasklife_meta (key, value) VALUES ('schema_version', {p}), "
            "('application', 'tasklife')",
            (str(SCHEMA_VERSION),),
        )
        return 0
    rows = execute("SELECT value FROM tasklife_meta WHERE key = 'schema_version'", ())
    found = rows[0][0] if rows else None
    if not (isinstance(found, str) and found.isdigit()):
        raise StoreSchemaError(f"{where} is not a tasklife store: schema_version is {found!r}")
    version = int(found)
    if version > SCHEMA_VERSION:
        raise StoreSchemaError(
            f"{where} has schema version {version}, newer than this tasklife's "
            f"({SCHEMA_VERSION}): upgrade tasklife to use it"
        )
    for step in range(version + 1, SCHEMA_VERSION + 1):
        for migration in MIGRATIONS[dialect][step]:
            for sql, params in _expanded(migration):
                execute(sql.replace("{p}", p), params)
        execute(f"UPDATE tasklife_meta SET value = {p} WHERE key = 'schema_version'", (str(step),))
    return version
