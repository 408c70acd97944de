"""One lifecycle is one lifecycle, and nothing keyed by lifecycle grows without bound."""

from __future__ import annotations

import gc
from pathlib import Path

from tasklife.lifecycle import COPY_TASK, Lifecycle, load_lifecycle
from tasklife.models import CopySnapshotTaskStatus
from tasklife.tracking import Task, machine_for
from tasklife.tracking import machine as machine_module

ROOT = Path(__file__).resolve().parents[2]
CI_JOB = ROOT / "examples" / "ci-job.toml"


def test_a_file_loaded_twice_is_one_lifecycle_with_one_machine_and_one_class() -> None:
    first, second = load_lifecycle(CI_JOB), load_lifecycle(CI_JOB)
    assert first is not second and first == second and hash(first) == hash(second)
    assert machine_for(first) is machine_for(second) is machine_for(str(CI_JOB))
    assert Task.for_lifecycle(first) is Task.for_lifecycle(second)
    rebuilt = Lifecycle.from_dictionary(first.to_dictionary())
    assert rebuilt == first and machine_for(rebuilt) is machine_for(first)
    renamed = Lifecycle.from_dictionary({**first.to_dictionary(), "name": "other"})
    assert renamed != first and machine_for(renamed) is not machine_for(first)


def machines() -> int:
    gc.collect()
    return len(machine_module._machines)


def test_300_loads_of_one_file_make_one_machine() -> None:
    before = machines()
    jobs = [Task.for_lifecycle(load_lifecycle(CI_JOB))() for _ in range(300)]
    assert len({type(job) for job in jobs}) == 1
    assert machines() <= before + 1


def test_many_lifecycles_come_and_go_without_growing_the_registries() -> None:
    def use_one(n: int) -> None:
        lifecycle = Lifecycle.from_dictionary({**COPY_TASK.to_dictionary(), "name": f"churn-{n}"})
        for base in (Task, CopySnapshotTaskStatus):
            record = base.for_lifecycle(lifecycle)()
            record.fire("start")

    use_one(-1)
    baseline = machines()
    classes = len(Task.__dict__["_bound_classes_"])
    for n in range(200):
        use_one(n)
    assert machines() <= baseline + 1
    gc.collect()
    assert len(Task.__dict__["_bound_classes_"]) <= classes + 1


def test_a_machine_with_listeners_or_callbacks_outlives_its_records() -> None:
    heard: list[str] = []
    lifecycle = Lifecycle.from_dictionary({**COPY_TASK.to_dictionary(), "name": "kept"})
    machine_for(lifecycle).add_listener(lambda r, s, d, t, at: heard.append(d))
    gc.collect()
    Task.for_lifecycle(Lifecycle.from_dictionary(lifecycle.to_dictionary()))().fire("start")
    assert heard == ["kRunning"]
    callbacks = Lifecycle.from_dictionary({**COPY_TASK.to_dictionary(), "name": "kept-callbacks"})
    machine_for(callbacks).on_enter_kRunning(lambda event: heard.append("callback"))
    gc.collect()
    Task.for_lifecycle(callbacks)().fire("start")
    assert heard[-1] == "callback"
