"""A function's configuration as CreateFunction and UpdateFunctionConfiguration check it: the runtimes
trailbridge runs (Lambda's supported python3.x and nodejs*.x), the role, the environment (4 KB, no reserved
keys), timeout, memory, and the members trailbridge does not act on yet (refused, never kept to do nothing)."""

from __future__ import annotations

import re
from typing import Any

import orjson

from trailbridge.services.base import ServiceError
from trailbridge.services.lambda_functions.common import invalid, not_built, validation

# Lambda's supported runtimes of the languages trailbridge runs (creation of the older ones is blocked).
RUNTIMES = frozenset(
    {"python3.10", "python3.11", "python3.12", "python3.13", "python3.14", "nodejs20.x", "nodejs22.x", "nodejs24.x"}
)
_NEWEST = {"python": "python3.14", "nodejs": "nodejs24.x"}
_DEPRECATED = re.compile(r"(python)(2\.7|3\.[0-9])|(nodejs)(\d+\.x|\d+\.\d+(-edge)?)?")
ENVIRONMENT_LIMIT = 4096
RESERVED_VARIABLES = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)
# Members of CreateFunction/UpdateFunctionConfiguration whose behaviour trailbridge does not have.
_NOT_BUILT = {
    "Layers": "run functions with layers",
    "FileSystemConfigs": "mount file systems into functions",
    "ImageConfig": "run container images",
    "CodeSigningConfigArn": "check code signatures",
    "CapacityProviderConfig": "run functions on capacity providers",
    "DurableConfig": "run durable functions",
    "TenancyConfig": "run multi-tenant functions",
    "PublishTo": "publish versions elsewhere than $LATEST.PUBLISHED",
}
_KEPT = ("Description", "Timeout", "MemorySize", "KMSKeyArn", "DeadLetterConfig", "TracingConfig", "EphemeralStorage")


def check_runtime(runtime: str) -> None:
    if runtime in RUNTIMES:
        return
    old = _DEPRECATED.fullmatch(runtime)
    if old is not None:
        family = "python" if old.group(1) else "nodejs"
        raise invalid(
            f"The runtime parameter of {runtime} is no longer supported for creating or updating AWS Lambda "
            f"functions. We recommend you use the new runtime ({_NEWEST[family]}) while creating or updating "
            "functions."
        )
    raise invalid(f"trailbridge runs python3.x and nodejs*.x functions only: the runtime {runtime} is not supported.")


def check_role(role: str, account: str) -> None:
    if role.split(":")[4] != account:
        raise ServiceError("AccessDeniedException", "Cross-account pass role is not allowed.", 403)


def check_environment(environment: dict[str, Any] | None) -> dict[str, str] | None:
    """The variables, once within Lambda's 4 KB (measured as their JSON) and free of reserved keys. The
    message does not quote the variables (AWS's does): they are often secrets, and errors are recorded."""
    if environment is None:
        return None
    variables = dict(environment.get("Variables") or {})
    reserved = sorted(name for name in variables if name in RESERVED_VARIABLES)
    if reserved:
        raise invalid(
            "Lambda was unable to configure your environment variables because the environment variables you have "
            "provided contains reserved keys that are currently not supported for modification. Reserved keys "
            f"used in this request: {', '.join(reserved)}"
        )
    if len(orjson.dumps(variables)) > ENVIRONMENT_LIMIT:
        raise invalid(
            "Lambda was unable to configure your environment variables because the environment variables you have "
            "provided exceeded the 4KB limit."
        )
    return variables


def check_limits(params: dict[str, Any]) -> None:
    timeout, memory = params.get("Timeout"), params.get("MemorySize")
    if timeout is not None and timeout > 900:
        raise validation(timeout, "timeout", "have value less than or equal to 900")
    if memory is not None and memory > 10240:
        raise validation(memory, "memorySize", "have value less than or equal to 10240")
    storage = (params.get("EphemeralStorage") or {}).get("Size")
    if storage is not None and not 512 <= storage <= 10240:
        raise validation(storage, "ephemeralStorage.size", "have value between 512 and 10240")


def check_not_built(params: dict[str, Any]) -> None:
    for name, what in _NOT_BUILT.items():
        if params.get(name):
            raise not_built(what)
    vpc = params.get("VpcConfig") or {}
    if vpc.get("SubnetIds") or vpc.get("SecurityGroupIds"):
        raise not_built("run functions in a VPC")
    if (params.get("SnapStart") or {}).get("ApplyOn", "None") != "None":
        raise not_built("take SnapStart snapshots")


def configured(current: dict[str, Any], params: dict[str, Any], account: str) -> dict[str, Any]:
    """`current` (a new function's defaults, or $LATEST's configuration) with the members `params` sets."""
    check_not_built(params)
    check_limits(params)
    updated = dict(current)
    if params.get("Runtime") is not None:
        check_runtime(params["Runtime"])
        updated["Runtime"] = params["Runtime"]
    if params.get("Role") is not None:
        check_role(params["Role"], account)
        updated["Role"] = params["Role"]
    if params.get("Handler") is not None:
        updated["Handler"] = params["Handler"]
    for name in _KEPT:
        if params.get(name) is not None:
            updated[name] = params[name]
    if "Environment" in params:
        variables = check_environment(params["Environment"])
        updated.pop("Environment", None)
        if variables:
            updated["Environment"] = {"Variables": variables}
    if params.get("LoggingConfig"):
        updated["LoggingConfig"] = current["LoggingConfig"] | dict(params["LoggingConfig"])
    if (dead := updated.get("DeadLetterConfig")) is not None and not dead.get("TargetArn"):
        updated.pop("DeadLetterConfig")
    return updated


def defaults(name: str, arn: str) -> dict[str, Any]:
    """What Lambda gives a new function that its request leaves out."""
    return {
        "FunctionName": name,
        "FunctionArn": arn,
        "Description": "",
        "Timeout": 3,
        "MemorySize": 128,
        "Version": "$LATEST",
        "TracingConfig": {"Mode": "PassThrough"},
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "PackageType": "Zip",
        "Architectures": ["x86_64"],
        "EphemeralStorage": {"Size": 512},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{name}"},
    }
