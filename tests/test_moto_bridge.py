"""The moto bridge: parsed calls answered by moto's backends in process, per account and region."""

from __future__ import annotations

import itertools
import sys
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.awsrequest import AWSResponse

from tests.support.shapes import example
from trailbridge.services.base import ServiceError
from trailbridge.services.moto.backends import MOTO_BACKENDS, MOTO_LOCK, module_name
from trailbridge.services.moto_bridge import MotoBridge

SESSION = botocore.session.get_session()
REGION = "eu-west-1"
_accounts = itertools.count(210000000001)


@pytest.fixture(scope="module")
def bridge() -> MotoBridge:
    return MotoBridge()


@pytest.fixture
def account() -> str:
    """A fresh account per test: moto's state is global to the process."""
    return str(next(_accounts))


def call(
    bridge: MotoBridge,
    service: str,
    operation: str,
    params: Mapping[str, Any] | None = None,
    account: str = "123456789012",
    region: str = REGION,
    key: str = "AKIAIOSFODNN7EXAMPLE",
) -> dict[str, Any]:
    model = SESSION.get_service_model(service).operation_model(operation)
    return bridge.call(model, params or {}, account, region, key)


def error(bridge: MotoBridge, *args: Any, **kwargs: Any) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        call(bridge, *args, **kwargs)
    return caught.value


def run_instance(bridge: MotoBridge, account: str, region: str = REGION) -> str:
    images = call(bridge, "ec2", "DescribeImages", {"Owners": ["amazon"]}, account, region)["Images"]
    params = {"ImageId": images[0]["ImageId"], "InstanceType": "t2.micro", "MinCount": 1, "MaxCount": 1}
    return str(call(bridge, "ec2", "RunInstances", params, account, region)["Instances"][0]["InstanceId"])


def instance_ids(bridge: MotoBridge, account: str, region: str = REGION) -> set[str]:
    reservations = call(bridge, "ec2", "DescribeInstances", {}, account, region)["Reservations"]
    return {instance["InstanceId"] for r in reservations for instance in r["Instances"]}


def test_ec2_instances_live_in_their_account_and_region(bridge: MotoBridge, account: str) -> None:
    instance = run_instance(bridge, account)
    other_account = str(next(_accounts))
    assert instance in instance_ids(bridge, account)
    assert instance not in instance_ids(bridge, other_account)
    assert instance not in instance_ids(bridge, account, "us-west-2")


def test_iam_users(bridge: MotoBridge, account: str) -> None:
    created = call(bridge, "iam", "CreateUser", {"UserName": "alice"}, account)["User"]
    assert created["Arn"] == f"arn:aws:iam::{account}:user/alice"
    assert call(bridge, "iam", "GetUser", {"UserName": "alice"}, account)["User"]["UserId"] == created["UserId"]
    assert [u["UserName"] for u in call(bridge, "iam", "ListUsers", {}, account)["Users"]] == ["alice"]


def test_sts_caller_identity_is_in_the_callers_account(bridge: MotoBridge, account: str) -> None:
    assert call(bridge, "sts", "GetCallerIdentity", {}, account)["Account"] == account


def test_assumed_role_identity(bridge: MotoBridge, account: str) -> None:
    role = call(bridge, "iam", "CreateRole", {"RoleName": "deployer", "AssumeRolePolicyDocument": "{}"}, account)
    role_id, role_arn = role["Role"]["RoleId"], role["Role"]["Arn"]
    answer = call(bridge, "sts", "AssumeRole", {"RoleArn": role_arn, "RoleSessionName": "ci"}, account)
    key = answer["Credentials"]["AccessKeyId"]
    found = bridge.identity(key)
    assert found is not None
    assert found.account == account
    context = found.user_identity.pop("sessionContext")
    assert bridge.identity(key) != found  # a copy: what the caller changes stays the caller's
    assert found.user_identity == {
        "type": "AssumedRole",
        "principalId": f"{role_id}:ci",
        "arn": f"arn:aws:sts::{account}:assumed-role/deployer/ci",
        "accountId": account,
        "accessKeyId": key,
    }
    assert context["sessionIssuer"] == {
        "type": "Role",
        "principalId": role_id,
        "arn": role_arn,
        "accountId": account,
        "userName": "deployer",
    }
    assert context["attributes"]["mfaAuthenticated"] == "false"
    assert context["attributes"]["creationDate"].endswith("Z")


def test_assumed_role_key_is_the_roles_to_moto_too(bridge: MotoBridge, account: str) -> None:
    """moto attributes later calls with the key to the session, and identity() says the same."""
    arn = f"arn:aws:iam::{account}:role/ghost"  # moto lets a role that does not exist be assumed
    key = call(bridge, "sts", "AssumeRole", {"RoleArn": arn, "RoleSessionName": "s"}, account)["Credentials"]
    caller = call(bridge, "sts", "GetCallerIdentity", {}, account, key=key["AccessKeyId"])
    found = bridge.identity(key["AccessKeyId"])
    assert found is not None
    assert caller["Arn"] == found.user_identity["arn"] == f"arn:aws:sts::{account}:assumed-role/ghost/s"
    assert found.user_identity["principalId"].startswith("AROA")
    assert bridge.identity(key["AccessKeyId"]) == found  # the same session, the same principalId
    assert MotoBridge().identity(key["AccessKeyId"]) == found  # moto's state, and its keys, are the process's


def test_identity_takes_no_lock(bridge: MotoBridge, account: str) -> None:
    """The server asks on its event loop for every request, while workers hold moto's lock for whole calls."""
    arn = f"arn:aws:iam::{account}:role/r"
    key = call(bridge, "sts", "AssumeRole", {"RoleArn": arn, "RoleSessionName": "s"}, account)["Credentials"]
    found: list[object] = []
    with MOTO_LOCK:
        asker = threading.Thread(target=lambda: found.append(bridge.identity(key["AccessKeyId"])))
        asker.start()
        asker.join(timeout=5)
    assert found and found[0] is not None


def test_identity_of_a_key_moto_did_not_issue(bridge: MotoBridge) -> None:
    assert bridge.identity("AKIAIOSFODNN7EXAMPLE") is None
    assert bridge.identity("ASIA0000000000000000") is None


def user_with_key(bridge: MotoBridge, account: str, name: str) -> tuple[dict[str, Any], str]:
    user = call(bridge, "iam", "CreateUser", {"UserName": name}, account)["User"]
    key = call(bridge, "iam", "CreateAccessKey", {"UserName": name}, account)["AccessKey"]["AccessKeyId"]
    return user, key


def test_session_token_identity(bridge: MotoBridge, account: str) -> None:
    user, caller_key = user_with_key(bridge, account, "carol")
    answer = call(bridge, "sts", "GetSessionToken", {}, account, key=caller_key)
    key = answer["Credentials"]["AccessKeyId"]
    assert key.startswith("ASIA")
    assert key != call(bridge, "sts", "GetSessionToken", {}, account, key=caller_key)["Credentials"]["AccessKeyId"]
    found = bridge.identity(key)
    assert found is not None
    assert found.account == account
    assert found.user_identity["type"] == "IAMUser"
    assert found.user_identity["principalId"] == user["UserId"]
    assert found.user_identity["arn"] == user["Arn"]
    assert found.user_identity["userName"] == "carol"
    assert found.user_identity["accessKeyId"] == key
    assert set(found.user_identity["sessionContext"]) == {"attributes"}
    caller = call(bridge, "sts", "GetCallerIdentity", {}, account, key=key)
    assert (caller["UserId"], caller["Arn"]) == (user["UserId"], user["Arn"])


def test_federation_token_identity(bridge: MotoBridge, account: str) -> None:
    user, caller_key = user_with_key(bridge, account, "dave")
    answer = call(bridge, "sts", "GetFederationToken", {"Name": "guest"}, account, key=caller_key)
    found = bridge.identity(answer["Credentials"]["AccessKeyId"])
    assert found is not None
    assert found.user_identity["type"] == "FederatedUser"
    assert found.user_identity["principalId"] == f"{account}:guest"
    assert (
        found.user_identity["arn"] == answer["FederatedUser"]["Arn"] == f"arn:aws:sts::{account}:federated-user/guest"
    )
    issuer = found.user_identity["sessionContext"]["sessionIssuer"]
    assert issuer == {
        "type": "IAMUser",
        "principalId": user["UserId"],
        "arn": user["Arn"],
        "accountId": account,
        "userName": "dave",
    }
    caller = call(bridge, "sts", "GetCallerIdentity", {}, "123456789012", key=answer["Credentials"]["AccessKeyId"])
    assert (caller["UserId"], caller["Account"]) == (f"{account}:guest", account)


def test_session_token_of_a_caller_moto_does_not_know_is_the_accounts_root(bridge: MotoBridge, account: str) -> None:
    key = call(bridge, "sts", "GetSessionToken", {}, account)["Credentials"]["AccessKeyId"]
    found = bridge.identity(key)
    assert found is not None
    assert (found.user_identity["type"], found.user_identity["arn"]) == ("Root", f"arn:aws:iam::{account}:root")


def test_dynamodb_items(bridge: MotoBridge, account: str) -> None:
    table = {
        "TableName": "things",
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    call(bridge, "dynamodb", "CreateTable", table, account)
    item = {"id": {"S": "a"}, "size": {"N": "3"}, "tags": {"SS": ["x", "y"]}}
    call(bridge, "dynamodb", "PutItem", {"TableName": "things", "Item": item}, account)
    got = call(bridge, "dynamodb", "GetItem", {"TableName": "things", "Key": {"id": {"S": "a"}}}, account)
    assert got["Item"]["size"] == {"N": "3"}
    assert sorted(got["Item"]["tags"]["SS"]) == ["x", "y"]


def test_rds_instance_lifecycle(bridge: MotoBridge, account: str) -> None:
    params = {
        "DBInstanceIdentifier": "db1",
        "DBInstanceClass": "db.t3.micro",
        "Engine": "postgres",
        "AllocatedStorage": 20,
        "MasterUsername": "admin",
        "MasterUserPassword": "secret-password",
    }
    created = call(bridge, "rds", "CreateDBInstance", params, account)["DBInstance"]
    assert created["DBInstanceArn"] == f"arn:aws:rds:{REGION}:{account}:db:db1"
    listed = call(bridge, "rds", "DescribeDBInstances", {}, account)["DBInstances"]
    assert [db["DBInstanceIdentifier"] for db in listed] == ["db1"]
    call(bridge, "rds", "DeleteDBInstance", {"DBInstanceIdentifier": "db1", "SkipFinalSnapshot": True}, account)
    assert (
        error(bridge, "rds", "DescribeDBInstances", {"DBInstanceIdentifier": "db1"}, account).code
        == "DBInstanceNotFound"
    )


def test_cloudwatch_a_cbor_first_service(bridge: MotoBridge, account: str) -> None:
    """CloudWatch lists smithy-rpc-v2-cbor first, which moto does not read; its JSON protocol is used."""
    assert SESSION.get_service_model("cloudwatch").metadata["protocols"][0] == "smithy-rpc-v2-cbor"
    datum = {"MetricName": "Latency", "Value": 12.5, "Dimensions": [{"Name": "Api", "Value": "orders"}]}
    call(bridge, "cloudwatch", "PutMetricData", {"Namespace": "Shop", "MetricData": [datum]}, account)
    metrics = call(bridge, "cloudwatch", "ListMetrics", {"Namespace": "Shop"}, account)["Metrics"]
    assert metrics == [
        {"Namespace": "Shop", "MetricName": "Latency", "Dimensions": [{"Name": "Api", "Value": "orders"}]}
    ]


@pytest.mark.parametrize(
    ("service", "operation", "params", "code", "status"),
    [
        ("iam", "GetUser", {"UserName": "nobody"}, "NoSuchEntity", 404),  # query
        ("ec2", "DescribeInstances", {"InstanceIds": ["i-nope"]}, "InvalidInstanceID.NotFound", 400),  # ec2
        ("dynamodb", "DescribeTable", {"TableName": "none"}, "ResourceNotFoundException", 400),  # json
        ("lambda", "GetFunction", {"FunctionName": "none"}, "ResourceNotFoundException", 404),  # rest-json
        ("route53", "GetHostedZone", {"Id": "Z0000"}, "NoSuchHostedZone", 404),  # rest-xml
        ("rds", "DescribeDBParameterGroups", {"Marker": "zzz"}, "InvalidToken", 400),  # moto's JSON in a query service
        # moto warns that RDS's model has no such error; warnings are errors in these tests
        (
            "rds",
            "CreateDBSubnetGroup",
            {"DBSubnetGroupName": "g", "DBSubnetGroupDescription": "d", "SubnetIds": ["subnet-nope"]},
            "InvalidSubnetID.NotFound",
            400,
        ),
    ],
)
def test_moto_errors_keep_code_and_status(
    bridge: MotoBridge, account: str, service: str, operation: str, params: dict[str, Any], code: str, status: int
) -> None:
    raised = error(bridge, service, operation, params, account)
    assert (raised.code, raised.status) == (code, status)
    assert raised.message


def test_an_operation_moto_lacks_is_not_implemented(bridge: MotoBridge, account: str) -> None:
    raised = error(bridge, "ec2", "DescribeCapacityBlockOfferings", {"CapacityDurationHours": 24}, account)
    assert (raised.code, raised.status) == ("NotImplemented", 501)
    assert raised.message == "ec2 DescribeCapacityBlockOfferings is not implemented by trailbridge's embedded moto."


@pytest.mark.parametrize(
    "service", ["ec2", "iam", "sts", "cloudwatch", "dynamodb", "rds", "lambda", "elbv2", "s3control"]
)
def test_serves_what_moto_has(bridge: MotoBridge, service: str) -> None:
    assert bridge.serves(service)


@pytest.mark.parametrize("service", ["no-such-service", "greengrassv2", "docdb", "cloudhsm", "gamelift"])
def test_does_not_serve_what_moto_lacks(bridge: MotoBridge, service: str) -> None:
    assert not bridge.serves(service)


@pytest.fixture
def eager_thread_switches() -> Iterator[None]:
    """Threads switched every 10 µs rather than every 5 ms, so that unguarded read-modify-writes in moto
    (a DynamoDB ADD) lose updates reliably: without the bridge's lock this test loses a tenth of them."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(interval)


@pytest.mark.usefixtures("eager_thread_switches")
def test_concurrent_calls_keep_state_consistent(bridge: MotoBridge, account: str) -> None:
    table = {
        "TableName": "counters",
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    call(bridge, "dynamodb", "CreateTable", table, account)
    add = {
        "TableName": "counters",
        "Key": {"id": {"S": "hits"}},
        "UpdateExpression": "ADD n :one",
        "ExpressionAttributeValues": {":one": {"N": "1"}},
    }
    errors: list[BaseException] = []

    def work(thread: int) -> None:
        try:
            for n in range(25):
                call(bridge, "dynamodb", "UpdateItem", add, account)
                call(bridge, "iam", "CreateUser", {"UserName": f"u{thread}-{n}"}, account)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    item = call(bridge, "dynamodb", "GetItem", {"TableName": "counters", "Key": {"id": {"S": "hits"}}}, account)["Item"]
    assert item["n"] == {"N": "200"}
    users = call(bridge, "iam", "ListUsers", {"MaxItems": 1000}, account)["Users"]
    assert sorted(u["UserName"] for u in users) == sorted(f"u{t}-{n}" for t in range(8) for n in range(25))


def test_boto3_clients_elsewhere_are_not_mocked(bridge: MotoBridge, account: str) -> None:
    """After the bridge has served calls, a boto3 client to a real AWS hostname still sends its own
    requests: moto's botocore stubber stays off (it would answer before any later before-send hook)."""
    call(bridge, "sts", "GetCallerIdentity", {}, account)
    run_instance(bridge, account)
    sent: list[str] = []

    def real_aws(request: Any, **_: Any) -> AWSResponse:
        sent.append(request.url)
        body = b"<GetCallerIdentityResponse><GetCallerIdentityResult><Account>999999999999</Account></GetCallerIdentityResult></GetCallerIdentityResponse>"
        return AWSResponse(request.url, 200, {}, _Raw(body))

    client = boto3.client(
        "sts", region_name=REGION, aws_access_key_id="AKIAREALKEY000000000", aws_secret_access_key="x"
    )
    client.meta.events.register("before-send", real_aws)
    assert client.get_caller_identity()["Account"] == "999999999999"
    assert sent == [f"https://sts.{REGION}.amazonaws.com/"]


class _Raw:
    """The raw stream an AWSResponse reads its body from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


def first_read_operation(service: str) -> str:
    """Its first List, Describe or Get operation; its first operation if it has none of those."""
    names = SESSION.get_service_model(service).operation_names
    return next((name for prefix in ("List", "Describe", "Get") for name in names if name.startswith(prefix)), names[0])


# botocore's services with a moto backend of their name (cheap to find: serves() loads each model)
SERVED = [s for s in SESSION.get_available_services() if module_name(s) in MOTO_BACKENDS - {"s3", "s3control"}]


@pytest.mark.parametrize("service", SERVED)
def test_every_served_service_answers_a_result_or_an_aws_error(bridge: MotoBridge, service: str) -> None:
    """One read operation of each service moto serves, with every member filled: it routes to moto, and
    whatever moto makes of it comes back as a result or a ServiceError, never as another exception.
    (S3 Control's example account id, not 12 digits, is no host label: the server's validation refuses it.)"""
    assert bridge.serves(service)
    operation = first_read_operation(service)
    model = SESSION.get_service_model(service).operation_model(operation)
    try:
        assert isinstance(
            bridge.call(
                model, example(model.input_shape) if model.input_shape else {}, "123456789012", REGION, "AKIAX"
            ),
            dict,
        )
    except ServiceError as exc:
        assert exc.code and 400 <= exc.status <= 599
