"""Arrow arrays from numpy and Python values without :func:`pyarrow.array`.

``pyarrow.array`` (and ``Array.take`` of a numpy array, which calls it) asks pyarrow's
pandas shim whether its argument is a pandas object, and the first such question imports
pandas when it is installed: 1.5-2 CPU seconds, more than the fast engine's whole read of
1M events; so does :func:`pyarrow.scalar`, and any compute function given a Python value.
The fast engine builds its arrays from buffers instead, and its scalars from them, so it
never imports pandas.

>>> import numpy as np
>>> ids = strings(["a", "bé", ""])
>>> ids.to_pylist(), ids.take(indices(np.array([2, 0]))).to_pylist()
(['a', 'bé', ''], ['', 'a'])
>>> booleans(np.array([True, False, True])).to_pylist(), text("x").as_py()
([True, False, True], 'x')
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["booleans", "indices", "strings", "text"]


def indices(values: Any) -> pa.Array:
    """An int64 Arrow array viewing ``values`` (copied only when not int64 already)."""
    column = np.ascontiguousarray(values, np.int64)
    return pa.Array.from_buffers(pa.int64(), len(column), [None, pa.py_buffer(column)])


def strings(texts: list[str]) -> pa.Array:
    """A string Arrow array of ``texts`` (UTF-8, 32-bit offsets)."""
    data = "".join(texts).encode()
    lengths = np.fromiter(map(len, texts), np.int32, len(texts))
    offsets = np.zeros(len(texts) + 1, np.int32)
    np.cumsum(lengths, out=offsets[1:])
    if offsets[-1] != len(data):  # not all ASCII: characters are not bytes
        encoded = [t.encode() for t in texts]
        np.cumsum(np.fromiter(map(len, encoded), np.int32, len(texts)), out=offsets[1:])
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    return pa.Array.from_buffers(pa.string(), len(texts), buffers)


def booleans(mask: Any) -> pa.Array:
    """A boolean Arrow array of a numpy ``mask``."""
    bits = np.packbits(np.asarray(mask, np.bool_), bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), len(mask), [None, pa.py_buffer(bits)])


def text(value: str) -> pa.Scalar:
    """A string Arrow scalar, for compute functions."""
    return strings([value])[0]
