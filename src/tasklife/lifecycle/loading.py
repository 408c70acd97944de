"""Finding lifecycles: the built-ins by name, files by path (with ``extends``), values as such.

:func:`get_lifecycle` is what every ``lifecycle=`` argument goes through: a
:class:`~tasklife.lifecycle.Lifecycle` is used as it is, a built-in name gives the shared
built-in (read once from ``tasklife/lifecycles/<name>.toml``), and a ``.toml``/``.json`` path
is read by :func:`load_lifecycle`.

A file that ``extends`` another lifecycle (a built-in, or a file relative to it, which may
extend a third, ...) is resolved as a chain, in a loop: files are read from the top down to
a built-in or a file that extends nothing, then built from the bottom up, each one checked on
its own. Any depth of chain is read in constant stack (a chain 200 files deep is no
RecursionError), a cycle is refused naming the files, and a problem of an extended file is
reported as that file's (``extends base.toml: ...``), never blamed on the top file alone.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from tasklife.errors import InvalidLifecycle, UnknownLifecycle, UnreadableLifecycle, shown
from tasklife.lifecycle.shape import Parts, parse_dictionary
from tasklife.lifecycle.table import Lifecycle, register_well_known

__all__ = [
    "COPY_TASK",
    "COPY_TASK_6_8",
    "LifecycleSpec",
    "builtin_lifecycles",
    "get_lifecycle",
    "load_lifecycle",
]

LifecycleSpec = Lifecycle | str | os.PathLike[str]
"""A lifecycle as every ``lifecycle=`` argument takes it: a value, a built-in name or a file."""

_BUILTIN_FILES: Final = {"copy-task": "copy-task.toml", "copy-task-6.8": "copy-task-6.8.toml"}
_BUILTIN_DIR: Final = Path(__file__).parent.parent / "lifecycles"
"""Where the built-in tables ship, inside the package (read as files: importlib.resources
would add tempfile, random and zipfile support to every ``import tasklife``)."""
_builtins: dict[str, Lifecycle] = {}
_FILE_SUFFIXES: Final = (".toml", ".json")


def builtin_lifecycles() -> tuple[Lifecycle, ...]:
    """The lifecycles that ship with tasklife (``copy-task`` first)."""
    return tuple(get_lifecycle(n) for n in _BUILTIN_FILES)


def get_lifecycle(spec: LifecycleSpec, *, relative_to: Path | None = None) -> Lifecycle:
    """Resolve a lifecycle given as a value, a built-in name or a ``.toml``/``.json`` path.

    >>> get_lifecycle("copy-task-6.8").has_state("kFinalizing")
    True
    """
    if isinstance(spec, Lifecycle):
        return spec
    if isinstance(spec, str) and spec in _BUILTIN_FILES:
        if spec not in _builtins:
            data = tomllib.loads((_BUILTIN_DIR / _BUILTIN_FILES[spec]).read_text(encoding="utf-8"))
            _builtins[spec] = _build(data, _BUILTIN_FILES[spec])
            register_well_known(_builtins[spec])
        return _builtins[spec]
    path = Path(spec)
    if relative_to is not None and not path.is_absolute():
        path = relative_to / path
    if path.suffix in _FILE_SUFFIXES and path.is_file():
        return load_lifecycle(path)
    raise UnknownLifecycle(str(spec), list(_BUILTIN_FILES))


def load_lifecycle(path: str | os.PathLike[str]) -> Lifecycle:
    """Read and check a lifecycle from a ``.toml`` or ``.json`` file.

    A file that cannot be read as a lifecycle raises :class:`UnreadableLifecycle`; one that
    describes an unsound lifecycle, :class:`InvalidLifecycle` listing every problem.

    >>> load_lifecycle("nope.toml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    tasklife.errors.UnreadableLifecycle: nope.toml: cannot read: ...
    """
    p = Path(path)
    return _build(_read_file(p), str(p))


def _build(data: dict[str, Any], origin: str) -> Lifecycle:
    """The lifecycle of a file's table: its ``extends`` chain read down, then built up."""
    chain = [(data, origin)]
    seen = [str(Path(origin).resolve()) if origin.endswith(_FILE_SUFFIXES) else origin]
    base: Lifecycle | None = None
    while "extends" in data:
        try:
            found = _extended(data, origin, seen)
        except InvalidLifecycle as exc:
            raise _in_chain(chain, exc.problems) from None
        if isinstance(found, Lifecycle):
            base = found
            break
        data, origin = found
        chain.append(found)
    for depth in range(len(chain) - 1, -1, -1):
        data, origin = chain[depth]
        parts = None if base is None else _parts(base)
        try:
            parsed = parse_dictionary(data, origin, parts)
            base = Lifecycle(
                parsed.name,
                parsed.initial,
                parsed.states,
                parsed.transitions,
                parsed.description,
                parsed.liveness,
            )
        except InvalidLifecycle as exc:
            raise _in_chain(chain[: depth + 1], exc.problems) from None
    assert base is not None
    return base


def _parts(lc: Lifecycle) -> Parts:
    return Parts(lc.name, lc.initial, lc.states, lc.transitions, lc.description, lc.liveness)


def _in_chain(chain: list[tuple[dict[str, Any], str]], problems: tuple[str, ...]) -> Exception:
    """The problems of the last file of ``chain``, as problems of its top file (each naming
    the extended file where they are)."""
    name = _name_of(*chain[0])
    if len(chain) == 1:
        return InvalidLifecycle(name, problems)
    where = chain[-1][1]
    return InvalidLifecycle(name, [f"extends {where}: {problem}" for problem in problems])


def _name_of(data: dict[str, Any], origin: str) -> str:
    name = data.get("name")
    return name if isinstance(name, str) and name else Path(origin).stem


def _extended(
    data: dict[str, Any], origin: str, seen: list[str]
) -> Lifecycle | tuple[dict[str, Any], str]:
    """What ``data`` (read from ``origin``) extends: a built-in lifecycle, or the next file of
    the chain as ``(table, path)``. A problem finding it is a problem of ``data``'s file."""
    extends = data["extends"]
    if not isinstance(extends, str) or not extends:
        problem = f"extends must be a lifecycle name or file, got {shown(extends)}"
        raise InvalidLifecycle(_name_of(data, origin), [problem])
    is_file = extends.endswith(_FILE_SUFFIXES)
    path = Path(origin).parent / extends
    key = str(path.resolve()) if is_file else extends
    if key in seen:
        cycle = " -> ".join([*seen, key])
        raise InvalidLifecycle(_name_of(data, origin), [f"extends cycle: {cycle}"])
    seen.append(key)
    try:
        if not is_file:
            return get_lifecycle(extends)
        if not path.is_file():
            return get_lifecycle(path)  # names the missing file
        return _read_file(path), str(path)
    except (UnknownLifecycle, UnreadableLifecycle) as exc:
        raise InvalidLifecycle(_name_of(data, origin), [f"extends: {exc}"]) from None


def _read_file(path: Path) -> dict[str, Any]:
    """The table a lifecycle file holds; :class:`UnreadableLifecycle` when there is none."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UnreadableLifecycle(str(path), f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UnreadableLifecycle(
            str(path), f"not UTF-8 text: {exc.reason} at byte {exc.start}"
        ) from None
    try:
        if path.suffix == ".json":
            data = json.loads(text, object_pairs_hook=_no_duplicate_keys(path.stem))
        else:
            data = tomllib.loads(text)
    except RecursionError:  # a value nested thousands deep: no lifecycle is shaped like that
        raise UnreadableLifecycle(str(path), "nested too deeply to be a lifecycle") from None
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        if isinstance(exc, InvalidLifecycle):
            raise
        raise UnreadableLifecycle(
            str(path), f"not valid {path.suffix[1:].upper()}: {exc}"
        ) from None
    if not isinstance(data, dict):
        raise UnreadableLifecycle(
            str(path),
            f"not a lifecycle: the top level must be an object, got {type(data).__name__}",
        )
    return data


def _no_duplicate_keys(name: str) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in pairs:
            if k in out:
                raise InvalidLifecycle(name, [f"duplicate name {k!r}"])
            out[k] = v
        return out

    return hook


COPY_TASK: Final = get_lifecycle("copy-task")
"""The copy-task lifecycle of ``CopySnapshotTaskStatus`` (the nine statuses; the default)."""
COPY_TASK_6_8: Final = get_lifecycle("copy-task-6.8")
"""``copy-task`` plus ``kFinalizing`` (cluster 6.8.1; cohesity-management-sdk 1.9.0 and later)."""
