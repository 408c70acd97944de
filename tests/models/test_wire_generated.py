"""Generated wire codecs and travel functions show their source in tracebacks (linecache)."""

from __future__ import annotations

import linecache
import traceback

import pytest

from tasklife.errors import InvalidRecord
from tasklife.models import CopyRunStats, CopySnapshotTaskStatus, ProtectionSource
from tasklife.wire import WireModel
from tasklife.wire.generated import generate
from tasklife.wire.travel import _travel


@pytest.mark.parametrize("model", [CopySnapshotTaskStatus, ProtectionSource, CopyRunStats])
def test_every_generated_function_has_its_source_in_linecache(model: type[WireModel]) -> None:
    travel = _travel(model)
    functions = [model._codec.read, model._codec.write, travel.state, travel.restore]
    for function in functions:
        filename = function.__code__.co_filename
        assert filename.startswith("<tasklife generated ")
        assert model.__qualname__ in filename
        first = linecache.getline(filename, function.__code__.co_firstlineno)
        assert first.startswith(f"def {function.__name__}(")


def test_a_traceback_through_a_generated_reader_shows_the_line() -> None:
    try:
        CopySnapshotTaskStatus.from_dictionary({"stats": {"endTimeUsecs": "late"}})
    except InvalidRecord:
        text = traceback.format_exc()
    assert "tasklife generated read tasklife.models.CopyRunStats" in text
    assert "values[0] = _r0(v, model, path, 'endTimeUsecs')" in text


def test_a_different_source_under_a_taken_name_gets_its_own_name() -> None:
    one = generate("f", ["def f():", "    return 1"], {}, "clash test")
    two = generate("f", ["def f():", "    return 2"], {}, "clash test")
    again = generate("f", ["def f():", "    return 1"], {}, "clash test")
    assert (one(), two(), again()) == (1, 2, 1)
    assert one.__code__.co_filename == again.__code__.co_filename != two.__code__.co_filename
