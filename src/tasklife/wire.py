"""Wire fields: each model field declares once how it is read from and written to JSON.

Theory of operation
-------------------
A wire model is a slotted attrs class whose fields are declared with :func:`wire_field`: the
camelCase JSON key and a :class:`Kind` (how a value is checked and converted). The
:func:`wire_model` decorator compiles that table once per class into a :class:`Codec`: two
straight-line functions generated from the table, the way attrs generates ``__init__``, so no
per-call reflection and no loop over fields that are absent.

* ``read`` (``from_dictionary``) looks each field's key up once; a value of the kind's plain
  type (``Kind.fast``, e.g. a non-negative ``int`` for a count) is taken inline, anything else
  goes to the kind's ``read`` function, which converts it or raises. Fields declared
  ``sparse`` (the 42 ``<env>ProtectionSource`` sub-objects, of which a source has one) are not
  looked up one by one: only when the document has keys left over are they, and the keys the
  model does not know, picked out in one pass. An unknown key is deep-copied into the record's
  private ``_extra`` mapping; an explicit ``null`` for a known key is remembered in the private
  ``_nulls`` set. Both are one shared empty value when there is nothing to remember, so a
  record stays light.
* ``write`` (``to_dictionary``) tests each field for None, converts the set ones, then adds back
  the remembered nulls and the unmodelled keys. So ``from_dictionary(d).to_dictionary() == d``
  for any document: a missing key stays missing, a ``null`` stays ``null``, an empty object
  stays ``{}``.

Verbatim JSON (unmodelled keys, objects kept as plain dicts) is deep-copied on the way in and
on the way out, so neither the caller's dict nor the record can change the other. Every check
failure is an :class:`~tasklife.errors.InvalidRecord` naming the dotted wire path
(``stats.startTimeUsecs``) and the offending value; reading never mutates its input and builds
the record only once every field has been read, so a bad document leaves nothing behind.

>>> import attrs
>>> @wire_model
... @attrs.define
... class Size(WireModel):
...     size_bytes: int | None = wire_field("sizeBytes", COUNT)
...     _extra: Any = extra_field()
...     _nulls: frozenset[str] = nulls_field()
>>> Size.from_dictionary({"sizeBytes": 3, "unit": "B"}).to_dictionary()
{'sizeBytes': 3, 'unit': 'B'}
>>> Size.from_dictionary({"sizeBytes": -1})
Traceback (most recent call last):
tasklife.errors.InvalidRecord: sizeBytes: expected a non-negative integer (got -1)
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Final, Self, TypeVar, cast

import attrs

from tasklife.errors import InvalidRecord

__all__ = [
    "BOOLEAN",
    "COUNT",
    "INTEGER",
    "NO_EXTRA",
    "OBJECT",
    "OBJECT_LIST",
    "STRING",
    "Codec",
    "Kind",
    "WireModel",
    "copy_json",
    "extra_field",
    "join_path",
    "model_kind",
    "nulls_field",
    "read_verbatim",
    "wire_field",
    "wire_model",
]

Reader = Callable[[Any, type, str, str], Any]
"""``read(value, owner_class, parent_path, key)`` -> the attribute value, or InvalidRecord."""
Writer = Callable[[Any], Any]

NO_EXTRA: Final[Mapping[str, Any]] = MappingProxyType({})
"""The shared "no unmodelled keys" value of ``_extra``."""
_NO_NULLS: Final[frozenset[str]] = frozenset()
_WIRE = "tasklife.wire"
_SCALARS: Final = frozenset({str, int, float, bool, type(None)})


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON value (dicts and lists rebuilt, scalars shared).

    >>> doc = {"a": [{"b": 1}]}
    >>> clone = copy_json(doc)
    >>> clone == doc, clone["a"][0] is doc["a"][0]
    (True, False)
    """
    kind = type(value)
    if kind is dict or kind is list:
        # Copy the container in C, then replace only the values that are containers.
        out = value.copy()
        for slot, item in out.items() if kind is dict else enumerate(out):
            if type(item) not in _SCALARS:
                out[slot] = copy_json(item)
        return out
    if kind in _SCALARS:
        return value
    if isinstance(value, Mapping):
        return {k: copy_json(v) for k, v in value.items()}
    return copy.deepcopy(value)


def join_path(parent: str, key: str) -> str:
    """The wire path of ``key`` inside the object at ``parent`` (``""`` for the document).

    >>> join_path("", "stats"), join_path("stats", "startTimeUsecs")
    ('stats', 'stats.startTimeUsecs')
    """
    return f"{parent}.{key}" if parent else key


def _bad(parent: str, key: str, value: Any, reason: str) -> InvalidRecord:
    return InvalidRecord(join_path(parent, key), value, reason)


@attrs.frozen
class Kind:
    """How one field's value is checked and converted: ``read`` from JSON, ``write`` to JSON.

    ``fast`` is a Python expression over ``v`` that is true when ``v`` can be taken as is
    (inlined into the generated reader); ``write`` is None when the attribute value is already
    its JSON value.

    >>> STRING.read("x", object, "", "name"), STRING.write
    ('x', None)
    """

    description: str
    read: Reader
    write: Writer | None = None
    fast: str | None = None
    model: type[WireModel] | None = None
    """The nested wire model of a :func:`model_kind` (its codec is then called inline)."""


def _read_string(value: Any, owner: type, parent: str, key: str) -> Any:
    if isinstance(value, str):
        return value
    raise _bad(parent, key, value, "expected a string")


def _read_count(value: Any, owner: type, parent: str, key: str) -> Any:
    if type(value) is int and value >= 0:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return int(value)
    raise _bad(parent, key, value, "expected a non-negative integer")


def _read_integer(value: Any, owner: type, parent: str, key: str) -> Any:
    if type(value) is int:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    raise _bad(parent, key, value, "expected an integer")


def _read_boolean(value: Any, owner: type, parent: str, key: str) -> Any:
    if value is True or value is False:
        return value
    raise _bad(parent, key, value, "expected true or false")


def read_verbatim(value: Any, owner: type, parent: str, key: str) -> Any:
    """Any JSON value, deep-copied; what cannot be copied is an InvalidRecord, not a crash.

    >>> read_verbatim([{"a": 1}], object, "source", "zzNew")
    [{'a': 1}]
    """
    try:
        return copy_json(value)
    except RecursionError:
        raise _bad(parent, key, "<too deep to show>", "nested too deeply") from None
    except Exception as exc:  # deepcopy of a non-JSON object may raise anything
        raise _bad(parent, key, value, f"not JSON data ({exc})") from None


def _read_object(value: Any, owner: type, parent: str, key: str) -> Any:
    if type(value) is dict or isinstance(value, Mapping):
        return read_verbatim(value, owner, parent, key)
    raise _bad(parent, key, value, "expected an object")


def _read_object_list(value: Any, owner: type, parent: str, key: str) -> Any:
    if type(value) is not list:
        raise _bad(parent, key, value, "expected a list")
    for i, item in enumerate(value):
        if item is not None and not isinstance(item, Mapping):
            raise _bad(parent, f"{key}[{i}]", item, "expected an object")
    return read_verbatim(value, owner, parent, key)


STRING: Final = Kind("a string", _read_string, fast="type(v) is str")
COUNT: Final = Kind(
    "a non-negative integer (a time in epoch microseconds or a count)",
    _read_count,
    fast="type(v) is int and v >= 0",
)
INTEGER: Final = Kind("an integer", _read_integer, fast="type(v) is int")
BOOLEAN: Final = Kind("true or false", _read_boolean, fast="v is True or v is False")
OBJECT: Final = Kind("an object, kept verbatim", _read_object, copy_json)
OBJECT_LIST: Final = Kind("a list of objects, kept verbatim", _read_object_list, copy_json)


def model_kind(model: type[WireModel]) -> Kind:
    """The kind of a field holding a nested wire model (read with its own codec).

    >>> model_kind(WireModel).description
    'a WireModel object'
    """

    def read(value: Any, owner: type, parent: str, key: str) -> Any:
        return model._codec.read(model, value, join_path(parent, key))

    def write(value: Any) -> Any:
        return value._codec.write(value)

    return Kind(f"a {model.__name__} object", read, write, model=model)


def wire_field(key: str, kind: Kind, *, sparse: bool = False, **field_args: Any) -> Any:
    """An attrs field (default None) stored under the JSON ``key`` and read as ``kind``.

    ``sparse`` marks a field that is usually absent (one of many alternatives): the reader
    then finds it in its pass over leftover keys instead of looking it up every time.

    >>> key, kind, sparse = wire_field("startTimeUsecs", COUNT).metadata["tasklife.wire"]
    >>> key, kind is COUNT, sparse
    ('startTimeUsecs', True, False)
    """
    field_args.setdefault("default", None)
    return attrs.field(metadata={_WIRE: (key, kind, sparse)}, **field_args)


def extra_field() -> Any:
    """The private field holding the unmodelled keys (keyword ``_extra`` in ``__init__``).

    >>> extra_field().alias
    '_extra'
    """
    return attrs.field(default=NO_EXTRA, kw_only=True, alias="_extra", repr=False)


def nulls_field() -> Any:
    """The private field holding the modelled keys that were an explicit ``null``.

    >>> nulls_field().alias
    '_nulls'
    """
    return attrs.field(default=_NO_NULLS, kw_only=True, alias="_nulls", repr=False)


class Codec:
    """One model's wire table compiled into ``read(model, document, path)`` and ``write(record)``.

    >>> Codec.__name__
    'Codec'
    """

    __slots__ = ("read", "write")

    def __init__(self, model: type[WireModel]) -> None:
        every: tuple[attrs.Attribute[Any], ...] = attrs.fields(cast(Any, model))
        fields = [f for f in every if _WIRE in f.metadata]
        positional = [f for f in every if f.init and not f.kw_only]
        if positional[: len(fields)] != fields:
            raise TypeError(f"{model.__name__}: wire fields must come first, positional")
        self.read: Callable[[type[Any], Any, str], Any] = _compile_reader(model, fields)
        """Build a record of ``model`` from a JSON object found at wire path ``path``."""
        self.write: Callable[[WireModel], dict[str, Any]] = _compile_writer(model, fields)
        """The JSON object of a record: set fields, remembered nulls, unmodelled keys."""


_MISSING: Final = object()


def _compile(model: type[WireModel], what: str, lines: list[str], namespace: dict[str, Any]) -> Any:
    filename = f"<tasklife.wire {what} for {model.__qualname__}>"
    exec(compile("\n".join(lines), filename, "exec"), namespace)
    return namespace[what]


def _compile_reader(
    model: type[WireModel], fields: list[attrs.Attribute[Any]]
) -> Callable[[type[Any], Any, str], Any]:
    """Generate ``read(model, document, path)``: one lookup per dense field, then one pass
    over leftover keys for sparse fields and unknown keys."""
    namespace: dict[str, Any] = {
        "Mapping": Mapping,
        "InvalidRecord": InvalidRecord,
        "MISSING": _MISSING,
        "_SCALARS": _SCALARS,
        "read_verbatim": read_verbatim,
        "template": [None] * len(fields),
        "sparse": {},
        "dense": frozenset(),
    }
    lines = [
        "def read(model, document, path=''):",
        "    if type(document) is not dict and not isinstance(document, Mapping):",
        "        raise InvalidRecord(path, document, 'expected an object')",
        "    get = document.get",
        "    values = template.copy()",
        "    nulls = extra = None",
        "    found = 0",
    ]
    dense: list[str] = []
    for i, f in enumerate(fields):
        key, kind, is_sparse = f.metadata[_WIRE]
        namespace[f"_r{i}"] = kind.read
        if is_sparse:
            namespace["sparse"][key] = (i, kind.read)
            continue
        dense.append(key)
        lines += [
            f"    v = get({key!r}, MISSING)",
            "    if v is not MISSING:",
            "        found += 1",
            "        if v is None:",
            "            nulls = [] if nulls is None else nulls",
            f"            nulls.append({key!r})",
        ]
        if kind.fast:
            lines += [f"        elif {kind.fast}:", f"            values[{i}] = v"]
        if kind.model is not None:
            namespace[f"_m{i}"] = kind.model
            call = f"_m{i}._codec.read(_m{i}, v, path + {'.' + key!r} if path else {key!r})"
        else:
            call = f"_r{i}(v, model, path, {key!r})"
        lines += [
            "        else:",
            f"            values[{i}] = {call}",
        ]
    namespace["dense"] = frozenset(dense)
    lines += [
        "    if found != len(document):",
        "        for key, v in document.items():",
        "            spec = sparse.get(key)",
        "            if spec is not None:",
        "                if v is None:",
        "                    nulls = [] if nulls is None else nulls",
        "                    nulls.append(key)",
        "                else:",
        "                    values[spec[0]] = spec[1](v, model, path, key)",
        "            elif key not in dense:",
        "                extra = {} if extra is None else extra",
        "                extra[key] = (",
        "                    v if type(v) in _SCALARS else read_verbatim(v, model, path, key)",
        "                )",
        "    record = model(*values)",
        "    if extra is not None:",
        "        record._extra = extra",
        "    if nulls is not None:",
        "        record._nulls = frozenset(nulls)",
        "    return record",
    ]
    return cast(Callable[[type[Any], Any, str], Any], _compile(model, "read", lines, namespace))


def _compile_writer(
    model: type[WireModel], fields: list[attrs.Attribute[Any]]
) -> Callable[[WireModel], dict[str, Any]]:
    """Generate ``write(record)``: one ``is not None`` test per field, then nulls and extras."""
    namespace: dict[str, Any] = {"_SCALARS": _SCALARS, "copy_json": copy_json}
    lines = ["def write(record):", "    out = {}"]
    for i, f in enumerate(fields):
        key, kind, _ = f.metadata[_WIRE]
        value = "v"
        if kind.model is not None:
            value = "v._codec.write(v)"
        elif kind.write is not None:
            namespace[f"_w{i}"] = kind.write
            value = f"_w{i}(v)"
        lines += [
            f"    v = record.{f.name}",
            "    if v is not None:",
            f"        out[{key!r}] = {value}",
        ]
    lines += [
        "    nulls = record._nulls",
        "    if nulls:",
        "        for key in nulls:",
        "            if key not in out:",
        "                out[key] = None",
        "    extra = record._extra",
        "    if extra:",
        "        for key, v in extra.items():",
        "            out[key] = v if type(v) in _SCALARS else copy_json(v)",
        "    return out",
    ]
    return cast(Callable[[WireModel], dict[str, Any]], _compile(model, "write", lines, namespace))


W = TypeVar("W", bound="WireModel")


class WireModel:
    """Mixin giving a :func:`wire_model` class SDK-shaped ``from_dictionary``/``to_dictionary``.

    >>> WireModel.from_dictionary(None) is None
    True
    """

    __slots__ = ()
    _codec: ClassVar[Codec]
    _extra: Mapping[str, Any]
    _nulls: frozenset[str]

    @classmethod
    def from_dictionary(cls, dictionary: Mapping[str, Any] | None) -> Self | None:
        """The record of a JSON object (camelCase keys); None gives None, as in the SDK.

        Raises :class:`~tasklife.errors.InvalidRecord` naming the field path and value.
        """
        if dictionary is None:
            return None
        record: Self = cls._codec.read(cls, dictionary, "")
        return record

    def to_dictionary(self) -> dict[str, Any]:
        """The JSON object of this record; ``from_dictionary(d).to_dictionary() == d``."""
        return self._codec.write(self)


M = TypeVar("M", bound=type[WireModel])


def wire_model(cls: M) -> M:
    """Class decorator (outside ``@attrs.define``): compile the class's wire table.

    >>> wire_model.__name__
    'wire_model'
    """
    cls._codec = Codec(cls)
    return cls
