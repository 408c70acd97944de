"""The ``tasklife`` command: one sub-command per module of this package.

Each sub-command module defines ``register(subparsers)``, which adds its parser and sets
``func`` to a callable taking the parsed arguments and returning the exit status. Every
command runs under :func:`tasklife.cli._terminal.run_command`, which owns what reaches the
terminal (plain text, never markup; one line per error; no traceback).

Exit statuses, the same for every command: 0 done (valid, sound, written, fired), 1 the
input has problems (violations, malformed lines, an unsound lifecycle, a refused trigger),
2 the input cannot be used or the command line is wrong, 3 an internal error (a bug in
tasklife, never a verdict; one line naming the input), 130 interrupted, 141 standard output
closed early (``tasklife validate big.jsonl | head``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Final

from tasklife.cli._terminal import run_command

__all__ = ["main"]

_COMMANDS: Final = (
    *("demo", "validate", "diagram", "check"),
    *("tasks", "history", "fire", "export", "reap", "watch"),  # the store's commands
)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of the command ``only`` (a command line naming its
    command imports that command's module alone: ``tasklife validate`` on a small file must
    start fast, and the other commands import the store, the models, the diagrams)."""
    parser = argparse.ArgumentParser(
        prog="tasklife", description="Track, validate and draw task lifecycles."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _COMMANDS if only is None else (only,):
        importlib.import_module(f"tasklife.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (``tasklife --help`` lists commands)."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(args_in[0] if args_in and args_in[0] in _COMMANDS else None)
    args = parser.parse_args(args_in)
    return run_command(args.command, lambda: int(args.func(args)), args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
