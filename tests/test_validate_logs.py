"""Interop acceptance: the unmodified `aws cloudtrail validate-logs` accepts a trail that trailbridge wrote, with
trailbridge answering DescribeTrails and ListPublicKeys, and reports INVALID after a log file is modified, after
one is deleted, and after a digest is deleted: with trailbridge alone (its own S3, the bucket made with
`aws s3 mb`, `AWS_ENDPOINT_URL_S3` the same server), and with the trail's bucket on another S3 endpoint
(moto's server, TRAILBRIDGE_S3_ENDPOINT_URL)."""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
import time
from typing import Any

import boto3
import pytest

from tests.conftest import wait_for
from tests.support.server import Server

ACCOUNT = "123456789012"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": ACCOUNT, "AWS_SECRET_ACCESS_KEY": "x"}


def _s3(url: str) -> Any:
    return boto3.client(
        "s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "awscli", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, check=False)


def _made_by_the_cli(env: dict[str, str], bucket: str) -> None:
    made = _cli(env, "s3", "mb", f"s3://{bucket}")  # the CLI's own S3 client, at AWS_ENDPOINT_URL_S3
    assert made.returncode == 0, made.stdout + made.stderr


def _listed_by_the_cli(env: dict[str, str], bucket: str) -> None:
    listed = _cli(env, "s3", "ls", "--recursive", f"s3://{bucket}/AWSLogs/")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/us-east-1/" in listed.stdout
    assert f"AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/" in listed.stdout


@pytest.mark.parametrize("external", [False, True], ids=["trailbridge-alone", "external-s3"])
def test_aws_cli_validate_logs_accepts_our_trail_and_catches_tampering(external: bool, request: Any) -> None:
    settings = {"TRAILBRIDGE_TRAIL_DELIVERY_SECONDS": "1", "TRAILBRIDGE_DIGEST_SECONDS": "2"}
    s3_endpoint = request.getfixturevalue("s3_endpoint") if external else None
    process = Server(
        env={**settings, **CREDENTIALS, **({"TRAILBRIDGE_S3_ENDPOINT_URL": s3_endpoint} if s3_endpoint else {})}
    )
    try:
        s3_endpoint = s3_endpoint or process.url
        env = {
            **os.environ,
            **CREDENTIALS,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_S3": s3_endpoint,
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        }
        s3, bucket = _s3(s3_endpoint), "trail-bucket"
        trail = process.client("cloudtrail", ACCOUNT)
        _made_by_the_cli(env, bucket)
        arn = trail.create_trail(Name="main", S3BucketName=bucket, EnableLogFileValidation=True)["TrailARN"]
        start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
        trail.start_logging(Name="main")
        events = process.client("events", ACCOUNT)
        for i in range(3):
            events.put_rule(Name=f"r{i}", EventPattern='{"source": ["a"]}')
            time.sleep(1.2)

        def keys() -> list[str]:
            return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]

        wait_for(lambda: sum("CloudTrail-Digest" in k for k in keys()) >= 2, timeout=15)
        trail.stop_logging(Name="main")
        time.sleep(2.5)  # the final digest
        _listed_by_the_cli(env, bucket)

        def validate() -> tuple[int, str]:
            arguments = ["--trail-arn", arn, "--start-time", start, "--endpoint-url", process.url, "--verbose"]
            result = _cli(env, "cloudtrail", "validate-logs", *arguments)
            return result.returncode, result.stdout + result.stderr  # the CLI prints INVALID lines on stderr

        status, report = validate()
        assert status == 0, report
        assert re.search(r"(\d+)/\1 digest files valid", report) and re.search(r"(\d+)/\1 log files valid", report)
        assert "INVALID" not in report
        ours = [sys.executable, "-m", "trailbridge", "trail", "validate", f"s3://{bucket}"]
        ours += ["--s3-endpoint-url", s3_endpoint, "--endpoint-url", process.url]
        own = subprocess.run(ours, capture_output=True, text=True, timeout=60, check=False, env=env)
        assert own.returncode == 0 and "INVALID" not in own.stdout, own.stdout + own.stderr
        logs = [k for k in keys() if "_CloudTrail_" in k]
        digests = [k for k in keys() if "CloudTrail-Digest" in k]

        original = s3.get_object(Bucket=bucket, Key=logs[0])["Body"].read()
        s3.put_object(Bucket=bucket, Key=logs[0], Body=gzip.compress(gzip.decompress(original) + b" "))
        status, report = validate()
        assert status != 0 and "INVALID: hash value doesn't match" in report, report
        s3.put_object(Bucket=bucket, Key=logs[0], Body=original)

        s3.delete_object(Bucket=bucket, Key=logs[-1])
        status, report = validate()
        assert status != 0 and "INVALID: not found" in report, report

        s3.delete_object(Bucket=bucket, Key=digests[0])
        status, report = validate()
        assert status != 0 and "INVALID" in report, report
        own = subprocess.run(ours, capture_output=True, text=True, timeout=60, check=False, env=env)
        assert own.returncode == 1 and f"previous digest {digests[0]} not found" in own.stdout, own.stdout
    finally:
        process.stop()
