"""What a target receives: the event, a constant (`Input`), a part of it (`InputPath`), or a template
filled from it (`InputTransformer`). Pure: no I/O."""

from trailbridge.transform.jsonpath import JsonPath, compile_path
from trailbridge.transform.target_input import InputContext, TargetInput, TransformError, compile_target_input

__all__ = ["InputContext", "JsonPath", "TargetInput", "TransformError", "compile_path", "compile_target_input"]
