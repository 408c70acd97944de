"""``tasklife reap`` and ``tasklife watch``: JSON Lines out, and a clean end (exit 0, no
traceback) on Ctrl-C and on a closed pipe, as real processes."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

from tasklife.cli import main
from tasklife.cli._terminal import PIPE_CLOSED
from tasklife.store import open_store

SECOND = 1_000_000


def _interruptible() -> None:
    """In the child: Ctrl-C as in a terminal, even when the tests were started in the
    background (a shell's background job inherits SIGINT ignored, and Python then never
    raises KeyboardInterrupt)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def tasklife(*argv: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tasklife", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_interruptible,
    )


def test_reap_reports_each_task_it_fired_at(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_store(sqlite_url) as store:
        store.add({"status": "kRunning"}, task_id="t")
        store.heartbeat("t", worker="w9", lease_usecs=SECOND, at_usecs=SECOND)
    assert main(["reap", "--db", sqlite_url]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    reaped = json.loads(line)
    assert (reaped["taskId"], reaped["trigger"], reaped["status"]) == ("t", "fail", "kFailure")
    assert "worker 'w9' stopped heartbeating" in reaped["reason"]
    with pytest.raises(SystemExit) as exit_:  # argparse: a one-line usage error
        main(["reap", "--db", sqlite_url, "--every", "0"])
    assert exit_.value.code == 2
    assert "must be a positive number of seconds, got '0'" in capsys.readouterr().err


def _wait_for_line(proc: subprocess.Popen[bytes]) -> dict[str, Any]:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, proc.stderr.read() if proc.stderr else b""
    event: dict[str, Any] = json.loads(line)
    return event


def test_watch_prints_transitions_live_and_ends_cleanly_on_ctrl_c(sqlite_url: str) -> None:
    with open_store(sqlite_url) as store:
        store.add({"status": "kAccepted"}, task_id="t")
        watch = tasklife("watch", "--db", sqlite_url, "--after", "0", "--poll", "0.02")
        try:
            assert _wait_for_line(watch)["status"] == "kAccepted"
            store.fire("t", "start")
            event = _wait_for_line(watch)
            assert (event["taskId"], event["status"], event["attempt"]) == ("t", "kRunning", 1)
        finally:
            watch.send_signal(signal.SIGINT)
            _, err = watch.communicate(timeout=60)
    assert watch.returncode == 0 and b"Traceback" not in err


def test_watch_ends_cleanly_when_its_reader_goes_away(sqlite_url: str) -> None:
    with open_store(sqlite_url) as store:
        store.add({"status": "kAccepted"}, task_id="t")
        watch = tasklife("watch", "--db", sqlite_url, "--after", "0", "--poll", "0.02")
        assert _wait_for_line(watch)["status"] == "kAccepted"
        assert watch.stdout is not None
        watch.stdout.close()  # as `| head -1` does
        store.fire("t", "start")  # the next line finds the pipe closed
        _, err = watch.communicate(timeout=60)
    assert watch.returncode == PIPE_CLOSED and err == b""


def test_reap_every_runs_until_ctrl_c(sqlite_url: str) -> None:
    with open_store(sqlite_url) as store:
        store.add({"status": "kRunning"}, task_id="t")
    reaper = tasklife("reap", "--db", sqlite_url, "--every", "0.05")
    with open_store(sqlite_url) as store:
        store.heartbeat("t", worker="w", lease_usecs=1)  # expired at once
        line = json.loads(reaper.stdout.readline() if reaper.stdout else b"{}")
        assert (line["taskId"], line["status"]) == ("t", "kFailure")
    time.sleep(0.1)
    reaper.send_signal(signal.SIGINT)
    _, err = reaper.communicate(timeout=60)
    assert reaper.returncode == 0 and b"Traceback" not in err


def test_watch_on_a_terminal_is_a_live_table(sqlite_url: str) -> None:
    with open_store(sqlite_url) as store:
        store.add({"status": "kAccepted"}, task_id="copy-9")
        store.fire("copy-9", "start")
    main_end, terminal = os.openpty()  # stdout is a terminal: the table, not JSON Lines
    watch = subprocess.Popen(
        [sys.executable, "-m", "tasklife", "watch", "--db", sqlite_url, "--after", "0"],
        stdout=terminal,
        stderr=subprocess.PIPE,
        preexec_fn=_interruptible,
    )
    os.close(terminal)
    shown = b""
    while b"kRunning" not in shown:
        ready, _, _ = select.select([main_end], [], [], 60)
        assert ready, f"no table in 60 s: {shown!r}"
        shown += os.read(main_end, 65536)
    watch.send_signal(signal.SIGINT)
    _, err = watch.communicate(timeout=60)
    os.close(main_end)
    assert watch.returncode == 0 and b"Traceback" not in err
    assert b"copy-9" in shown and b"attempt" in shown


@pytest.mark.parametrize("argv", [["reap", "--every", "0"], ["watch", "--poll", "-1"]])
def test_intervals_must_be_positive_seconds(argv: list[str], capsys: Any) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--db", "sqlite://"])
    assert exit_.value.code == 2
    assert "must be a positive number of seconds" in capsys.readouterr().err
