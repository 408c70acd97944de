"""Finding lifecycles: the built-ins by name, files by path (with ``extends``), values as such.

:func:`get_lifecycle` is what every ``lifecycle=`` argument goes through: a
:class:`~tasklife.lifecycle.Lifecycle` is used as it is, a built-in name gives the shared
built-in (read once from ``tasklife/lifecycles/<name>.toml``), and a ``.toml``/``.json`` path
is read by :func:`load_lifecycle`.

Reading a file and resolving its ``extends`` call each other (a file may extend a built-in
or another file, which may extend a third), so both live here; a context variable holds the
chain being loaded, to refuse an ``extends`` cycle with a clear message.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Final

from tasklife.errors import InvalidLifecycle, UnknownLifecycle, UnreadableLifecycle
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
    base = None
    if "extends" in data:
        name = str(data.get("name") or Path(origin).stem)
        extended = _extended(name, data["extends"], origin)
        base = Parts(
            extended.name,
            extended.initial,
            extended.states,
            extended.transitions,
            extended.description,
            extended.liveness,
        )
    parts = parse_dictionary(data, origin, base)
    return Lifecycle(
        parts.name,
        parts.initial,
        parts.states,
        parts.transitions,
        parts.description,
        parts.liveness,
    )


_extending: ContextVar[tuple[str, ...]] = ContextVar("_extending", default=())
"""The files/names this thread or task is loading, to refuse an ``extends`` cycle."""


def _extended(name: str, extends: object, origin: str) -> Lifecycle:
    """The lifecycle a file extends; a problem finding it is a problem of the file."""
    if not isinstance(extends, str) or not extends:
        raise InvalidLifecycle(name, [f"extends must be a lifecycle name or file, got {extends!r}"])
    key = (
        str((Path(origin).parent / extends).resolve())
        if extends.endswith(_FILE_SUFFIXES)
        else extends
    )
    loading = _extending.get()
    if key in loading:
        raise InvalidLifecycle(name, [f"extends cycle: {' -> '.join([*loading, key])}"])
    token = _extending.set((*loading, key))
    try:
        return get_lifecycle(extends, relative_to=Path(origin).parent)
    except (UnknownLifecycle, UnreadableLifecycle) as exc:
        raise InvalidLifecycle(name, [f"extends: {exc}"]) from exc
    finally:
        _extending.reset(token)


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
"""``copy-task`` plus ``kFinalizing`` (cluster 6.8.1, SDK 1.16)."""
