"""SNS subscription filter policies: AWS's recorded deliveries and refusals, the rules, and a reference."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.corpora import load_json
from trailbridge.patterns import filter_policy_text as reading
from trailbridge.patterns.filter_policy import FilterPolicyError, compile_filter_policy

RECORDED: dict[str, Any] = load_json("sns", "aws-recorded.json")
CASES: list[dict[str, Any]] = RECORDED["filter_policy_cases"]
POLICY_ERRORS = [c for c in RECORDED["api_errors"] if "FilterPolicy" in json.dumps(c["params"])]
LOCATION = "\n at [Source"
# The recorded test set FilterPolicyScope=MessageBody on the subscription before these
# SetSubscriptionAttributes calls (localstack's test_sub_filter_policy_nested_property_constraints).
SCOPE_SET_BEFORE = {"test_sub_filter_policy_nested_property_constraints": "MessageBody"}
# The corpus names this message by its file in localstack's tests without its text; this stand-in has
# the shape the policy is about: dotted keys spelled nested, inside arrays, deep in the body.
LARGE_PAYLOAD = {
    "detail": {
        "id": "q-1",
        "payload": {"nested": [{"another-level": {"deep": {"inside-list": ["z-test", "q-test-7"], "n": 1}}}]},
        "other": [{"inside-list": ["q-test-wrong-place"]}],
    }
}
ATTRS = "MessageAttributes"
BODY = "MessageBody"


def test_corpus_is_complete() -> None:
    assert len(CASES) == 38
    assert len(POLICY_ERRORS) == 35


# -- AWS's recorded deliveries --------------------------------------------------------------------


def _message(case: dict[str, Any]) -> str:
    message = case["publish"]["Message"]
    return json.dumps(LARGE_PAYLOAD) if isinstance(message, dict) else str(message)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_recorded_delivery(case: dict[str, Any]) -> None:
    policy = "" if case["filter_policy"] is None else json.dumps(case["filter_policy"])
    compiled = compile_filter_policy(policy, case["filter_policy_scope"] or ATTRS)
    delivered = compiled.matches(_message(case), case["publish"].get("MessageAttributes", {}))
    assert delivered is case["delivered"]


# -- AWS's recorded refusals ----------------------------------------------------------------------


def _call(case: dict[str, Any]) -> tuple[str, str, str]:
    """The policy, its scope and the prefix AWS put before the attribute's name, for one recorded call."""
    params = case["params"]
    if case["operation"] == "Subscribe":
        attributes = params["Attributes"]
        return attributes["FilterPolicy"], attributes.get("FilterPolicyScope", ATTRS), "Attributes Reason: "
    test = case["source"]["test"].rsplit("::", 1)[1]
    return params["AttributeValue"], SCOPE_SET_BEFORE.get(test, ATTRS), ""


@pytest.mark.parametrize("case", POLICY_ERRORS, ids=[c["name"] for c in POLICY_ERRORS])
def test_recorded_refusal(case: dict[str, Any]) -> None:
    policy, scope, reason = _call(case)
    expected = case["expected_error"]["message"]
    if "FilterPolicy" not in expected and "Filter policy" not in expected:
        compile_filter_policy(policy, scope)  # another attribute was at fault: the policy is fine
        return
    with pytest.raises(FilterPolicyError) as caught:
        compile_filter_policy(policy, scope)
    assert f"Invalid parameter: {reason}{caught.value.prefix}{caught.value}" == expected
    assert caught.value.reason == str(caught.value).split(LOCATION)[0]
    assert case["expected_error"]["code"] == "InvalidParameter"


EVENTBRIDGE_LOCATED = [
    c
    for c in load_json("event-patterns", "aws-recorded.json")["cases"]
    if LOCATION in c.get("aws_error_message_raw", "")
]


@pytest.mark.parametrize("case", EVENTBRIDGE_LOCATED, ids=[c["name"] for c in EVENTBRIDGE_LOCATED])
def test_locations_are_jacksons(case: dict[str, Any]) -> None:
    """EventBridge's recorded errors carry the same event-ruler locations, in the pattern as sent.

    Their recorded source is masked (`arn:<partition>:`), so the reason, the line, the column and
    the count of suffixes are compared, not the quoted source.
    """
    pattern, raw = case["pattern"], case["aws_error_message_raw"].removeprefix("Event pattern is not valid. Reason: ")
    reason = reading.engine_error(pattern)
    if reason is None:
        raise AssertionError(f"the engine accepts {pattern!r}")
    if case["expected"] == "error" and reason.startswith(("Unrecognized token", "Unexpected character")):
        got = reading.syntax_message(pattern, reason).removeprefix("failed to parse JSON. ")
    else:
        got = reading.validation_message(pattern, reason, reading.engine_error)
    assert got.split(LOCATION)[0] == raw.split(LOCATION)[0]
    assert [part.rsplit("; ", 2)[1:] for part in got.split(LOCATION)] == [
        part.rsplit("; ", 2)[1:] for part in raw.split(LOCATION)
    ]


# -- attributes ------------------------------------------------------------------------------------


def _string(value: str, data_type: str = "String") -> dict[str, str]:
    return {"DataType": data_type, "StringValue": value}


def _matches(policy: Any, attributes: dict[str, Any], scope: str = ATTRS, message: str = "m") -> bool:
    return compile_filter_policy(json.dumps(policy), scope).matches(message, attributes)


@pytest.mark.parametrize(
    ("policy", "attributes", "expected"),
    [
        ({"a": ["x"]}, {"a": _string("x")}, True),
        ({"a": ["x"]}, {"a": _string("x", "String.custom")}, True),
        ({"a": ["x"]}, {"a": _string("X")}, False),
        ({"a": ["x"]}, {}, False),
        ({"a": ["x"], "b": ["y"]}, {"a": _string("x")}, False),
        ({"a": [{"prefix": "ba"}]}, {"a": _string("basket")}, True),
        ({"a": [{"suffix": "ball"}]}, {"a": _string("basket")}, False),
        ({"a": [{"equals-ignore-case": "BaSe"}]}, {"a": _string("bAsE")}, True),
        ({"a": [{"anything-but": ["x", "y"]}]}, {"a": _string("z")}, True),
        ({"a": [{"anything-but": ["x", "y"]}]}, {"a": _string("y")}, False),
        ({"a": [{"anything-but": ["x"]}]}, {}, False),
        ({"a": [{"anything-but": {"prefix": "ba"}}]}, {"a": _string("rugby")}, True),
        ({"a": [{"anything-but": {"prefix": "ba"}}]}, {"a": _string("base")}, False),
        ({"a": [{"anything-but": 5}]}, {"a": _string("6", "Number")}, True),
        ({"a": [{"anything-but": 5}]}, {"a": _string("5.0", "Number")}, False),
        ({"a": [{"cidr": "10.0.0.0/24"}]}, {"a": _string("10.0.0.255")}, True),
        ({"a": [{"cidr": "10.0.0.0/24"}]}, {"a": _string("10.0.1.0")}, False),
        ({"a": [{"exists": True}]}, {"a": _string("")}, True),
        ({"a": [{"exists": False}]}, {"b": _string("x")}, True),
        ({"a": [{"exists": False}]}, {"a": _string("x")}, False),
        ({"a": ["x"]}, {"a": {"DataType": "Binary", "BinaryValue": b"x"}}, False),
        ({"a": [{"exists": True}]}, {"a": {"DataType": "Binary", "BinaryValue": b"x"}}, False),
        ({"a": [{"exists": False}]}, {"a": {"DataType": "Binary", "BinaryValue": b"x"}}, True),
    ],
)
def test_string_and_key_matching(policy: Any, attributes: dict[str, Any], expected: bool) -> None:
    assert _matches(policy, attributes) is expected


@pytest.mark.parametrize(
    ("policy", "value", "expected"),
    [
        ({"p": [100]}, "100", True),
        ({"p": [100]}, "1.0e2", True),
        ({"p": [100]}, "100.5", False),
        ({"p": [{"numeric": ["=", 3.5]}]}, "3.50", True),
        ({"p": [{"numeric": [">", 0, "<=", 100]}]}, "100", True),
        ({"p": [{"numeric": [">", 0, "<=", 100]}]}, "0", False),
        ({"p": [{"numeric": ["<", -1]}]}, "-1.5", True),
        ({"p": [{"numeric": [">=", 10]}]}, "not-a-number", False),
        ({"p": ["100"]}, "100", False),  # a Number attribute is a number, not the string "100"
    ],
)
def test_number_attributes_compare_numerically(policy: Any, value: str, expected: bool) -> None:
    assert _matches(policy, {"p": _string(value, "Number")}) is expected


def test_a_string_attribute_is_not_a_number() -> None:
    assert not _matches({"p": [100]}, {"p": _string("100")})
    assert not _matches({"p": [{"numeric": [">", 1]}]}, {"p": _string("100")})


@pytest.mark.parametrize(
    ("policy", "value", "expected"),
    [
        ({"a": ["y"]}, '["x", "y"]', True),
        ({"a": ["z"]}, '["x", "y"]', False),
        ({"a": [{"prefix": "y"}]}, '["x", "yes"]', True),
        ({"a": [1]}, '[1, "x"]', True),
        ({"a": [True]}, "[true]", True),
        ({"a": [{"anything-but": ["x"]}]}, '["x", "y"]', True),
        ({"a": [{"anything-but": ["x"]}]}, '["x"]', False),
        ({"a": [{"exists": True}]}, "[]", False),  # an empty array holds no value, as in an event
        ({"a": [{"exists": False}]}, "[]", True),
        ({"a": ["x"]}, "not json", False),
        ({"a": ["x"]}, '"x"', False),
    ],
)
def test_string_array_matches_when_any_element_does(policy: Any, value: str, expected: bool) -> None:
    assert _matches(policy, {"a": _string(value, "String.Array")}) is expected


def test_or_on_attributes() -> None:
    policy = {"$or": [{"a": ["x"]}, {"b": [{"numeric": [">", 5]}]}], "c": ["k"]}
    assert _matches(policy, {"b": _string("6", "Number"), "c": _string("k")})
    assert _matches(policy, {"a": _string("x"), "c": _string("k")})
    assert not _matches(policy, {"a": _string("x")})
    assert not _matches(policy, {"b": _string("5", "Number"), "c": _string("k")})


# -- the message body -------------------------------------------------------------------------------


def test_body_nested_keys_and_arrays() -> None:
    policy = {"order": {"items": {"sku": [{"prefix": "A-"}]}, "total": [{"numeric": [">", 10]}]}}
    body = {"order": {"items": [{"sku": "B-1"}, {"sku": "A-2"}], "total": 11}}
    assert _matches(policy, {}, BODY, json.dumps(body))
    body["order"]["total"] = 9
    assert not _matches(policy, {}, BODY, json.dumps(body))


def test_body_ignores_attributes_and_attributes_ignore_the_body() -> None:
    assert not _matches({"a": ["x"]}, {"a": _string("x")}, BODY, '{"b": "x"}')
    assert not _matches({"a": ["x"]}, {}, ATTRS, '{"a": "x"}')


@pytest.mark.parametrize("message", ["plain text", "[1, 2]", '"x"', "12", "", "{broken"])
def test_a_body_that_is_not_a_json_object_matches_only_an_empty_policy(message: str) -> None:
    assert not _matches({"a": [{"exists": False}]}, {}, BODY, message)
    for empty in ("", "{}", "  "):
        assert compile_filter_policy(empty, BODY).matches(message, {})


def test_empty_policy_matches_everything() -> None:
    for empty in ("", "{}", " { } "):
        assert compile_filter_policy(empty).matches("m", {})
        assert compile_filter_policy(empty).matches("m", {"a": _string("x")})


# -- refusals beyond the recorded ones ---------------------------------------------------------------


def _refusal(policy: Any, scope: str = ATTRS) -> FilterPolicyError:
    text = policy if isinstance(policy, str) else json.dumps(policy)
    with pytest.raises(FilterPolicyError) as caught:
        compile_filter_policy(text, scope)
    return caught.value


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"a": [{"wildcard": "x*"}]}, "Unrecognized match type wildcard"),
        ({"a": [{"exactly": "x"}]}, "Unrecognized match type exactly"),
        (
            {"a": [{"anything-but": {"equals-ignore-case": "x"}}]},
            "Unsupported anything-but pattern: equals-ignore-case",
        ),
        ({"a": []}, "Empty arrays are not allowed"),
        ({"a": [{"exists": "yes"}]}, "exists match pattern must be either true or false."),
        ({"a": [{"numeric": [">", 5, "<", 1]}]}, "Bottom must be less than top"),
        ({"a": [{"prefix": "x", "suffix": "y"}]}, "Only one key allowed in match expression"),
        ("[1]", "Filter is not an object"),
        ('{"a": ["x"', "failed to parse JSON. Unexpected end-of-input: expected close marker for ARRAY "),
    ],
)
def test_refusals(policy: Any, message: str) -> None:
    error = _refusal(policy)
    assert str(error).startswith(message)
    assert error.prefix == "FilterPolicy: "


def test_a_repeated_key_keeps_its_last_value_before_validation() -> None:
    policy = compile_filter_policy('{"a": [], "b": ["y"], "a": ["x"]}')
    assert policy.matches("m", {"a": _string("x"), "b": _string("y")})
    assert str(_refusal('{"a": ["x"], "a": []}')).startswith("Empty arrays are not allowed")


def test_sns_operators_and_engine_errors_come_in_document_order() -> None:
    error = _refusal('{"a": [{"wildcard": "x*"}], "b": []}')
    assert str(error) == (
        "Unrecognized match type wildcard\n"
        ' at [Source: (String)"{"a":[{"wildcard":"x*"}],"b":[]}"; line: 1, column: 20]'
    )
    assert str(_refusal('{"b": [], "a": [{"wildcard": "x*"}]}')).startswith("Empty arrays are not allowed")
    assert str(_refusal('{"a": [{"anything-but": ["x", null]}]}')).count(LOCATION) == 2


def test_long_sources_are_quoted_in_part() -> None:
    policy = {"a": ["x" * 600], "b": "oops"}
    error = str(_refusal(policy))
    assert error.startswith('"b" must be an object or an array\n at [Source: (String)"{"a":["xxx')
    assert '"[truncated 121 chars]; line: 1, column: 616]' in error


def test_syntax_errors_are_located_in_the_policy_as_sent() -> None:
    assert str(_refusal('{\n  "a": [x]}')) == (
        "failed to parse JSON. Unrecognized token 'x': was expecting (JSON String, Number, Array, Object or token "
        "'null', 'true' or 'false')\n at [Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` "
        "disabled); line: 2, column: 10]"
    )


def test_keys_count_leaves_and_the_largest_or_alternative() -> None:
    five = {f"k{i}": ["v"] for i in range(5)}
    compile_filter_policy(json.dumps(five))
    nested = {"a": {"b": ["v"], "c": ["v"]}, "d": {"e": ["v"], "f": ["v"], "g": ["v"]}}
    compile_filter_policy(json.dumps(nested), BODY)
    assert str(_refusal({**nested, "h": ["v"]}, BODY)) == "Filter policy can not have more than 5 keys"
    with_or = {"$or": [{"a": ["v"]}, {"b": ["v"], "c": ["v"]}], "d": ["v"], "e": ["v"]}
    compile_filter_policy(json.dumps({**with_or, "f": ["v"]}))  # b, c, d, e, f
    too_many = {**with_or, "f": ["v"], "g": ["v"]}
    assert str(_refusal(too_many)) == "Filter policy can not have more than 5 keys"


def test_combinations_multiply_values_up_to_150() -> None:
    compile_filter_policy(json.dumps({"a": [str(i) for i in range(150)]}))
    compile_filter_policy(json.dumps({"a": [str(i) for i in range(15)], "b": [str(i) for i in range(10)]}))
    assert str(_refusal({"a": [str(i) for i in range(16)], "b": [str(i) for i in range(10)]})) == (
        "Filter policy is too complex"
    )


def test_nested_combinations_weigh_values_by_depth() -> None:
    compile_filter_policy(json.dumps({"a": {"b": [str(i) for i in range(75)]}}), BODY)  # 75 x depth 2
    assert str(_refusal({"a": {"b": [str(i) for i in range(76)]}}, BODY)) == "Filter policy is too complex"


def test_or_combinations_add_up() -> None:
    half = [str(i) for i in range(75)]
    compile_filter_policy(json.dumps({"$or": [{"a": half}, {"b": half}]}))
    assert str(_refusal({"$or": [{"a": half}, {"b": [*half, "x"]}]})) == "Filter policy is too complex"


def test_a_very_deep_policy_is_too_complex_not_a_crash() -> None:
    deep = '{"a":' * 999 + '["v"]' + "}" * 999
    assert str(_refusal(deep, BODY)) == "Filter policy is too complex"
    assert str(_refusal(deep, ATTRS)).startswith("Filter policy scope MessageAttributes")


def test_nested_policy_on_attributes_is_refused_without_the_attribute_name() -> None:
    error = _refusal({"a": {"b": ["v"]}})
    assert (error.prefix, str(error)) == (
        "",
        "Filter policy scope MessageAttributes does not support nested filter policy",
    )
    assert str(_refusal({"$or": [{"a": ["v"]}, {"b": {"c": ["v"]}}]})).startswith("Filter policy scope")


def test_size_limit_is_256_kb() -> None:
    padding = "x" * (256 * 1024 - len('{"a":[""]}'))
    compile_filter_policy('{"a":["' + padding + '"]}')
    assert str(_refusal('{"a":["' + padding + 'x"]}')) == "Filter policy is too long"


def test_unknown_scope_is_not_a_policy_error() -> None:
    with pytest.raises(ValueError, match="scope") as caught:
        compile_filter_policy('{"a": ["x"]}', "Body")
    assert not isinstance(caught.value, FilterPolicyError)


# -- against an obviously correct reference -----------------------------------------------------------

NAMES = st.sampled_from(["a", "b", "c"])
WORDS = st.sampled_from(["", "x", "xy", "y", "yx"])
NUMBERS = st.integers(-3, 3)


def _reference_value(attribute: dict[str, str]) -> list[Any]:
    """The values SNS compares for one attribute: none for Binary, each element of a String.Array."""
    kind, text = attribute["DataType"], attribute.get("StringValue", "")
    if kind == "Number":
        return [float(text)]
    if kind == "String.Array":
        return list(json.loads(text))
    return [] if kind == "Binary" else [text]


def _reference_test(test: Any, values: list[Any], present: bool) -> bool:
    if isinstance(test, dict) and "exists" in test:
        return present is test["exists"]
    return any(_reference_one(test, v) for v in values)


def _reference_one(test: Any, value: Any) -> bool:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if not isinstance(test, dict):
        return test == value and (isinstance(test, str) is isinstance(value, str))
    if "prefix" in test:
        return isinstance(value, str) and value.startswith(test["prefix"])
    if "anything-but" in test:
        return value not in test["anything-but"] or isinstance(value, str) is not isinstance(
            test["anything-but"][0], str
        )
    low, high = test["numeric"][1], test["numeric"][3]
    return is_number and low < value <= high


def _reference(policy: dict[str, list[Any]], attributes: dict[str, dict[str, str]]) -> bool:
    """A field is present when it has a value: not for Binary, nor for an empty String.Array."""
    values = {name: _reference_value(a) for name, a in attributes.items()}
    return all(
        any(_reference_test(t, values.get(name, []), bool(values.get(name))) for t in tests)
        for name, tests in policy.items()
    )


TESTS = st.one_of(
    WORDS,
    NUMBERS,
    st.builds(lambda p: {"prefix": p}, WORDS),
    st.builds(lambda v: {"anything-but": v}, st.lists(WORDS, min_size=1, max_size=2)),
    st.builds(lambda v: {"anything-but": v}, st.lists(NUMBERS, min_size=1, max_size=2)),
    st.builds(lambda lo, span: {"numeric": [">", lo, "<=", lo + span]}, NUMBERS, st.integers(1, 3)),
    st.builds(lambda e: {"exists": e}, st.booleans()),
)
ATTRIBUTES = st.one_of(
    st.builds(lambda w: {"DataType": "String", "StringValue": w}, WORDS),
    st.builds(lambda n: {"DataType": "Number", "StringValue": str(n)}, NUMBERS),
    st.builds(
        lambda items: {"DataType": "String.Array", "StringValue": json.dumps(items)},
        st.lists(st.one_of(WORDS, NUMBERS), max_size=3),
    ),
    st.just({"DataType": "Binary", "BinaryValue": "eA=="}),
)


@settings(
    max_examples=300, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    st.dictionaries(NAMES, st.lists(TESTS, min_size=1, max_size=3), min_size=1, max_size=3),
    st.dictionaries(NAMES, ATTRIBUTES, max_size=3),
)
def test_matches_the_reference(policy: dict[str, list[Any]], attributes: dict[str, dict[str, str]]) -> None:
    compiled = compile_filter_policy(json.dumps(policy))
    assert compiled.matches("m", attributes) is _reference(policy, attributes)
