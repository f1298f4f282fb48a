"""Map and Parallel: child branches stepped in turn, their results gathered in order.

Both write `<Type>StateStarted` when their children start and `<Type>StateSucceeded` when all are over (a
Parallel's too, as AWS writes it: the corpus's Parallel recordings went through their recorder's normalisation,
which drops it; see tests/test_states_corpus.py). A fan is plain JSON inside its branch: `children` (the running
and finished branches), `results`, `next_item` (Map), `failures`, and `stage` (`start`, `run`). A DISTRIBUTED
Map runs its iterations as child executions would, so they write no events into this history
(MapRunStarted/MapRunSucceeded).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trailbridge.states import errors, payload
from trailbridge.states.branch import Blocked, Branch, new_branch
from trailbridge.states.dataflow import Flow
from trailbridge.states.errors import StatesError

if TYPE_CHECKING:
    from trailbridge.states.runner import StateRunner


class FanRunner:
    def __init__(self, runner: StateRunner) -> None:
        self.runner = runner

    def begin(self, branch: Branch, spec: dict[str, Any], flow: Flow) -> None:
        effective = flow.effective_input()
        fan: dict[str, Any] = {"kind": spec["Type"], "stage": "start", "children": [], "failures": 0, "cursor": 0}
        if spec["Type"] == "Parallel":
            value = flow.parameters(effective)
            fan["children"] = [
                new_branch(
                    [*branch["at"], "States", branch["name"], "Branches", i], b["StartAt"], value, branch["vars"], {}
                )
                for i, b in enumerate(spec["Branches"])
            ]
            fan["results"] = [None] * len(spec["Branches"])
        else:
            fan["items"] = _items(spec, flow, effective)
            fan["results"] = [None] * len(fan["items"])
            fan["next_item"] = 0
            fan["max"] = _max_concurrency(spec, flow, effective)
            fan["effective"] = effective
        branch.update(phase="fan", fan=fan)

    def advance(self, branch: Branch, spec: dict[str, Any]) -> Blocked | None:
        fan = branch["fan"]
        if fan["stage"] == "start":
            self._start(branch, spec, fan)
            return None
        if spec["Type"] == "Map" and self._start_iteration(branch, spec, fan):
            return None
        active = [i for i, c in enumerate(fan["children"]) if c["phase"] not in ("done", "failed", "reported")]
        if not active:
            self._complete(branch, spec, fan)
            return None
        return self._step_children(branch, spec, fan, active)

    def _start(self, branch: Branch, spec: dict[str, Any], fan: dict[str, Any]) -> None:
        fan["stage"] = "run"
        if spec["Type"] == "Parallel":
            self.runner.emit(branch, "ParallelStateStarted")
            return
        self.runner.emit(branch, "MapStateStarted", {"length": len(fan["items"])})
        flow = self.runner.flow(branch, spec)
        fan["tolerated"] = _tolerance(spec, flow, fan["effective"], len(fan["items"]))
        if _distributed(spec):
            arn = str(self.runner.state["context"]["Execution"]["Id"]).replace(":execution:", ":mapRun:")
            self.runner.emit(branch, "MapRunStarted", {"mapRunArn": f"{arn}/{branch['name']}"})

    def _start_iteration(self, branch: Branch, spec: dict[str, Any], fan: dict[str, Any]) -> bool:
        running = sum(1 for c in fan["children"] if c["phase"] not in ("done", "failed", "reported"))
        if fan["next_item"] >= len(fan["items"]) or (fan["max"] and running >= fan["max"]):
            return False
        index = fan["next_item"]
        fan["next_item"] = index + 1
        flow = self.runner.flow(branch, spec)
        value = _item_input(spec, flow, fan["effective"], index, fan["items"][index])
        processor = "ItemProcessor" if "ItemProcessor" in spec else "Iterator"
        child = new_branch(
            [*branch["at"], "States", branch["name"], processor], spec[processor]["StartAt"], value, branch["vars"], {}
        )
        child.update(index=index, quiet=branch["quiet"] or _distributed(spec))
        fan["children"].append(child)
        self.runner.emit(child, "MapIterationStarted", {"name": branch["name"], "index": index})
        return True

    def _step_children(
        self, branch: Branch, spec: dict[str, Any], fan: dict[str, Any], active: list[int]
    ) -> Blocked | None:
        blocked: list[Blocked] = []
        order = sorted(active, key=lambda i: (i < fan["cursor"], i))
        for index in order:
            child = fan["children"][index]
            result = self.runner.advance(child)
            if result is None:
                fan["cursor"] = index + 1
                self._settle(branch, spec, fan, child, index)
                return None
            blocked.append(result)
        waits = [b.wait_until for b in blocked if b.wait_until]
        return Blocked(wait_until=min(waits) if waits else None, pending=any(b.pending for b in blocked))

    def _settle(self, branch: Branch, spec: dict[str, Any], fan: dict[str, Any], child: Branch, index: int) -> None:
        if "fatal" in self.runner.state:
            return
        slot = child.get("index", index)
        if child["phase"] == "done":
            fan["results"][slot] = child.pop("output")
            child["phase"] = "reported"
            if spec["Type"] == "Map":
                self.runner.emit(child, "MapIterationSucceeded", {"name": branch["name"], "index": slot})
        elif child["phase"] == "failed":
            child["phase"] = "reported"
            self._child_failed(branch, spec, fan, child, slot)

    def _child_failed(
        self, branch: Branch, spec: dict[str, Any], fan: dict[str, Any], child: Branch, slot: int
    ) -> None:
        if spec["Type"] == "Parallel":
            raise StatesError(child.get("error") or "", child.get("cause"), located=True)
        self.runner.emit(child, "MapIterationFailed", {"name": branch["name"], "index": slot})
        fan["failures"] += 1
        tolerated = fan.get("tolerated")
        if tolerated is None:
            raise StatesError(child.get("error") or "", child.get("cause"), located=True)
        if fan["failures"] > tolerated:
            raise StatesError(
                errors.EXCEEDED_TOLERATED_FAILURE, "The specified tolerated failure threshold was exceeded"
            )

    def _complete(self, branch: Branch, spec: dict[str, Any], fan: dict[str, Any]) -> None:
        if spec["Type"] == "Map" and _distributed(spec):
            self.runner.emit(branch, "MapRunSucceeded")
        self.runner.emit(branch, f"{spec['Type']}StateSucceeded")
        flow = self.runner.flow(branch, spec)
        results = fan["results"]
        branch.pop("fan")
        branch.update(phase="exit", output=flow.output(results), assigned=flow.assign(spec.get("Assign"), results))


def _distributed(spec: dict[str, Any]) -> bool:
    processor = spec.get("ItemProcessor", spec.get("Iterator", {}))
    return bool(processor.get("ProcessorConfig", {}).get("Mode") == "DISTRIBUTED")


def _items(spec: dict[str, Any], flow: Flow, effective: Any) -> list[Any]:
    if flow.jsonata:
        items = flow.evaluate(spec["Items"], "Items") if "Items" in spec else effective
    elif "Items" in spec:
        items = payload.template(flow.scope(effective), spec["Items"], "Items")
    else:
        items = flow.scope(effective).select(spec.get("ItemsPath", "$"))
    if not isinstance(items, list):
        raise StatesError(
            errors.QUERY_EVALUATION, f"Map state input must be an array but was: {payload.compact(items)}"
        )
    return _batches(spec, flow, items)


def _batches(spec: dict[str, Any], flow: Flow, items: list[Any]) -> list[Any]:
    batcher = spec.get("ItemBatcher")
    if not batcher:
        return items
    size = int(batcher.get("MaxItemsPerBatch", len(items) or 1))
    extra = payload.template(flow.scope(flow.raw), batcher.get("BatchInput", {}), "BatchInput")
    return [{**extra, "Items": items[i : i + size]} for i in range(0, len(items), size)]


def _item_input(spec: dict[str, Any], flow: Flow, effective: Any, index: int, value: Any) -> Any:
    selector = spec.get("ItemSelector", spec.get("Parameters"))
    if selector is None:
        return value
    flow.context = flow.context | {"Map": {"Item": {"Index": index, "Value": value}}}
    if flow.jsonata:
        return flow.evaluate(selector, "ItemSelector")
    return payload.template(flow.scope(effective), selector, "ItemSelector")


def _number_path(flow: Flow, effective: Any, path: str, field: str, kind: type) -> Any:
    value = _numeric_text(flow.scope(effective).select(path))
    valid = (
        isinstance(value, (int, float)) and not isinstance(value, bool) and (kind is float or float(value).is_integer())
    )
    if not valid:
        shown = value if isinstance(value, str) else payload.compact(value)
        word = "integer" if kind is int else "float"
        raise errors.runtime(f'The {field} field refers to value "{shown}" which is not a valid {word}: {path}')
    return kind(value)


def _numeric_text(value: Any) -> Any:
    """A number written as a string ("1") counts as the number, as AWS reads these paths."""
    if not isinstance(value, str):
        return value
    try:
        return float(value)
    except ValueError:
        return value


def _max_concurrency(spec: dict[str, Any], flow: Flow, effective: Any) -> int:
    if "MaxConcurrencyPath" in spec:
        return int(_number_path(flow, effective, spec["MaxConcurrencyPath"], "MaxConcurrencyPath", int))
    value = spec.get("MaxConcurrency", 0)
    return int(flow.evaluate(value, "MaxConcurrency") if flow.jsonata else value)


def _tolerance(spec: dict[str, Any], flow: Flow, effective: Any, total: int) -> int | None:
    count = percentage = None
    if "ToleratedFailureCountPath" in spec:
        count = _number_path(flow, effective, spec["ToleratedFailureCountPath"], "ToleratedFailureCountPath", int)
    elif "ToleratedFailureCount" in spec:
        count = spec["ToleratedFailureCount"]
    if "ToleratedFailurePercentagePath" in spec:
        percentage = _number_path(
            flow, effective, spec["ToleratedFailurePercentagePath"], "ToleratedFailurePercentagePath", float
        )
    elif "ToleratedFailurePercentage" in spec:
        percentage = spec["ToleratedFailurePercentage"]
    if count is not None and count < 0:
        raise errors.runtime("ToleratedFailureCount cannot be negative.")
    if percentage is not None and not 0 <= percentage <= 100:
        raise errors.runtime("ToleratedFailurePercentage must be between 0 and 100.")
    limits = [c for c in (count, None if percentage is None else int(total * percentage / 100)) if c is not None]
    return min(limits) if limits else None
