"""The secret parameters of connections (passwords, API keys, OAuth client secrets, and the values of HTTP
parameters marked `IsValueSecret`), sealed with the store's `SecretBox` (`trailbridge.secrets`).

A connection's secret parameters are kept without their `Value` in its document; the values are sealed with
its other secrets, keyed by list (`InvocationHttpParameters.HeaderParameters`, ...) and parameter key, and
put back only for a delivery (`open_parameters`).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

# The lists of HTTP parameters in a connection's AuthParameters whose entries may be marked IsValueSecret.
_PARAMETER_LISTS = tuple(
    (*where, kind)
    for where in (("InvocationHttpParameters",), ("OAuthParameters", "OAuthHttpParameters"))
    for kind in ("HeaderParameters", "QueryStringParameters", "BodyParameters")
)


def _secret_entries(auth: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(list name, entry) for each entry marked IsValueSecret in a connection's AuthParameters."""
    for path in _PARAMETER_LISTS:
        node: Any = auth
        for name in path:
            node = node.get(name) if isinstance(node, Mapping) else None
        for entry in node if isinstance(node, list) else ():
            if isinstance(entry, dict) and entry.get("IsValueSecret") is True:
                yield ".".join(path), entry


def seal_parameters(
    auth: Mapping[str, Any], previous: Mapping[str, Mapping[str, str]]
) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    """(AuthParameters without the values of secret parameters, those values by list and key). A secret
    entry that comes without a Value keeps the one `previous` holds for its list and key: an update that sends
    back what DescribeConnection showed does not lose it."""
    public = copy.deepcopy(dict(auth))
    values: dict[str, dict[str, str]] = {}
    for where, entry in _secret_entries(public):
        value = entry.pop("Value", None)
        key = entry.get("Key")
        if value is None:
            value = previous.get(where, {}).get(str(key))
        if key is not None and value is not None:
            values.setdefault(where, {})[str(key)] = value
    return public, values


def hide_parameters(auth: Mapping[str, Any]) -> dict[str, Any]:
    """AuthParameters as DescribeConnection shows them: secret parameters without their Value (also for a
    connection stored before their values were sealed)."""
    shown = copy.deepcopy(dict(auth))
    for _, entry in _secret_entries(shown):
        entry.pop("Value", None)
    return shown


def open_parameters(auth: Mapping[str, Any], values: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """AuthParameters with the sealed values of secret parameters back in place, for a delivery. An entry
    that still carries its Value (a connection stored before they were sealed) keeps it."""
    full = copy.deepcopy(dict(auth))
    for where, entry in _secret_entries(full):
        value = values.get(where, {}).get(str(entry.get("Key")))
        if "Value" not in entry and value is not None:
            entry["Value"] = value
    return full
