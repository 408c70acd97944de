"""What reaches the terminal: text that is never markup, one line per error, exit statuses.

Every command runs under :func:`run_command` and prints through this module, so the rules are
written once:

* **Exit statuses** (:data:`EXIT_STATUSES`): 0 done (valid, sound, fired), 1 the input has
  problems (violations, malformed lines, an unsound lifecycle, a refused trigger), 2 the input
  cannot be used or the command line is wrong, 3 an internal error: a bug in tasklife, never
  a verdict. 130 interrupted, 141 standard output closed early (``| head``): 128 + SIGPIPE,
  what any Unix tool a reader stops reading from ends with.
* **One line per error** on stderr, ``tasklife COMMAND: ...``, never a traceback; an internal
  error names its input and the exception (``TASKLIFE_DEBUG=1`` adds the traceback).
* **Text is not markup.** Ids, statuses, paths and messages come from the input: they are
  printed as plain text (rich markup and emoji codes inert) with control and format
  characters (ESC, newlines, bidi overrides) shown as ``\\x1b``-style escapes, so nothing in an
  input can style, move or rewrite the terminal. :func:`console` gives rich consoles that do
  this for every string they render, table cells included; :func:`emit` and :func:`say` for
  plain lines.

>>> clean("task\\x1b[31m-1\\n[bold]x[/]")
'task\\\\x1b[31m-1\\\\n[bold]x[/]'
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
import traceback
import unicodedata
from collections.abc import Callable
from typing import Any, Final

from rich.console import Console
from rich.text import Text

from tasklife.errors import TaskLifeError

__all__ = [
    "DEBUG_ENV",
    "EXIT_STATUSES",
    "INTERNAL",
    "INTERRUPTED",
    "OK",
    "PIPE_CLOSED",
    "PROBLEMS",
    "UNUSABLE",
    "clean",
    "console",
    "emit",
    "inputs_of",
    "run_command",
    "say",
]

OK: Final = 0
PROBLEMS: Final = 1
UNUSABLE: Final = 2
INTERNAL: Final = 3
INTERRUPTED: Final = 130
"""128 + SIGINT, what a shell reports for a command stopped with Ctrl-C."""
PIPE_CLOSED: Final = 141
"""128 + SIGPIPE, what a shell reports for a command whose reader went away."""
EXIT_STATUSES: Final = {
    OK: "done: valid, sound, written or fired",
    PROBLEMS: "the input has problems: violations, malformed lines, an unsound lifecycle, "
    "a refused trigger",
    UNUSABLE: "the input cannot be used (missing, unreadable, unknown), or the command line "
    "is wrong",
    INTERNAL: "internal error: a bug in tasklife, not a verdict on the input",
    INTERRUPTED: "interrupted",
    PIPE_CLOSED: "standard output was closed before everything was written",
}
DEBUG_ENV: Final = "TASKLIFE_DEBUG"
"""Set (non-empty) to get the traceback of an internal error after its one line."""

_HIDDEN: Final = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp", "Co", "Cn"})
"""Unicode categories never written raw: controls (ESC, newline), formats (bidi overrides,
zero-width characters), surrogates, line/paragraph separators, private and unassigned."""
_INPUT_ARGS: Final = ("files", "lifecycles", "log", "lifecycle", "dir", "task", "db")
"""The argument names under which commands take their inputs, in the order they are named."""


def clean(text: object) -> str:
    """``text`` with every control or format character written as an escape (``\\x1b``,
    ``\\n``, ``\\u202e``): safe to write to a terminal, and still telling ids apart."""
    s = str(text)
    if s.isascii() and s.isprintable():
        return s
    return "".join(repr(c)[1:-1] if unicodedata.category(c) in _HIDDEN else c for c in s)


def one_line(message: object) -> str:
    """``message`` on one clean line: its own line breaks become ``; ``."""
    return "; ".join(clean(part.strip()) for part in str(message).splitlines() if part.strip())


def say(command: str, message: object) -> None:
    """One line on stderr: ``tasklife COMMAND: message``."""
    print(f"tasklife {command}: {one_line(message)}", file=sys.stderr)


def emit(text: object, *, stderr: bool = False) -> None:
    """One line of output on stdout (or stderr), cleaned."""
    print(one_line(text) if text else "", file=sys.stderr if stderr else sys.stdout)


class _PlainConsole(Console):
    """A rich console that renders every string as plain, cleaned text (never markup)."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        kwargs.update(markup=False, emoji=False, highlight=False)
        return super().render_str(clean(text), **kwargs)

    def on_broken_pipe(self) -> None:
        """A closed pipe ends the command with :data:`PIPE_CLOSED` (rich's own handler exits
        with status 1, which is a verdict)."""
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, "standard output closed")


def console(*, stderr: bool = False) -> Console:
    """The console every command prints rich output with: strings (table cells and titles
    included) are plain, cleaned text; style comes only from ``Text`` objects the command
    builds itself."""
    return _PlainConsole(stderr=stderr, markup=False, emoji=False, highlight=False)


def inputs_of(args: argparse.Namespace) -> str:
    """The inputs a command was given, for a message (a store URL without its password)."""
    named = []
    for name in _INPUT_ARGS:
        value = getattr(args, name, None)
        if not value:
            continue
        values = value if isinstance(value, list) else [value]
        if name == "db":
            values = [_redacted(str(v)) for v in values]
        named += [f"{name} {clean(v)}" if name in ("task", "db") else clean(v) for v in values]
    return ", ".join(named) or "the command line"


def _redacted(url: str) -> str:
    from tasklife.store.url import parse_url

    try:
        return str(parse_url(url))
    except Exception:  # a URL the store refuses: show its scheme only, never a password
        return url.split("://", 1)[0] + "://..." if "://" in url else url


def run_command(command: str, body: Callable[[], int], args: argparse.Namespace) -> int:
    """Run a command's body and give its exit status; nothing escapes as a traceback."""
    try:
        status = body()
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return status
    except BrokenPipeError:
        _stdout_to_devnull()
        return PIPE_CLOSED
    except KeyboardInterrupt:
        say(command, "interrupted")
        return INTERRUPTED
    except (TaskLifeError, ImportError) as exc:  # typed: the input (or an extra) is the cause
        say(command, f"error: {exc}")
        return UNUSABLE
    except MemoryError:
        say(command, f"error: not enough memory for {inputs_of(args)}")
        return UNUSABLE
    except Exception as exc:
        if os.environ.get(DEBUG_ENV):
            traceback.print_exc()
        say(
            command,
            f"internal error on {inputs_of(args)}: {type(exc).__name__}: {exc} "
            f"(a bug in tasklife, not a verdict; {DEBUG_ENV}=1 shows the traceback)",
        )
        return INTERNAL


def _stdout_to_devnull() -> None:
    """Point standard output at /dev/null, so the interpreter's final flush of what is still
    buffered does not fail again on the closed pipe."""
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError, AttributeError):  # not a real file (a test's capture)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)
