"""Amazon SNS subscription filter policies, compiled once onto the event-pattern engine.

    policy = compile_filter_policy(text, scope="MessageAttributes")   # raises FilterPolicyError
    policy.matches(message, attributes) -> bool

A filter policy is an event pattern with SNS's restrictions (`filter_policy_rules`): SNS validates it
with aws/event-ruler, the library behind EventBridge, so the engine's compiler gives AWS's verdict on
its structure, and the pattern it compiles does the matching. What differs is the event it is matched
against. On the `MessageAttributes` scope the event is built from the message's attributes: a
`String` (or `String.<custom>`) attribute is a string, a `Number` a number, a `String.Array` the JSON
array its value holds (so any element can match), and a `Binary` one is left out, as SNS never
compares binary attributes. On the `MessageBody` scope the event is the message itself, when it is a
JSON object. PATTERNS.md ("SNS filter policies") lists where SNS's semantics differ from EventBridge's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from trailbridge.errors import TrailbridgeError
from trailbridge.patterns import filter_policy_rules as rules
from trailbridge.patterns import filter_policy_text as reading
from trailbridge.patterns.errors import PatternError
from trailbridge.patterns.matcher import Matcher

__all__ = ["SCOPES", "FilterPolicy", "FilterPolicyError", "compile_filter_policy"]

SCOPES = ("MessageAttributes", "MessageBody")
MAX_BYTES = 256 * 1024
TOO_LONG = "Filter policy is too long"
_ONLY = "policy"


class FilterPolicyError(TrailbridgeError, ValueError):
    """A filter policy SNS would refuse (AWS: InvalidParameter, HTTP 400).

    `str()` is AWS's message after its prefix, and `prefix` is the part of that prefix that names the
    attribute, so the service writes, word for word as AWS does:

    - SetSubscriptionAttributes: ``"Invalid parameter: " + err.prefix + str(err)``
    - Subscribe (and CreateTopic-style attribute maps): ``"Invalid parameter: Attributes Reason: " +
      err.prefix + str(err)``

    `prefix` is ``"FilterPolicy: "`` for every error but one: AWS words the refusal of a nested policy
    on the `MessageAttributes` scope without it ("Invalid parameter: Filter policy scope
    MessageAttributes does not support nested filter policy"), and there `prefix` is ``""``.
    Where AWS's message carries Jackson's location on a second line (``\\n at [Source: ...; line: 1,
    column: N]``), so does `str()`; `reason` is the first line alone.
    """

    def __init__(self, message: str, *, prefix: str = "FilterPolicy: ") -> None:
        super().__init__(message)
        self.prefix = prefix
        self.reason = message.split("\n", 1)[0]


class FilterPolicy:
    """One compiled, validated filter policy of one scope; an empty policy matches every message."""

    __slots__ = ("_matcher", "scope", "text")

    def __init__(self, text: str, scope: str, matcher: Matcher | None) -> None:
        self.text = text
        self.scope = scope
        self._matcher = matcher

    def matches(self, message: str, attributes: Mapping[str, Mapping[str, Any]]) -> bool:
        """Whether SNS would deliver this published message to the subscription.

        `attributes` is Publish's `MessageAttributes`: name -> {"DataType", "StringValue" | "BinaryValue"}.
        On the `MessageBody` scope a message that is not a JSON object matches only an empty policy.
        """
        if self._matcher is None:
            return True
        if self.scope == "MessageBody":
            return self._matches_body(message)
        return bool(self._matcher.matches(attributes_event(attributes)))

    def _matches_body(self, message: str) -> bool:
        assert self._matcher is not None
        try:
            return bool(self._matcher.matches(message))
        except ValueError:  # not JSON, or not an object
            return False

    def __repr__(self) -> str:
        return f"FilterPolicy({self.text!r}, scope={self.scope!r})"


def compile_filter_policy(policy: str, scope: str = "MessageAttributes") -> FilterPolicy:
    """Validate a policy as SNS does and compile it; raises FilterPolicyError with AWS's message.

    An empty policy (``""``, which SNS takes as removing the policy, or ``"{}"``) matches everything.
    A scope other than `MessageAttributes` or `MessageBody` is a ValueError: AWS reports it against
    the `FilterPolicyScope` attribute, not the policy.
    """
    if scope not in SCOPES:
        raise ValueError(f"unknown filter policy scope {scope!r}; expected one of {SCOPES}")
    if len(policy.encode("utf-8", errors="surrogatepass")) > MAX_BYTES:
        raise FilterPolicyError(TOO_LONG)
    if not policy.strip():
        return FilterPolicy(policy, scope, None)
    try:
        tree = reading.read(policy)
    except PatternError as err:
        raise FilterPolicyError(reading.syntax_message(policy, err.reason)) from None
    if tree == {}:
        return FilterPolicy(policy, scope, None)
    pattern = reading.compact(tree)
    _check_operators(pattern)
    _check_sns_rules(tree, scope)
    matcher = Matcher()
    matcher.add(_ONLY, pattern)
    return FilterPolicy(policy, scope, matcher)


def _check_operators(pattern: str) -> None:
    """event-ruler's verdict with SNS's narrower set of operators, whichever comes first in the text."""
    engine = reading.engine_error(pattern)
    unknown = rules.operator_error(pattern)
    if unknown is not None:
        end = reading.error_end(pattern, unknown, rules.operator_error)
        if engine is None or reading.engine_error(pattern[:end]) != engine:
            raise FilterPolicyError(reading.validation_message(pattern, unknown, rules.operator_error))
    if engine is not None:
        raise FilterPolicyError(reading.validation_message(pattern, engine, reading.engine_error))


def _check_sns_rules(tree: dict[str, Any], scope: str) -> None:
    """SNS's limits, once event-ruler has accepted the policy (so `tree` is a valid pattern)."""
    nested = scope == "MessageAttributes" and rules.is_nested(tree)
    if rules.depth(tree) > rules.MAX_COMBINATIONS:  # too deep to count recursively, and too complex anyway
        raise (
            FilterPolicyError(rules.NESTED_ON_ATTRIBUTES, prefix="") if nested else FilterPolicyError(rules.TOO_COMPLEX)
        )
    if rules.key_count(tree) > rules.MAX_KEYS:
        raise FilterPolicyError(rules.TOO_MANY_KEYS)
    if nested:
        raise FilterPolicyError(rules.NESTED_ON_ATTRIBUTES, prefix="")
    if rules.combinations(tree) > rules.MAX_COMBINATIONS:
        raise FilterPolicyError(rules.TOO_COMPLEX)


def attributes_event(attributes: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The event a `MessageAttributes` policy is matched against: each attribute's comparable value.

    Attributes whose value SNS cannot compare (`Binary`, a `Number` that is not a number, a
    `String.Array` that is not a JSON array) are left out, so only `exists: false` can match them.
    """
    event: dict[str, Any] = {}
    for name, attribute in attributes.items():
        value = _attribute_value(attribute)
        if value is not _ABSENT:
            event[name] = value
    return event


_ABSENT = object()


def _attribute_value(attribute: Mapping[str, Any]) -> Any:
    data_type = str(attribute.get("DataType", ""))
    text = attribute.get("StringValue")
    if not isinstance(text, str) or data_type.startswith("Binary"):
        return _ABSENT
    if data_type.startswith("Number"):
        return _number(text)
    if data_type == "String.Array":
        return _array(text)
    return text


def _number(text: str) -> Any:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        value = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    try:
        return float(text)
    except ValueError:
        return _ABSENT


def _array(text: str) -> Any:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return _ABSENT
    return value if isinstance(value, list) else _ABSENT
