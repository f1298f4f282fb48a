"""Who may act on a resource: the one decision every service, and the delivery path, asks.

A request is an account (the caller's, or the account on whose behalf a service acts), an action
(`events:PutRule`), the ARN it acts on, optionally the service principal acting (`events.amazonaws.com`
for a rule's delivery) and the condition keys that come with it (`aws:SourceArn`, `events:creatorAccount`).
The decision follows AWS's evaluation of a resource-based policy:

1. an explicit `Deny` statement that matches refuses, whoever asks;
2. the resource's owner (the account in its ARN) may act, and so may `account` on the resources of the
   accounts it is given as `owners` (a rule acts for its creator too: its targets may be the creator's);
3. another account may act only where an `Allow` statement matches: its principal names the account
   (`"*"`, `{"AWS": "111122223333"}`, `{"AWS": "arn:aws:iam::111122223333:root"}`) or the acting service
   (`{"Service": "events.amazonaws.com"}`), its action and resource match (`*` and `?` wildcards, actions
   case-insensitively), and every condition holds.

Conditions understood: the String*, Arn* and Bool operators (with `IfExists`) and `Null`, over the keys the
request carries. A condition on a key the request does not carry is false, and a negated one (`StringNotEquals`)
true, as in AWS, so a statement that names an organization (`aws:PrincipalOrgID`; trailbridge has no
organizations) never grants. An operator trailbridge does not evaluate fails closed: a `Deny` it qualifies
refuses, an `Allow` does not grant. An IAM principal other
than an account root (a user or role ARN) is not matched: trailbridge's callers are accounts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson

from trailbridge.errors import AccessDeniedError

_ACCOUNT = re.compile(r"\d{12}")
_ROOT = re.compile(r"arn:aws[\w-]*:iam::(\d{12}):root")


@dataclass(frozen=True)
class Access:
    """One request to act on a resource."""

    account: str
    action: str
    resource: str
    service: str | None = None  # the service principal acting for `account`, if one is
    context: Mapping[str, str] = field(default_factory=dict)  # condition keys and their values
    owners: frozenset[str] = frozenset()  # other accounts whose resources `account` may use as its own


def owner_of(arn: str) -> str:
    """The account in an ARN (empty when it names none)."""
    parts = arn.split(":", 5)
    return parts[4] if len(parts) == 6 else ""


def allowed(access: Access, policy: str | Mapping[str, Any] | None, *, owner_acts: bool = True) -> bool:
    """`owner_acts` False: the owner too needs an `Allow` (a service principal publishing to an SNS topic)."""
    statements = statements_of(policy)
    if any(s.get("Effect") == "Deny" and _applies(s, access) for s in statements):
        return False
    owner = owner_of(access.resource)
    if owner_acts and (owner == access.account or owner in access.owners):
        return True
    return any(s.get("Effect") == "Allow" and _applies(s, access) for s in statements)


def authorize(access: Access, policy: str | Mapping[str, Any] | None, *, owner_acts: bool = True) -> None:
    """Raise AccessDeniedError, with AWS's message, unless `access` is allowed."""
    if not allowed(access, policy, owner_acts=owner_acts):
        who = f"arn:aws:iam::{access.account}:root"
        raise AccessDeniedError(
            f"User: {who} is not authorized to perform: {access.action} on resource: {access.resource} "
            f"because no resource-based policy allows the {access.action} action"
        )


def statements_of(policy: str | Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """The statements of a policy document (given as text or parsed); a malformed one has none."""
    if not policy:
        return []
    document = _parsed(policy) if isinstance(policy, str) else policy
    found = document.get("Statement") if isinstance(document, Mapping) else None
    found = [found] if isinstance(found, Mapping) else found
    return [s for s in found if isinstance(s, Mapping)] if isinstance(found, list) else []


@lru_cache(maxsize=1024)
def _parsed(policy: str) -> Any:
    try:
        return orjson.loads(policy)
    except orjson.JSONDecodeError:
        return None


def _applies(statement: Mapping[str, Any], access: Access) -> bool:
    return (
        _either(statement, "Principal", "NotPrincipal", lambda p: _principal_matches(p, access))
        and _either(statement, "Action", "NotAction", lambda a: _any_like(a, access.action, fold=True))
        and _either(statement, "Resource", "NotResource", lambda r: _any_like(r, access.resource), default=True)
        and _conditions_hold(statement.get("Condition"), access.context, statement.get("Effect") == "Deny")
    )


def _either(statement: Mapping[str, Any], key: str, negated: str, test: Any, *, default: bool = False) -> bool:
    if key in statement:
        return bool(test(statement[key]))
    if negated in statement:
        return not test(statement[negated])
    return default


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _principal_matches(principal: Any, access: Access) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    accounts = _listed(principal.get("AWS", []))
    services = _listed(principal.get("Service", []))
    return any(_names_account(p, access.account) for p in accounts) or (
        access.service is not None and access.service in services
    )


def _names_account(principal: Any, account: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, str):
        return False
    root = _ROOT.fullmatch(principal)
    return (root.group(1) if root else principal if _ACCOUNT.fullmatch(principal) else None) == account


def _any_like(patterns: Any, value: str, *, fold: bool = False) -> bool:
    return any(isinstance(p, str) and _like(p, value, fold) for p in _listed(patterns))


def _like(pattern: str, value: str, fold: bool = False) -> bool:
    """IAM's wildcard match: `*` any run of characters, `?` one character, nothing else special."""
    return _wildcard(pattern, fold).fullmatch(value) is not None


@lru_cache(maxsize=4096)
def _wildcard(pattern: str, fold: bool) -> re.Pattern[str]:
    text = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(text, re.IGNORECASE | re.DOTALL if fold else re.DOTALL)


def _conditions_hold(conditions: Any, context: Mapping[str, str], deny: bool) -> bool:
    """Whether every condition holds. One trailbridge cannot evaluate (an unknown operator, a malformed block)
    fails closed: it holds in a `Deny` statement (which then refuses) and not in an `Allow` (which then does
    not grant)."""
    if conditions is None:
        return True
    if not isinstance(conditions, Mapping):
        return deny
    return all(
        all(_holds(operator, key, expected, context, deny) for key, expected in pairs.items())
        if isinstance(pairs, Mapping)
        else deny
        for operator, pairs in conditions.items()
    )


_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda e, v: e == v,
    "StringNotEquals": lambda e, v: e != v,
    "StringEqualsIgnoreCase": lambda e, v: e.casefold() == v.casefold(),
    "StringNotEqualsIgnoreCase": lambda e, v: e.casefold() != v.casefold(),
    "StringLike": _like,
    "StringNotLike": lambda e, v: not _like(e, v),
    "ArnEquals": lambda e, v: e == v,
    "ArnNotEquals": lambda e, v: e != v,
    "ArnLike": _like,
    "ArnNotLike": lambda e, v: not _like(e, v),
    "Bool": lambda e, v: e.lower() == v.lower(),
}
_NEGATED = frozenset(name for name in _OPERATORS if "Not" in name)


def _holds(operator: str, key: str, expected: Any, context: Mapping[str, str], deny: bool) -> bool:
    """One condition: for a negated operator the value must differ from every one listed, for the others
    match one of them. A key the request does not carry: true under `...IfExists` and for a negated operator
    (`StringNotEquals`: nothing is not equal), false otherwise, as in AWS. `Null` tests whether the key is
    absent ("true") or present ("false")."""
    actual = _context_value(context, key)
    if operator == "Null":
        return any(str(value).lower() == ("true" if actual is None else "false") for value in _listed(expected))
    if_exists = operator.endswith("IfExists")
    test = _OPERATORS.get(operator.removesuffix("IfExists"))
    if test is None:
        return deny  # an operator trailbridge does not evaluate fails closed (see `_conditions_hold`)
    if actual is None:
        return if_exists or operator.removesuffix("IfExists") in _NEGATED
    values = [str(v).lower() if isinstance(v, bool) else v for v in _listed(expected) if isinstance(v, str | bool)]
    results: Iterable[bool] = (test(v, actual) for v in values)
    return all(results) if operator.removesuffix("IfExists") in _NEGATED else any(results)


def _context_value(context: Mapping[str, str], key: str) -> str | None:
    """Condition keys are case-insensitive."""
    folded = key.casefold()
    return next((value for name, value in context.items() if name.casefold() == folded), None)
