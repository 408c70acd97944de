"""Bad input and unusable databases: a clear, typed error naming what is wrong, nothing
written, and never a password in a message or a repr."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

import storeservers
from tasklife.errors import (
    CorruptTask,
    InvalidStoreURL,
    StoreError,
    StoreReadOnly,
    StoreSchemaError,
    StoreUnavailable,
    TaskLifeError,
)
from tasklife.store import open_store


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://db/tasks", "unknown scheme 'mysql'"),
        ("postgresql://db.example", "no database name"),
        ("postgresql://u:hunter22@db:99999/x", "bad port"),
        ("sqlite:///x.db?journal=off", "unknown SQLite parameter 'journal'"),
        ("sqlite:///x.db?durability=sometimes", "durability must be one of full, process"),
        ("sqlite://?mode=ro", "in-memory store cannot be read-only"),
        ("", "expected a URL or a file path"),
    ],
)
def test_a_bad_url_is_refused_naming_the_problem(url: str, message: str) -> None:
    with pytest.raises(InvalidStoreURL, match=message) as caught:
        open_store(url)
    assert isinstance(caught.value, ValueError) and "hunter22" not in str(caught.value)


def test_an_unreachable_server_is_unavailable_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql://ops:hunter22@/tasks?host={tmp_path}&port=1"  # no server there
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="cannot use postgresql://ops:\\*\\*\\*@") as caught:
        open_store(url)
    assert time.monotonic() - started < 30  # no retrying forever
    assert "hunter22" not in str(caught.value) and "hunter22" not in repr(caught.value)
    assert isinstance(caught.value, ConnectionError)


def test_a_wrong_password_is_not_shown(postgres_server: str) -> None:
    from tasklife.store.url import parse_url

    url = parse_url(postgres_server.replace("postgres:@", "nobody:hunter22@"))
    assert "hunter22" not in repr(url) and "hunter22" not in str(url)
    with pytest.raises(StoreError) as caught:
        open_store(postgres_server.replace("postgres:@", "nobody:hunter22@"))
    assert "hunter22" not in str(caught.value)
    assert "nobody" in str(caught.value)  # the server refused that role


def test_a_read_only_sqlite_store_reads_and_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "tasks.db"
    with open_store(path) as store:
        store.add({"status": "kRunning"}, task_id="t")
    with open_store(f"sqlite:///{path}?mode=ro") as store:
        assert store.get("t").status == "kRunning"
        with pytest.raises(StoreReadOnly, match=f"{path} is read-only") as caught:
            store.fire("t", "succeed")
        assert isinstance(caught.value, PermissionError)
        with pytest.raises(StoreReadOnly):
            store.add({}, task_id="u")
    with open_store(path) as store:
        assert store.history("t") == [] and [t.task_id for t in store.tasks()] == ["t"]


def test_files_that_are_not_stores_are_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("these are not the tasks you are looking for\n" * 100)
    with pytest.raises(StoreSchemaError, match=r"notes\.txt is not a tasklife store"):
        open_store(text)
    assert text.read_text().startswith("these are not")  # untouched
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(StoreSchemaError, match=r"not a tasklife store: it has tables \(invoices\)"):
        open_store(other)
    with pytest.raises(StoreError, match="unable to open"):
        open_store(tmp_path / "no" / "such" / "dir" / "tasks.db")


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("document", '{"stats": {"startTimeUsecs": "soon"}', "unexpected end of data"),
        ("document", '{"stats": {"startTimeUsecs": "soon"}}', "stats.startTimeUsecs"),
        ("document", "[1, 2]", "not a JSON object"),
        ("status", "kExploded", "not a status of lifecycle 'copy-task'"),
        ("definition", '{"name": "copy-task"', "its lifecycle 'copy-task' is corrupt"),
    ],
)
def test_a_row_corrupted_by_hand_names_its_task(
    store_url: str, column: str, value: object, reason: str
) -> None:
    with open_store(store_url) as store:
        store.add({"status": "kRunning", "source": {"id": 7}}, task_id="copy-7")
        table = {"definition": "tasklife_lifecycles", "document": "tasklife_documents"}.get(
            column, "tasklife_tasks"
        )
        storeservers.execute(store_url, f"UPDATE {table} SET {column} = ?", value)
    with open_store(store_url) as store:
        with pytest.raises(
            CorruptTask, match=f"stored task 'copy-7' is corrupt: .*{reason}"
        ) as caught:
            store.get("copy-7")
        assert caught.value.task_id == "copy-7" and isinstance(caught.value, TaskLifeError)


def test_a_status_edited_by_hand_does_not_let_a_fire_through(store_url: str) -> None:
    """A fire reads the stored status under the lock, so a hand edit is respected or refused."""
    with open_store(store_url) as store:
        store.add({"status": "kRunning"}, task_id="t")
        storeservers.execute(store_url, "UPDATE tasklife_tasks SET status = 'kSuccess'")
        with pytest.raises(Exception, match="cannot 'succeed' from status 'kSuccess'"):
            store.fire("t", "succeed")
