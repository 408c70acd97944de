"""Arrow arrays from numpy and Python values without :func:`pyarrow.array`.

``pyarrow.array`` (and ``Array.take`` of a numpy array, which calls it) asks pyarrow's
pandas shim whether its argument is a pandas object, and the first such question imports
pandas when it is installed: 1.5-2 CPU seconds, more than the fast engine's whole read of
1M events. The fast engine builds its arrays from buffers instead, so it never imports
pandas.

>>> import numpy as np
>>> ids = strings(["a", "bé", ""])
>>> ids.to_pylist(), ids.take(indices(np.array([2, 0]))).to_pylist()
(['a', 'bé', ''], ['', 'a'])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["indices", "strings"]


def indices(values: Any) -> pa.Array:
    """An int64 Arrow array viewing ``values`` (copied only when not int64 already)."""
    column = np.ascontiguousarray(values, np.int64)
    return pa.Array.from_buffers(pa.int64(), len(column), [None, pa.py_buffer(column)])


def strings(texts: list[str]) -> pa.Array:
    """A string Arrow array of ``texts`` (UTF-8, 32-bit offsets)."""
    encoded = [t.encode() for t in texts]
    offsets = np.zeros(len(encoded) + 1, np.int32)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    data = pa.py_buffer(b"".join(encoded))
    return pa.Array.from_buffers(pa.string(), len(encoded), [None, pa.py_buffer(offsets), data])
