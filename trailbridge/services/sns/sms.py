"""SNS's SMS, as far as a self-hosted service can go: the account's SMS preferences per region, the numbers
that opted out, and an outbox that keeps, durably, every SMS that would be sent (no carrier is reachable).

State, on the `Resources` port: one `sns-sms-settings` document per account and region, an `sns-sms-opt-out`
document per number that ever opted out (kept after it opts in again, for AWS's once-every-30-days rule), and
an `sns-sms` document per SMS in the outbox, named by the time it was sent so that a scan lists them in order,
and an `sns-sms-sandbox` document per destination number of the SMS sandbox (its status and one-time password).
On AWS a recipient opts out by replying STOP; here `opt_out` does it.

The SMS sandbox: on AWS a new account sends SMS only to the (at most 10) numbers it added with
CreateSMSSandboxPhoneNumber and verified with the one-time password SNS texted them. A self-hosted service
has no carrier and so no carrier's sandbox: GetSMSSandboxAccountStatus answers that the account is not in it,
and Publish sends (keeps in the outbox) to any number, verified or not. The sandbox calls still keep, verify,
list and delete numbers as AWS does (its limits and errors included), so that code managing its sandbox list
works unchanged; the one-time password reaches the outbox, where a test reads it as a user reads their phone.
What AWS does only while an account is in the sandbox and that would stop a user here for nothing is not
done: Publish is not restricted to verified numbers, and a number can be deleted at once (AWS waits 24 hours
after its verification or last attempt)."""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from trailbridge.errors import InvalidInputError
from trailbridge.services.base import Engine, ServiceError, page
from trailbridge.services.sns.common import SnsParts, invalid, invalid_parameter, sns_operation
from trailbridge.storage.ports import Scope

SETTINGS, OPT_OUT, OUTBOX, SANDBOX = "sns-sms-settings", "sns-sms-opt-out", "sns-sms", "sns-sms-sandbox"
SMS_TYPES = ("Promotional", "Transactional")
MOST_CHARACTERS = 1600  # an SMS of more parts than this is refused
_OPT_IN_EVERY = 30 * 24 * 3600.0
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_SENDER_ID = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9-]{1,11}")
_SEPARATORS = re.compile(r"[-. ]")
_ROLE = re.compile(r"arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]+")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# AWS's limits of the SMS sandbox (Amazon SNS Developer Guide, "Using the Amazon SNS SMS sandbox" and "Adding
# and verifying phone numbers in the SMS sandbox"): 10 destination numbers an account and region, and a
# one-time password sent to one number at most five times every 24 hours.
SANDBOX_NUMBERS = 10
_SENDS, _SENDS_EVERY = 5, 24 * 3600.0


def _arn(account: str, region: str, what: str) -> str:
    """The key of an SMS document: an SNS ARN no topic or subscription can have (`$` is not in their names)."""
    return f"arn:aws:sns:{region}:{account}:$sms/{what}"


def _integer_between(low: int, high: int | None) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        return value.isdigit() and low <= int(value) and (high is None or int(value) <= high)

    return check


_CHECKS: dict[str, Callable[[str], object]] = {
    "MonthlySpendLimit": _integer_between(0, None),
    "DeliveryStatusIAMRole": _ROLE.fullmatch,
    "DeliveryStatusSuccessSamplingRate": _integer_between(0, 100),
    "DefaultSenderID": _SENDER_ID.fullmatch,
    "DefaultSMSType": SMS_TYPES.__contains__,
    "UsageReportS3Bucket": _BUCKET.fullmatch,
}
_OPTIONS = {"AWS.SNS.SMS.SenderID": "SenderID", "AWS.SNS.SMS.SMSType": "SMSType", "AWS.SNS.SMS.MaxPrice": "MaxPrice"}
_OPTION_CHECKS: dict[str, Callable[[str], object]] = {
    "SenderID": _SENDER_ID.fullmatch,
    "SMSType": SMS_TYPES.__contains__,
    "MaxPrice": re.compile(r"[0-9]+(?:\.[0-9]+)?").fullmatch,
}


def _check_settings(given: Mapping[str, str]) -> None:
    """SetSMSAttributes' checks: a name SNS does not know is `NAME is not a valid attribute` (as recorded from
    AWS); a value that breaks its attribute's rule names the attribute."""
    for name, value in given.items():
        check = _CHECKS.get(name)
        if check is None:
            raise invalid(f"{name} is not a valid attribute")
        if not check(value):
            raise invalid_parameter(name)


def check_phone(number: str, reason: str | None = None) -> str:
    """An E.164 number (`+` and up to 15 digits, separators dropped), as SNS takes it to send an SMS to;
    refused with `reason`, by default Publish's."""
    plain = _SEPARATORS.sub("", number)
    if not _E164.fullmatch(plain):
        raise invalid_parameter(f"PhoneNumber Reason: {reason or f'{number} is not valid to publish to'}")
    return plain


def without_options(attributes: Mapping[str, Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """A publish's message attributes but the `AWS.SNS.SMS.*` ones, which SNS takes despite their reserved
    prefix."""
    return {name: value for name, value in attributes.items() if name not in _OPTIONS}


def check_options(attributes: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """The `AWS.SNS.SMS.*` message attributes a publish gives, by what they set, refused when not valid."""
    chosen = {key: str(attributes[name].get("StringValue")) for name, key in _OPTIONS.items() if name in attributes}
    for name, key in _OPTIONS.items():
        if key in chosen and not _OPTION_CHECKS[key](chosen[key]):
            raise invalid_parameter(f"MessageAttributes Reason: {name} has an invalid value")
    return chosen


def sms_options(
    engine: Engine, account: str, region: str, attributes: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """The sender ID, SMS type and most price of one SMS: the publish's `AWS.SNS.SMS.*` message attributes,
    else the account's defaults (an SMS type of Promotional when none is set, as in AWS)."""
    chosen = check_options(attributes)
    defaults = settings(engine, account, region)
    return {
        "SenderID": chosen.get("SenderID", defaults.get("DefaultSenderID")),
        "SMSType": chosen.get("SMSType", defaults.get("DefaultSMSType", "Promotional")),
        "MaxPrice": chosen.get("MaxPrice"),
    }


def _settings_scope(account: str, region: str) -> Scope:
    return Scope(SETTINGS, account, region)


def settings(engine: Engine, account: str, region: str) -> dict[str, str]:
    """The account's SMS preferences in a region (none set: empty, SNS's defaults apply)."""
    doc = engine.resources.get(_arn(account, region, "settings"))
    return dict(doc["Attributes"]) if doc is not None else {}


def _opt_out_doc(engine: Engine, account: str, region: str, number: str) -> dict[str, Any] | None:
    return engine.resources.get(_arn(account, region, f"opt-out/{number}"))


def _save_opt_out(engine: Engine, account: str, region: str, doc: dict[str, Any]) -> None:
    number = doc["PhoneNumber"]
    arn = _arn(account, region, f"opt-out/{number}")
    engine.resources.put(Scope(OPT_OUT, account, region), number, arn, doc, config=False)


def opted_out(engine: Engine, account: str, region: str, number: str) -> bool:
    doc = _opt_out_doc(engine, account, region, number)
    return doc is not None and bool(doc["OptedOut"])


def opt_out(engine: Engine, account: str, region: str, phone: str) -> None:
    """What a recipient's STOP reply does on AWS: the number (E.164) takes no more SMS from the account in
    this region until OptInPhoneNumber; a Publish to it is dropped."""
    number = check_phone(phone)
    doc = _opt_out_doc(engine, account, region, number) or {"Kind": OPT_OUT, "PhoneNumber": number}
    doc |= {"OptedOut": True, "OptedOutAt": engine.clock.now()}
    _save_opt_out(engine, account, region, doc)


def keep_sms(engine: Engine, account: str, region: str, sms: dict[str, Any]) -> bool:
    """Put an SMS in the outbox, in the caller's transaction, unless its number opted out (SNS drops it then).
    `sms` has PhoneNumber, Message, SenderID, SMSType, MaxPrice, MessageId and TopicArn (None for a direct
    publish); its time is the engine's clock's. True when it was kept."""
    if opted_out(engine, account, region, sms["PhoneNumber"]):
        return False
    now = engine.clock.now()
    name = f"{_stamp(now)}-{sms['MessageId']}"
    doc = {"Kind": OUTBOX, **sms, "Timestamp": now}
    engine.resources.put(Scope(OUTBOX, account, region), name, _arn(account, region, f"sms/{name}"), doc, config=False)
    return True


def _stamp(seconds: float) -> str:
    """A time as a name that sorts as the time does (microseconds, zero-padded)."""
    return f"{round(seconds * 1_000_000):020d}"


def sent_sms(engine: Engine, account: str, region: str, since: float | None = None) -> list[dict[str, Any]]:
    """The SMS kept for an account in a region (sent at or after `since`, epoch seconds, when given), newest
    last: each a dict of PhoneNumber, Message, SenderID, SMSType, MaxPrice, MessageId, TopicArn, Timestamp."""
    after = _stamp(since) if since is not None else ""
    kept = engine.resources.scan(Scope(OUTBOX, account, region), after=after)
    return [{k: v for k, v in doc.items() if k != "Kind"} for doc in kept]


def _sandbox_scope(account: str, region: str) -> Scope:
    return Scope(SANDBOX, account, region)


def _sandbox_doc(engine: Engine, account: str, region: str, number: str) -> dict[str, Any] | None:
    return engine.resources.get(_arn(account, region, f"sandbox/{number}"))


def _save_sandbox(engine: Engine, account: str, region: str, doc: dict[str, Any]) -> None:
    number = doc["PhoneNumber"]
    arn = _arn(account, region, f"sandbox/{number}")
    engine.resources.put(_sandbox_scope(account, region), number, arn, doc, config=False)


def one_time_password() -> str:
    """Six digits from the OS's cryptographically secure source: a password guessed is a number verified."""
    return f"{secrets.randbelow(1_000_000):06d}"


def otp_message(password: str) -> str:
    """The text of the SMS that carries a sandbox number's one-time password. AWS does not document its
    wording (nor its translations for LanguageCode); this is trailbridge's, in English whatever the language."""
    return f"Your verification code is {password}"


def _user_error(message: str) -> ServiceError:
    """AWS's UserError (400). The messages of the sandbox's errors are trailbridge's: AWS documents each
    error's code and status, not its text, and none is recorded in the corpus."""
    return ServiceError("UserError", message)


def _no_sandbox_number() -> ServiceError:
    return ServiceError("ResourceNotFound", "The phone number is not a destination number of the SMS sandbox", 404)


class SmsService(SnsParts):
    """The account's SMS settings, opt-outs and SMS sandbox, per region."""

    @sns_operation("SetSMSAttributes")
    def set_sms_attributes(self, **params: Any) -> dict[str, Any]:
        given: dict[str, str] = params["attributes"]
        _check_settings(given)
        doc = {"Kind": SETTINGS, "Attributes": settings(self.engine, self.account, self.region) | given}
        arn = _arn(self.account, self.region, "settings")
        self.resources.put(_settings_scope(self.account, self.region), "settings", arn, doc, config=False)
        return {}

    @sns_operation("GetSMSAttributes")
    def get_sms_attributes(self, **params: Any) -> dict[str, Any]:
        """Every preference set, or only those `attributes` names (a name not set is left out, as in AWS)."""
        stored = settings(self.engine, self.account, self.region)
        wanted = params.get("attributes")
        return {"attributes": {k: v for k, v in stored.items() if not wanted or k in wanted}}

    @sns_operation("CheckIfPhoneNumberIsOptedOut")
    def check_if_phone_number_is_opted_out(self, **params: Any) -> dict[str, Any]:
        number = self._number(params["phoneNumber"])
        return {"isOptedOut": opted_out(self.engine, self.account, self.region, number)}

    @sns_operation("ListPhoneNumbersOptedOut")
    def list_phone_numbers_opted_out(self, **params: Any) -> dict[str, Any]:
        """100 numbers a page, in order."""
        every = self.resources.scan(Scope(OPT_OUT, self.account, self.region))
        out = [doc for doc in every if doc["OptedOut"]]
        try:
            chosen, following = page(out, "PhoneNumber", params.get("nextToken"), 100)
        except InvalidInputError:
            raise invalid_parameter("nextToken") from None
        answer: dict[str, Any] = {"phoneNumbers": [doc["PhoneNumber"] for doc in chosen]}
        return answer | ({"nextToken": following} if following else {})

    @sns_operation("OptInPhoneNumber")
    def opt_in_phone_number(self, **params: Any) -> dict[str, Any]:
        """AWS's rule: a number can be opted in once every 30 days. A number not opted out is left as it is."""
        number = self._number(params["phoneNumber"])
        doc = _opt_out_doc(self.engine, self.account, self.region, number)
        if doc is None or not doc["OptedOut"]:
            return {}
        now, last = self.engine.clock.now(), doc.get("OptedInAt")
        if last is not None and now - last < _OPT_IN_EVERY:
            raise invalid_parameter("PhoneNumber Reason: it was opted in less than 30 days ago")
        doc |= {"OptedOut": False, "OptedInAt": now}
        _save_opt_out(self.engine, self.account, self.region, doc)
        return {}

    @sns_operation("GetSMSSandboxAccountStatus")
    def get_sms_sandbox_account_status(self, **params: Any) -> dict[str, Any]:
        """Never in the sandbox: a self-hosted service reaches no carrier, so it has no carrier's sandbox to
        keep a new account in, and Publish sends to any number, verified or not (see the module's notes)."""
        return {"IsInSandbox": False}

    @sns_operation("CreateSMSSandboxPhoneNumber")
    def create_sms_sandbox_phone_number(self, **params: Any) -> dict[str, Any]:
        """Add a number as Pending and text it a new one-time password (through the outbox); again for a
        Pending number, a new password replaces the old one (AWS's resend, at most 5 sends in 24 hours)."""
        number = self._number(params["PhoneNumber"])
        if opted_out(self.engine, self.account, self.region, number):
            raise ServiceError("OptedOut", "The phone number has opted out of receiving SMS from this account")
        doc, now = self._pending(number), self.engine.clock.now()
        sends = [at for at in doc.get("Sends", []) if now - at < _SENDS_EVERY]
        if len(sends) >= _SENDS:
            raise _user_error(f"A one-time password is sent to a phone number at most {_SENDS} times in 24 hours")
        password = one_time_password()
        doc |= {"LanguageCode": params.get("LanguageCode", "en-US"), "OneTimePassword": password}
        doc["Sends"] = [*sends, now]
        _save_sandbox(self.engine, self.account, self.region, doc)
        self._text(number, otp_message(password))
        return {}

    @sns_operation("VerifySMSSandboxPhoneNumber")
    def verify_sms_sandbox_phone_number(self, **params: Any) -> dict[str, Any]:
        """The password last texted to the number makes it Verified; a number already verified stays so."""
        doc = self._sandbox_number(params["PhoneNumber"])
        if doc["Status"] == "Verified":
            return {}
        if not hmac.compare_digest(doc["OneTimePassword"], params["OneTimePassword"]):
            # VerificationException has no code of its own in the model: its shape's name is the code.
            fields = {"Status": doc["Status"]}
            raise ServiceError("VerificationException", "The one-time password is not valid", 400, fields)
        doc |= {"Status": "Verified", "OneTimePassword": None, "VerifiedAt": self.engine.clock.now()}
        _save_sandbox(self.engine, self.account, self.region, doc)
        return {}

    @sns_operation("ListSMSSandboxPhoneNumbers")
    def list_sms_sandbox_phone_numbers(self, **params: Any) -> dict[str, Any]:
        """The account's sandbox numbers in the region, in order, MaxResults (1-100, by default 100) a page."""
        every = self.resources.scan(_sandbox_scope(self.account, self.region))
        shown = [{"PhoneNumber": doc["PhoneNumber"], "Status": doc["Status"]} for doc in every]
        chosen, following = self._page(shown, params)
        return {"PhoneNumbers": chosen} | ({"NextToken": following} if following else {})

    @sns_operation("DeleteSMSSandboxPhoneNumber")
    def delete_sms_sandbox_phone_number(self, **params: Any) -> dict[str, Any]:
        """At once, Pending or Verified (AWS's 24-hour wait is a sandbox restriction; see the module's notes)."""
        doc = self._sandbox_number(params["PhoneNumber"])
        self.resources.delete(_arn(self.account, self.region, f"sandbox/{doc['PhoneNumber']}"))
        return {}

    @sns_operation("ListOriginationNumbers")
    def list_origination_numbers(self, **params: Any) -> dict[str, Any]:
        """No number is provisioned from a carrier here, so every page is empty; MaxResults (1-30) and the
        NextToken's form are checked as for the other lists."""
        chosen, _ = self._page([], params)
        return {"PhoneNumbers": chosen}

    def _pending(self, number: str) -> dict[str, Any]:
        """A Pending number's document, a new one when there is room for it; a Verified number is refused."""
        doc = _sandbox_doc(self.engine, self.account, self.region, number)
        if doc is not None and doc["Status"] == "Verified":
            raise _user_error("The phone number is already verified in the SMS sandbox")
        if doc is not None:
            return doc
        if self.resources.count(_sandbox_scope(self.account, self.region)) >= SANDBOX_NUMBERS:
            raise _user_error(f"The SMS sandbox holds at most {SANDBOX_NUMBERS} destination phone numbers")
        return {"Kind": SANDBOX, "PhoneNumber": number, "Status": "Pending", "CreatedAt": self.engine.clock.now()}

    def _sandbox_number(self, phone: str) -> dict[str, Any]:
        doc = _sandbox_doc(self.engine, self.account, self.region, self._number(phone))
        if doc is None:
            raise _no_sandbox_number()
        return doc

    def _text(self, number: str, message: str) -> None:
        """Send an SMS of SNS's own (a one-time password): transactional, from the account's sender ID."""
        options = sms_options(self.engine, self.account, self.region, {}) | {"SMSType": "Transactional"}
        sms = {"PhoneNumber": number, "Message": message, **options, "MessageId": self.engine.new_id()}
        keep_sms(self.engine, self.account, self.region, sms | {"TopicArn": None})

    @staticmethod
    def _page(items: list[dict[str, Any]], params: Mapping[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
        try:
            return page(items, "PhoneNumber", params.get("NextToken"), params.get("MaxResults"))
        except InvalidInputError:
            raise invalid_parameter("NextToken") from None

    @staticmethod
    def _number(phone: str) -> str:
        return check_phone(phone, "input incorrectly formatted")
