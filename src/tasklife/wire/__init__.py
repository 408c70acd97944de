"""Wire fields: each model field declares once how it is read from and written to JSON.

Theory of operation
-------------------
A wire model is a slotted attrs class whose fields are declared with :func:`wire_field`: the
camelCase JSON key and a :class:`Kind` (how a value is checked and converted,
:mod:`tasklife.wire.kinds`). The :func:`wire_model` decorator compiles that table once per
class into a :class:`Codec` (:mod:`tasklife.wire.codec`): two straight-line functions
generated from the table, the way attrs generates ``__init__`` (and, like attrs', registered in
:mod:`linecache` so tracebacks show them: :mod:`tasklife.wire.generated`).

* ``read`` (``from_dictionary``) looks each field's key up once; a value of the kind's plain
  type (``Kind.fast``, e.g. a non-negative ``int`` for a count) is taken inline, anything else
  goes to the kind's ``read`` function, which converts it or raises. Fields declared
  ``sparse`` (the 42 ``<env>ProtectionSource`` sub-objects, of which a source has one) are not
  looked up one by one: only when the document has keys left over are they, and the keys the
  model does not know, picked out in one pass. An unknown key is checked to be JSON (see
  :mod:`tasklife.wire.kinds`: no sets, bytes, integer keys, lone surrogates, integers beyond
  int64) and deep-copied into the record's private ``_extra`` dict; an explicit ``null`` for a
  known key is remembered in the private ``_nulls`` set. Both are given to the constructor,
  which checks the record (:mod:`tasklife.tracking.invariants`: a null is a missing value, an
  absent key no observation). Both stay empty (None, one shared empty set) when there is
  nothing to remember, so a record stays light.
* ``write`` (``to_dictionary``) tests each field for None, converts the set ones, then adds back
  the remembered nulls and the unmodelled keys. So ``from_dictionary(d).to_dictionary() == d``
  for any document that is read: a missing key stays missing, a ``null`` stays ``null``, an
  empty object stays ``{}``.

Verbatim JSON (unmodelled keys, objects kept as plain dicts) is deep-copied on the way in and
on the way out, so neither the caller's dict nor the record can change the other. Every check
failure is an :class:`~tasklife.errors.InvalidRecord` naming the dotted wire path
(``stats.startTimeUsecs``) and the offending value; reading never mutates its input and builds
the record only once every field has been read, so a bad document leaves nothing behind.

Records also travel between processes: :mod:`tasklife.wire.travel` pickles and copies them as
a tuple of field values.

>>> import attrs
>>> from typing import Any
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
tasklife.errors.InvalidRecord: sizeBytes: expected a non-negative integer (int64) (got -1)
"""

from tasklife.wire.codec import (
    Codec,
    WireModel,
    extra_field,
    model_kind,
    nulls_field,
    wire_field,
    wire_model,
)
from tasklife.wire.kinds import (
    BOOLEAN,
    COUNT,
    INTEGER,
    OBJECT,
    OBJECT_LIST,
    STRING,
    Kind,
    copy_json,
    join_path,
    read_verbatim,
)
from tasklife.wire.travel import LOCAL, Portable

__all__ = [
    "BOOLEAN",
    "COUNT",
    "INTEGER",
    "LOCAL",
    "OBJECT",
    "OBJECT_LIST",
    "STRING",
    "Codec",
    "Kind",
    "Portable",
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
