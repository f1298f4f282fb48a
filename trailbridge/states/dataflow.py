"""How a state's input becomes its output, in either query language.

`Flow` wraps one state of one branch: its spec, its raw input, the variables and the context. JSONPath
states run InputPath → Parameters → (work) → ResultSelector → ResultPath → OutputPath; JSONata states
run Arguments → (work) → Output with `$states`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trailbridge.states import jsonata_eval, payload
from trailbridge.states.intrinsics import Entropy
from trailbridge.states.payload import Scope


@dataclass(slots=True)
class Flow:
    spec: dict[str, Any]
    raw: Any
    variables: dict[str, Any]
    context: dict[str, Any]
    entropy: Entropy
    jsonata: bool

    def scope(self, value: Any) -> Scope:
        return Scope(value, self.context, self.variables, self.entropy)

    def states(self, **extra: Any) -> dict[str, Any]:
        return {"input": self.raw, "context": self.context, **extra}

    def effective_input(self) -> Any:
        if self.jsonata:
            return self.raw
        return payload.input_path(self.scope(self.raw), self.spec.get("InputPath", "$"))

    def parameters(self, effective: Any, key: str = "Parameters") -> Any:
        """Parameters (JSONPath) or Arguments (JSONata); the effective input when neither is given."""
        if self.jsonata:
            if "Arguments" not in self.spec:
                return effective
            return self.evaluate(self.spec["Arguments"], "Arguments")
        if key not in self.spec:
            return effective
        return payload.template(self.scope(effective), self.spec[key], key)

    def evaluate(self, value: Any, field: str, **extra: Any) -> Any:
        """A JSONata template (strings `{% %}` evaluated) with `$states` and the variables."""
        return jsonata_eval.template(value, field, self.states(**extra), self.variables, self.entropy)

    def output(self, result: Any) -> Any:
        """ResultSelector → ResultPath → OutputPath, or JSONata's Output (default: the result)."""
        if self.jsonata:
            if "Output" not in self.spec:
                return result
            return self.evaluate(self.spec["Output"], "Output", result=result)
        if "ResultSelector" in self.spec:
            result = payload.template(self.scope(result), self.spec["ResultSelector"], "ResultSelector")
        return self.finish(
            payload.result_path(self.scope(self.raw), self.spec.get("ResultPath"), result, "ResultPath" in self.spec)
        )

    def finish(self, value: Any) -> Any:
        return payload.input_path(self.scope(value), self.spec.get("OutputPath", "$"))

    def assign(self, assign: Any, result: Any, **extra: Any) -> dict[str, Any]:
        """The variables `Assign` sets, evaluated against the variables before any of them changes (JSONata:
        with `$states.result`, and what else the field sees, as a Catch's `$states.errorOutput`)."""
        if assign is None:
            return {}
        if self.jsonata:
            values = self.evaluate(assign, "Assign", result=result, **extra)
        else:
            values = payload.template(self.scope(result), assign, "Assign")
        return dict(values)
