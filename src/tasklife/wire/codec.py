"""Wire models: fields declared once, compiled per class into a reader and a writer.

See :mod:`tasklife.wire` for the theory of operation.

>>> import attrs
>>> from tasklife.wire import COUNT
>>> @wire_model
... @attrs.define
... class Size(WireModel):
...     size_bytes: int | None = wire_field("sizeBytes", COUNT)
...     _extra: dict[str, object] | None = extra_field()
...     _nulls: frozenset[str] = nulls_field()
>>> Size.from_dictionary({"sizeBytes": None, "unit": "B"}).to_dictionary()
{'sizeBytes': None, 'unit': 'B'}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Final, Self, TypeVar, cast

import attrs

from tasklife.errors import InvalidRecord
from tasklife.wire.generated import generate
from tasklife.wire.kinds import SCALARS, WIRE_METADATA, Kind, copy_json, join_path, read_verbatim
from tasklife.wire.travel import Portable

__all__ = [
    "Codec",
    "WireModel",
    "extra_field",
    "model_kind",
    "nulls_field",
    "wire_field",
    "wire_model",
]

_WIRE: Final = WIRE_METADATA
_NO_NULLS: Final[frozenset[str]] = frozenset()


def model_kind(model: type[WireModel]) -> Kind:
    """The kind of a field holding a nested wire model (read with its own codec).

    >>> from tasklife.wire import WireModel
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

    >>> from tasklife.wire import COUNT
    >>> key, kind, sparse = wire_field("startTimeUsecs", COUNT).metadata["tasklife.wire"]
    >>> key, kind is COUNT, sparse
    ('startTimeUsecs', True, False)
    """
    field_args.setdefault("default", None)
    return attrs.field(metadata={_WIRE: (key, kind, sparse)}, **field_args)


def extra_field() -> Any:
    """The private field holding the unmodelled keys (keyword ``_extra`` in ``__init__``);
    None when there are none, so a record stays light.

    >>> extra_field().alias
    '_extra'
    """
    return attrs.field(default=None, kw_only=True, alias="_extra", repr=False)


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
    return generate(what, lines, namespace, f"{what} {model.__module__}.{model.__qualname__}")


_READ_HEAD: Final = [
    "def read(model, document, path=''):",
    "    if type(document) is not dict and not isinstance(document, Mapping):",
    "        raise InvalidRecord(path, document, 'expected an object')",
    "    get = document.get",
    "    values = template.copy()",
    "    nulls = extra = None",
    "    found = 0",
]
_READ_TAIL: Final = [
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
    "                t = type(v)",
    "                plain = v is None or t is bool or (t is str and v.isascii())",
    "                extra[key] = v if plain else read_verbatim(v, model, path, key)",
    "    nulls = NO_NULLS if nulls is None else frozenset(nulls)",
    "    return model(*values, _extra=extra, _nulls=nulls)",
]


def _compile_reader(
    model: type[WireModel], fields: list[attrs.Attribute[Any]]
) -> Callable[[type[Any], Any, str], Any]:
    """Generate ``read(model, document, path)``: one lookup per dense field, then one pass
    over leftover keys for sparse fields and unknown keys."""
    namespace: dict[str, Any] = {
        "Mapping": Mapping,
        "InvalidRecord": InvalidRecord,
        "MISSING": _MISSING,
        "NO_NULLS": _NO_NULLS,
        "read_verbatim": read_verbatim,
        "template": [None] * len(fields),
        "sparse": {},
    }
    lines = list(_READ_HEAD)
    dense: list[str] = []
    for i, f in enumerate(fields):
        key, kind, is_sparse = f.metadata[_WIRE]
        namespace[f"_r{i}"] = kind.read
        if is_sparse:
            namespace["sparse"][key] = (i, kind.read)
        else:
            dense.append(key)
            lines += _dense_field(i, key, kind, namespace)
    namespace["dense"] = frozenset(dense)
    lines += _READ_TAIL
    return cast(Callable[[type[Any], Any, str], Any], _compile(model, "read", lines, namespace))


def _dense_field(i: int, key: str, kind: Kind, namespace: dict[str, Any]) -> list[str]:
    """The reader's lines for field ``i``: one lookup; a null remembered; the plain value
    taken inline (``kind.fast``); a nested model read by its own codec; else ``kind.read``."""
    lines = [
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
    return [*lines, "        else:", f"            values[{i}] = {call}"]


def _compile_writer(
    model: type[WireModel], fields: list[attrs.Attribute[Any]]
) -> Callable[[WireModel], dict[str, Any]]:
    """Generate ``write(record)``: one ``is not None`` test per field, then nulls and extras."""
    namespace: dict[str, Any] = {"_SCALARS": SCALARS, "copy_json": copy_json}
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


class WireModel(Portable):
    """Mixin giving a :func:`wire_model` class SDK-shaped ``from_dictionary``/``to_dictionary``
    (and, through :class:`~tasklife.wire.travel.Portable`, compact pickling and copies).

    >>> WireModel.from_dictionary(None) is None
    True
    """

    __slots__ = ()
    _codec: ClassVar[Codec]
    _extra: Mapping[str, Any] | None
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
