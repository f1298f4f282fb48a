"""Every real record of the corpora (stratus-red-team and traildiscover, captured from AWS) against ours for
its call: its event source and name, readOnly, managementEvent, the names of its requestParameters and
responseElements, the types of its resources and the region of a global service. What differs is listed with
its reason (see trail/RECORDS.md): a difference that appears or goes away fails the test."""

from __future__ import annotations

import json
import re
from typing import Any

import botocore.session
import pytest

from tests.corpora import corpus
from tests.test_records_by_service import filled
from trailbridge.trail import s3
from trailbridge.trail.sources import event_name, event_source, is_management, is_read_only, record_region

# The corpora's calls no botocore model has: AWS's consoles' own APIs.
CONSOLE_CALLS = {
    ("bedrock.amazonaws.com", "PutFoundationModelEntitlement"),
    ("cloudshell.amazonaws.com", "CreateSession"),
    ("discovery-marketplace.amazonaws.com", "GetListingView"),
    ("sso-directory.amazonaws.com", "AddMemberToGroup"),
    ("sso-directory.amazonaws.com", "CreateGroup"),
    ("sso-directory.amazonaws.com", "CreateUser"),
    ("sso.amazonaws.com", "UpdateSsoConfiguration"),
}
REAL = ("stratus-red-team", "traildiscover")  # captured from AWS (the panther tests are partly written by hand)


def real_calls() -> list[dict[str, Any]]:
    found = []
    for name in REAL:
        for path in sorted(corpus("cloudtrail", name).rglob("*.json*")):
            if path.name.endswith((".json", ".cloudtrail")) and (name != "traildiscover" or ".cloudtrail" in path.name):
                loaded = json.loads(path.read_text(encoding="utf-8"))
                found += loaded if isinstance(loaded, list) else loaded.get("Records", [loaded])
    return [r for r in found if isinstance(r, dict) and r.get("eventType") == "AwsApiCall"]


@pytest.fixture(scope="module")
def named() -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(eventSource, eventName) -> the (service, operation)s of botocore's models that our records name so."""
    session = botocore.session.get_session()
    found: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for service in session.get_available_services():
        model = session.get_service_model(service)
        source = event_source(model)
        for operation in model.operation_names:
            name = s3.event_name(operation) if service == "s3" else event_name(model, operation)
            found.setdefault((source, name), []).append((service, operation))
    return found


def test_every_real_call_botocore_knows_is_named_and_flagged_as_cloudtrail_does(
    named: dict[tuple[str, str], list[tuple[str, str]]],
) -> None:
    """The event source and name of every real record name a call of botocore's models, and our readOnly and
    managementEvent for that call are the record's."""
    unknown, wrong = set(), []
    for record in real_calls():
        key = (record["eventSource"], record["eventName"])
        calls = named.get(key, [])
        if not calls:
            unknown.add(key)
        for service, operation in calls:
            ours = {"readOnly": is_read_only(operation, service), "managementEvent": is_management(service, operation)}
            theirs = {flag: record[flag] for flag in ours if isinstance(record.get(flag), bool)}
            if theirs != {flag: ours[flag] for flag in theirs}:
                wrong.append((service, operation, ours, theirs))
    assert unknown == CONSOLE_CALLS
    assert wrong == []


# The top-level request names of the real records that no member of botocore's model gives: defaults EC2 writes
# although the SDK did not send them, DescribeHosts (an older EC2 operation written in the newer form), and
# members the services' own clients send that the models do not have.
NAMES_NOT_OURS = {
    ("AttachVolume", "deleteOnTermination"),
    ("DeleteSnapshot", "force"),
    ("DeleteVolume", "reportVolumeFailure"),
    ("DescribeAccountAttributes", "filterSet"),
    ("DescribeHosts", "DescribeHostsRequest"),
    ("SendSerialConsoleSSHPublicKey", "monitorMode"),
    ("UpdateFunctionCode", "fullyQualifiedArn"),
    ("DeleteResolverQueryLogConfig", "originSequenceNumber"),
    ("SendCommand", "interactive"),
}


# The top-level answer names of the real records that no member of botocore's model gives.
ANSWER_NAMES_NOT_OURS = {("ModifyDBInstance", "httpEndpointEnabled")}


def missing_names(part: str, named: dict[tuple[str, str], list[tuple[str, str]]]) -> set[tuple[str, str]]:
    """(operation, name) for each top-level name of `part` of a real record that ours of its call lacks (of
    the service, among those our records name alike, whose names fit best: DocumentDB's calls are RDS's); a
    record with a `part` where ours has none (or the reverse) as (operation, `part`)."""
    missing = set()
    for record in real_calls():
        real = record.get(part)
        calls = named.get((record["eventSource"], record["eventName"]))
        failed = "errorCode" in record  # its answer is null; ours, of a call that succeeded, is not
        if not calls or (failed if part == "responseElements" else not real):
            continue
        ours = max((filled(*found)[part] for found in calls), key=lambda ours: len(set(ours or ()) & set(real or ())))
        if (real is None) != (ours is None):
            missing.add((calls[0][1], part))
        missing |= {(calls[0][1], name) for name in real or () if name not in (ours or ())}
    return missing


def test_every_real_request_name_is_one_our_records_write(
    named: dict[tuple[str, str], list[tuple[str, str]]],
) -> None:
    assert missing_names("requestParameters", named) == NAMES_NOT_OURS


def test_every_real_answer_name_is_one_our_records_write(named: dict[tuple[str, str], list[tuple[str, str]]]) -> None:
    """And where a real record has no answer (a read, a failure), neither has ours."""
    assert missing_names("responseElements", named) == ANSWER_NAMES_NOT_OURS


# The calls whose real records name other resources than ours: trailbridge's own services name the trail a call
# is about (for LookupEvents' ResourceName and the selectors: the corpora's records of rules all failed, and name
# none, as ours), the corpus's SSM parameters have no type.
RESOURCES_NOT_AS_OURS = {
    *(("cloudtrail", name) for name in ("DeleteTrail", "PutEventSelectors", "StopLogging")),
    ("ssm", "GetParameters"),
}


def test_every_real_record_names_the_resource_types_ours_name(
    named: dict[tuple[str, str], list[tuple[str, str]]],
) -> None:
    differing = set()
    for record in real_calls():
        calls = named.get((record["eventSource"], record["eventName"]))
        if not calls:
            continue
        theirs = {str(found.get("type")) for found in record.get("resources") or ()}
        candidates = [filled(*found, error=record.get("errorCode")).get("resources") or () for found in calls]
        if all({found["type"] for found in ours} != theirs for ours in candidates):
            differing.add(calls[0][:2])
    assert differing == RESOURCES_NOT_AS_OURS


def test_global_services_are_recorded_in_the_region_their_real_records_name(
    named: dict[tuple[str, str], list[tuple[str, str]]],
) -> None:
    """The real records of the services ours record in one region (IAM, CloudFront, Route 53, Organizations,
    Cost Explorer, Health, ...) name that region; the corpora's made-up regions (`ap-isob-central-3r`) aside."""
    session, checked, wrong = botocore.session.get_session(), set(), []
    for record in real_calls():
        calls = named.get((record["eventSource"], record["eventName"]))
        if not calls or not re.fullmatch(r"[a-z]{2}-[a-z]+-\d", record["awsRegion"]):
            continue
        region = record_region(session.get_service_model(calls[0][0]), "caller-region-1")
        if region != "caller-region-1":
            checked.add(calls[0][0])
            if record["awsRegion"] != region:
                wrong.append((record["eventSource"], record["eventName"], record["awsRegion"], region))
    assert wrong == []
    assert {"iam", "cloudfront", "route53", "organizations", "ce", "health"} <= checked
