"""What AWS checks and the embedded moto does not, answered in front of moto (`trailbridge.services.moto.checks`):
a DynamoDB table name that is no ARN must be a name, through the bridge and through the API as the CLI calls it."""

from __future__ import annotations

import botocore.session
import pytest
from botocore.exceptions import ClientError

from tests.support.server import Server
from trailbridge.services.base import ServiceError
from trailbridge.services.moto_bridge import MotoBridge

MODEL = botocore.session.get_session().get_service_model("dynamodb")
ACCOUNT, REGION = "210000000901", "eu-west-1"
PATTERN = "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"


def _refused(operation: str, name: str) -> ServiceError:
    params = {"TableName": name, "Item": {"id": {"S": "a"}}} if operation == "PutItem" else {"TableName": name}
    with pytest.raises(ServiceError) as caught:
        MotoBridge().call(MODEL.operation_model(operation), params, ACCOUNT, REGION, "AKIAIOSFODNN7EXAMPLE")
    return caught.value


def test_a_table_name_outside_the_pattern_is_a_validation_error_as_aws_words_it() -> None:
    refused = _refused("PutItem", "/things")
    assert (refused.code, refused.status) == ("ValidationException", 400)
    assert (
        refused.message
        == f"1 validation error detected: Value '/things' at 'tableName' failed to satisfy constraint: {PATTERN}"
    )


def test_the_pattern_is_reported_before_the_length_in_one_answer() -> None:
    refused = _refused("DescribeTable", "a/")
    assert refused.message == (
        f"2 validation errors detected: Value 'a/' at 'tableName' failed to satisfy constraint: {PATTERN}; "
        "Value 'a/' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3"
    )


def test_a_valid_name_or_an_arn_goes_on_to_moto() -> None:
    assert _refused("DescribeTable", "no-such-table").code == "ResourceNotFoundException"
    arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/no-such-table"
    assert _refused("DescribeTable", arn).code == "ResourceNotFoundException"


def test_the_api_answers_the_cli_the_same(server: Server, account: str) -> None:
    dynamodb = server.client("dynamodb", account)
    with pytest.raises(ClientError) as caught:
        dynamodb.put_item(TableName="/things", Item={"id": {"S": "a"}})
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"].endswith(PATTERN)
