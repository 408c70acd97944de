"""Wire fields: each model field declares once how it is read from and written to JSON.

Theory of operation
-------------------
A wire model is a slotted attrs class whose fields are declared with :func:`wire_field`: the
camelCase JSON key and a :class:`Kind` (how a value is checked and converted). The
:func:`wire_model` decorator compiles that table once per class into a :class:`Codec`, and
every model shares the same two generic loops:

* reading (``from_dictionary``) walks the *document's* keys, not the model's fields, so a
  ``ProtectionSource`` with 51 fields costs only as much as the keys actually present. A key
  the model does not know is deep-copied into the record's private ``_extra`` mapping; an
  explicit ``null`` for a known key is remembered in the private ``_nulls`` set. Both are one
  shared empty value when there is nothing to remember, so a record stays light.
* writing (``to_dictionary``) reads every field at once with one ``attrgetter``, selects the
  non-None ones in C (``compress``), converts them, then adds back the remembered nulls and the
  unmodelled keys. So ``from_dictionary(d).to_dictionary() == d`` for any document: a missing
  key stays missing, a ``null`` stays ``null``, an empty object stays ``{}``.

Verbatim JSON (unmodelled keys, objects kept as plain dicts) is deep-copied on the way in and
on the way out, so neither the caller's dict nor the record can change the other. Every check
failure is an :class:`~tasklife.errors.InvalidRecord` naming the dotted wire path
(``stats.startTimeUsecs``) and the offending value; reading never mutates its input.

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
    "model_kind",
    "nulls_field",
    "wire_field",
    "wire_model",
]

Reader = Callable[[Any, type, str, str], Any]
"""``read(value, owner_class, path_prefix, key)`` -> the attribute value, or InvalidRecord."""
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
    if kind is dict:
        return {k: v if type(v) in _SCALARS else copy_json(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _SCALARS else copy_json(v) for v in value]
    if kind in _SCALARS:
        return value
    if isinstance(value, Mapping):
        return {k: copy_json(v) for k, v in value.items()}
    return copy.deepcopy(value)


def _bad(prefix: str, key: str, value: Any, reason: str) -> InvalidRecord:
    return InvalidRecord(prefix + key, value, reason)


@attrs.frozen
class Kind:
    """How one field's value is checked and converted: ``read`` from JSON, ``write`` to JSON.

    ``write`` is None when the attribute value is already its JSON value.

    >>> STRING.read("x", object, "", "name"), STRING.write
    ('x', None)
    """

    description: str
    read: Reader
    write: Writer | None = None


def _read_string(value: Any, owner: type, prefix: str, key: str) -> Any:
    if isinstance(value, str):
        return value
    raise _bad(prefix, key, value, "expected a string")


def _read_count(value: Any, owner: type, prefix: str, key: str) -> Any:
    if type(value) is int and value >= 0:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return int(value)
    raise _bad(prefix, key, value, "expected a non-negative integer")


def _read_integer(value: Any, owner: type, prefix: str, key: str) -> Any:
    if type(value) is int:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    raise _bad(prefix, key, value, "expected an integer")


def _read_boolean(value: Any, owner: type, prefix: str, key: str) -> Any:
    if value is True or value is False:
        return value
    raise _bad(prefix, key, value, "expected true or false")


def _read_object(value: Any, owner: type, prefix: str, key: str) -> Any:
    if type(value) is dict or isinstance(value, Mapping):
        return copy_json(value)
    raise _bad(prefix, key, value, "expected an object")


def _read_object_list(value: Any, owner: type, prefix: str, key: str) -> Any:
    if type(value) is not list:
        raise _bad(prefix, key, value, "expected a list")
    for i, item in enumerate(value):
        if item is not None and not isinstance(item, Mapping):
            raise _bad(prefix, f"{key}[{i}]", item, "expected an object")
    return copy_json(value)


STRING: Final = Kind("a string", _read_string)
COUNT: Final = Kind("a non-negative integer (a time in epoch microseconds or a count)", _read_count)
INTEGER: Final = Kind("an integer", _read_integer)
BOOLEAN: Final = Kind("true or false", _read_boolean)
OBJECT: Final = Kind("an object, kept verbatim", _read_object, copy_json)
OBJECT_LIST: Final = Kind("a list of objects, kept verbatim", _read_object_list, copy_json)


def model_kind(model: type[WireModel]) -> Kind:
    """The kind of a field holding a nested wire model (read with its own codec).

    >>> model_kind(WireModel).description
    'a WireModel object'
    """

    def read(value: Any, owner: type, prefix: str, key: str) -> Any:
        return model._codec.read(model, value, prefix + key)

    def write(value: Any) -> Any:
        return value._codec.write(value)

    return Kind(f"a {model.__name__} object", read, write)


def wire_field(key: str, kind: Kind, **field_args: Any) -> Any:
    """An attrs field (default None) stored under the JSON ``key`` and read as ``kind``.

    >>> wire_field("startTimeUsecs", COUNT).metadata["tasklife.wire"][0]
    'startTimeUsecs'
    """
    field_args.setdefault("default", None)
    return attrs.field(metadata={_WIRE: (key, kind)}, **field_args)


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
    """One model's wire table, compiled: read a document, write a record.

    >>> Codec.__name__
    'Codec'
    """

    __slots__ = ("_by_key", "_template", "write")

    def __init__(self, model: type[WireModel]) -> None:
        every: tuple[attrs.Attribute[Any], ...] = attrs.fields(cast(Any, model))
        fields = [f for f in every if _WIRE in f.metadata]
        positional = [f for f in every if f.init and not f.kw_only]
        if positional[: len(fields)] != fields:
            raise TypeError(f"{model.__name__}: wire fields must come first, positional")
        self._by_key: dict[str, tuple[int, Reader]] = {}
        for i, f in enumerate(fields):
            key, kind = f.metadata[_WIRE]
            self._by_key[key] = (i, kind.read)
        self._template: list[Any] = [None] * len(fields)
        self.write: Callable[[WireModel], dict[str, Any]] = _compile_writer(model, fields)
        """The JSON object of a record: set fields, remembered nulls, unmodelled keys."""

    def read(self, model: type[W], document: Any, path: str = "") -> W:
        """Build a ``model`` record from a JSON object; ``path`` is the object's wire path."""
        if type(document) is not dict and not isinstance(document, Mapping):
            raise InvalidRecord(path, document, "expected an object")
        prefix = path + "." if path else ""
        by_key = self._by_key
        values = self._template.copy()
        extra: dict[str, Any] | None = None
        nulls: list[str] | None = None
        try:
            for key, value in document.items():
                spec = by_key.get(key)
                if spec is None:
                    if extra is None:
                        extra = {}
                    extra[key] = value if type(value) in _SCALARS else copy_json(value)
                elif value is None:
                    if nulls is None:
                        nulls = []
                    nulls.append(key)
                else:
                    values[spec[0]] = spec[1](value, model, prefix, key)
        except RecursionError:
            raise InvalidRecord(path, "<too deep to show>", "nested too deeply") from None
        record = model(*values)
        if extra is not None:
            record._extra = extra
        if nulls is not None:
            record._nulls = frozenset(nulls)
        return record


def _compile_writer(
    model: type[WireModel], fields: list[attrs.Attribute[Any]]
) -> Callable[[WireModel], dict[str, Any]]:
    """Generate straight-line ``write(record)`` code from the field table (as attrs does for
    ``__init__``): one ``is not None`` test per field beats any loop over 51 fields."""
    namespace: dict[str, Any] = {"_SCALARS": _SCALARS, "copy_json": copy_json}
    lines = ["def write(record):", "    out = {}"]
    for i, f in enumerate(fields):
        key, kind = f.metadata[_WIRE]
        value = "v"
        if kind.write is not None:
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
    filename = f"<tasklife.wire writer for {model.__qualname__}>"
    exec(compile("\n".join(lines), filename, "exec"), namespace)
    writer: Callable[[WireModel], dict[str, Any]] = namespace["write"]
    return writer


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
        return cls._codec.read(cls, dictionary)

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
