"""Generated functions whose source tracebacks and debuggers can show.

The wire codecs and the travel (pickle/copy) functions are generated per class from its field
table, the way attrs generates ``__init__``. Like attrs, each generated source is registered in
:mod:`linecache` under a unique pseudo file name, so a traceback through it shows the line
that failed instead of nothing.

>>> read = generate("twice", ["def twice(x):", "    return 2 * x"], {}, "example")
>>> read(21)
42
>>> import inspect
>>> print(inspect.getsource(read), end="")
def twice(x):
    return 2 * x
"""

from __future__ import annotations

import linecache
from typing import Any

__all__ = ["generate"]


def generate(name: str, lines: list[str], namespace: dict[str, Any], what: str) -> Any:
    """Compile ``lines`` (defining the function ``name``) in ``namespace``; return the function.

    ``what`` names the source in tracebacks (``<tasklife generated {what}>``); a different
    source under a name already taken gets a numbered name, so none is shadowed.
    """
    source = "\n".join(lines) + "\n"
    entry_lines = source.splitlines(True)
    base = f"<tasklife generated {what}>"
    filename, count = base, 1
    while True:
        entry = (len(source), None, entry_lines, filename)
        if linecache.cache.setdefault(filename, entry) == entry:
            break
        filename = f"{base[:-1]}-{count}>"
        count += 1
    exec(compile(source, filename, "exec"), namespace)
    return namespace[name]
