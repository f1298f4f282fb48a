"""ARNs as AWS writes them, and the few parses the engine needs."""

from __future__ import annotations

from typing import NamedTuple

from trailbridge.errors import InvalidInputError


class Arn(NamedTuple):
    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


def parse_arn(text: str) -> Arn:
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise InvalidInputError(f"Parameter {text} is not valid.")
    return Arn(*parts[1:])


def bus_arn(account: str, region: str, bus: str) -> str:
    return f"arn:aws:events:{region}:{account}:event-bus/{bus}"


def rule_arn(account: str, region: str, bus: str, rule: str) -> str:
    """AWS leaves the bus out of the ARN of a rule on the default bus."""
    resource = f"rule/{rule}" if bus == "default" else f"rule/{bus}/{rule}"
    return f"arn:aws:events:{region}:{account}:{resource}"


def connection_arn(account: str, region: str, name: str, uuid: str) -> str:
    return f"arn:aws:events:{region}:{account}:connection/{name}/{uuid}"


def api_destination_arn(account: str, region: str, name: str, uuid: str) -> str:
    return f"arn:aws:events:{region}:{account}:api-destination/{name}/{uuid}"


def queue_arn(account: str, region: str, name: str) -> str:
    return f"arn:aws:sqs:{region}:{account}:{name}"


def log_group_arn(account: str, region: str, name: str) -> str:
    return f"arn:aws:logs:{region}:{account}:log-group:{name}"


def bus_name_of(name_or_arn: str) -> tuple[str | None, str | None, str]:
    """(account, region, name) of an `EventBusName` given as a name (account/region None) or an ARN."""
    if not name_or_arn.startswith("arn:"):
        return None, None, name_or_arn
    arn = parse_arn(name_or_arn)
    if arn.service != "events" or not arn.resource.startswith("event-bus/"):
        raise InvalidInputError(f"Parameter {name_or_arn} is not valid. Reason: Provided Arn is not in correct format.")
    return arn.account, arn.region, arn.resource.removeprefix("event-bus/")
