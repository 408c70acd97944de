"""``tasklife check FILE...``: check lifecycle definitions before anything uses them.

Each argument is a ``.toml``/``.json`` lifecycle file or a built-in lifecycle name. A sound
lifecycle prints one summary line; an unsound one prints one line per problem, each naming
the state or trigger at fault (the messages of :func:`tasklife.lifecycle.check_definition`).

Exit status: 0 when every lifecycle is sound, 1 when any has problems, 2 when a file cannot
be used at all: unreadable, not TOML/JSON, nested too deeply, not a table at the top, or
neither a built-in name nor a ``.toml``/``.json`` file (3: an internal error).

>>> from tasklife.cli import main
>>> main(["check", "copy-task"])
copy-task: sound: lifecycle 'copy-task', 9 states (5 final), 9 triggers, initial 'kAccepted'
0
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tasklife.cli._terminal import emit
from tasklife.errors import InvalidLifecycle, UnknownLifecycle, UnreadableLifecycle
from tasklife.lifecycle import Lifecycle, builtin_lifecycles, get_lifecycle, load_lifecycle

__all__ = ["check_one", "register"]

SOUND, PROBLEMS, UNUSABLE = 0, 1, 2


def register(sub: Any) -> None:
    """Add the ``check`` sub-command."""
    p = sub.add_parser(
        "check",
        help="check lifecycle definitions (exit 0 sound, 1 problems, 2 unreadable)",
        description=__doc__.split("\n\n>>>")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "lifecycles",
        nargs="+",
        metavar="FILE",
        help="a .toml/.json lifecycle file or a built-in name "
        f"({', '.join(lc.name for lc in builtin_lifecycles())})",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Check every lifecycle named on the command line; the worst exit status wins."""
    worst = SOUND
    for spec in args.lifecycles:
        status, lines = check_one(spec)
        for line in lines:
            emit(line, stderr=status == UNUSABLE)
        worst = max(worst, status)
    return worst


def check_one(spec: str) -> tuple[int, list[str]]:
    """Check one lifecycle file or built-in name: ``(exit status, output lines)``.

    >>> check_one("copy-task-6.8")[0]
    0
    >>> check_one("no-such.yaml")[1]  # doctest: +NORMALIZE_WHITESPACE
    ['no-such.yaml: not a built-in lifecycle (copy-task, copy-task-6.8) nor a readable
      .toml/.json file']
    """
    is_file = Path(spec).suffix in (".toml", ".json")
    try:
        lifecycle = load_lifecycle(spec) if is_file else get_lifecycle(spec)
    except (UnreadableLifecycle, UnknownLifecycle) as exc:
        return UNUSABLE, [f"{spec}: {exc.reason}"]
    except InvalidLifecycle as exc:
        return PROBLEMS, [f"{spec}: {problem}" for problem in exc.problems]
    return SOUND, [_summary(spec, lifecycle)]


def _summary(label: str, lc: Lifecycle) -> str:
    return (
        f"{label}: sound: lifecycle {lc.name!r}, {len(lc.state_names)} states "
        f"({len(lc.final_states)} final), {len(lc.triggers)} triggers, initial {lc.initial!r}"
    )
