"""AWS Lambda's control plane (rest-json), trailbridge's own: functions deployed from a zip or an S3 object of
trailbridge's S3, their configuration, numbered versions and aliases, resource policies, reserved concurrency,
asynchronous-invocation settings and tags. One class per resource; the server finds their operations by the
`@operation` marks. The functions run in the worker runtime (`trailbridge/functions/`), which gets the
version to run from `spec_for`.

State: documents on the `Resources` port (see `common`): `lambda-function` by name in its account and region,
and beside it (the function's ARN as the scope's parent) `lambda-version`, `lambda-alias`, `lambda-policy`
and `lambda-invoke-config`. Zips are on the `Objects` port in a bucket per account no S3 caller reaches
(see `code`), unpacked once into `<data_dir>/functions/<sha hex>/` for the workers.

Where trailbridge differs from AWS, on purpose or for now:

- Only zips of python3.x and nodejs*.x runtimes; container images, layers, VPCs, file systems, code signing,
  SnapStart and weighted alias routing are refused (501) rather than kept to do nothing.
- A function is Active as soon as it is created (there is no Pending state to wait out).
- GetFunction's Code.Location is the S3 object the code came from, else a URL of trailbridge's own
  (`/_trailbridge/lambda/code/...`, a sealed token valid 10 minutes).
- The environment-size error does not quote the variables (Lambda's does): they are often secrets.
"""

from __future__ import annotations

from trailbridge.services.lambda_functions.code import code_at, unpacked
from trailbridge.services.lambda_functions.functions import FunctionsService
from trailbridge.services.lambda_functions.invoke_config import EventInvokeConfigService
from trailbridge.services.lambda_functions.permissions import PermissionsService
from trailbridge.services.lambda_functions.spec import async_config, check_invoke, deployed, spec_for
from trailbridge.services.lambda_functions.tags import TagsService
from trailbridge.services.lambda_functions.versions import VersionsService

LAMBDA_CLASSES = (FunctionsService, VersionsService, PermissionsService, EventInvokeConfigService, TagsService)

__all__ = [
    "LAMBDA_CLASSES",
    "EventInvokeConfigService",
    "FunctionsService",
    "PermissionsService",
    "TagsService",
    "VersionsService",
    "async_config",
    "check_invoke",
    "code_at",
    "deployed",
    "spec_for",
    "unpacked",
]
