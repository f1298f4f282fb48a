"""What AWS checks of a call that the embedded moto does not: checked here, in front of moto, for every caller
(the API, and the integrations of Step Functions and EventBridge), so each gets AWS's answer.

DynamoDB takes a table's name or its ARN wherever a request names a table (the model's `TableArn` shape, which
checks only the length), and checks a value that is not an ARN as a name: the `TableName` shape's pattern
(`[a-zA-Z0-9_.-]+`), then its length (3 to 255), worded as AWS's ValidationException
(`Value '/t' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: ...`).
moto looks the name up instead and answers ResourceNotFoundException. Checked for the request's own
`TableName`; names inside a batch or transaction are moto's to answer."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from botocore.model import OperationModel, Shape

from trailbridge.services.base import ServiceError


def check(operation: OperationModel, params: Mapping[str, Any]) -> None:
    """ServiceError (ValidationException) when `params` break a constraint AWS checks and moto does not."""
    if operation.service_model.service_name == "dynamodb":
        _table_name(operation, params.get("TableName"))


def _table_name(operation: OperationModel, value: Any) -> None:
    if not isinstance(value, str) or value.startswith("arn:") or operation.input_shape is None:
        return
    shape = operation.service_model.shape_for("TableName")
    problems = []
    if not _pattern(shape).fullmatch(value):
        problems.append(f"satisfy regular expression pattern: {shape.metadata['pattern']}")
    if len(value) < shape.metadata["min"]:
        problems.append(f"have length greater than or equal to {shape.metadata['min']}")
    if len(value) > shape.metadata["max"]:
        problems.append(f"have length less than or equal to {shape.metadata['max']}")
    if problems:
        noun = "validation error" if len(problems) == 1 else "validation errors"
        found = "; ".join(
            f"Value '{value}' at 'tableName' failed to satisfy constraint: Member must {p}" for p in problems
        )
        raise ServiceError("ValidationException", f"{len(problems)} {noun} detected: {found}")


@cache
def _pattern(shape: Shape) -> re.Pattern[str]:
    return re.compile(str(shape.metadata["pattern"]), re.ASCII)
