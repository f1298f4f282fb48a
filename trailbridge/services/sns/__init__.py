"""Amazon SNS (query protocol), trailbridge's own: topics, subscriptions, their attributes, permissions and
tags, and Publish/PublishBatch delivering to every protocol but firehose. One class per resource; the server
finds their operations by the `@operation` marks.

State: documents on the `Resources` port (so every backend keeps it), `sns-topic` by name in its account and
region, `sns-subscription` beside its topic (the topic's ARN as the scope's parent); `sns-sms-settings`,
`sns-sms-opt-out`, `sns-sms-sandbox` and `sns-sms` (the outbox) per account and region (see `sms`), the push
outbox likewise (see `push`).

Where trailbridge differs from AWS, on purpose or for now:

- SQS, SMS and mobile-push (`application`) deliveries are written in the publish's transaction; HTTP/S,
  lambda and email ones go through the durable delivery queue (`delivery.subscriptions`). A firehose
  subscription's endpoint is checked as SNS checks it, then the subscription is refused (501) rather than
  kept to deliver nothing. Push notifications reach no push service: they are kept in an outbox (`push`).
- SMS reach no carrier: each SMS that would be sent (a Publish with PhoneNumber, or to an `sms` subscription)
  is kept in an outbox (`sms.sent_sms` lists it), unless its number opted out (`sms.opt_out` stands for the
  recipient's STOP). MonthlySpendLimit is kept, not enforced (nothing is spent); no delivery-status logs or
  usage reports are written; an SMS of a topic does not start with the topic's DisplayName.
- FIFO topics take FIFO queues only (a standard queue is refused, as in AWS) and keep no deduplication
  window of their own: the queues they deliver to deduplicate, by the publish's MessageDeduplicationId (or
  the SHA-256 of its message under ContentBasedDeduplication), in its MessageGroupId.
- A delivery to a queue that is gone, or whose policy refuses SNS, goes to the subscription's RedrivePolicy
  dead-letter queue (when it takes it), else is lost; SQS deliveries are local writes, so there is nothing to
  retry. HTTP/S, lambda and email deliveries are retried per delivery policy. No X-Ray header is passed on.
- ListSubscriptions reads every subscription document to find the caller's (made by it, or to its topics);
  SubscriptionPrincipal names the account's root (trailbridge's callers are accounts); an unconfirmed
  subscription stays until it is deleted (AWS drops it after three days).
- JSON messages are signed with the engine's `sns_signer`; an engine without one answers 501 when one is due.
"""

from __future__ import annotations

from trailbridge.services.sns.platform import PlatformService
from trailbridge.services.sns.publish import PublishService
from trailbridge.services.sns.sms import SmsService
from trailbridge.services.sns.subscriptions import SubscriptionsService
from trailbridge.services.sns.tags import TagsService
from trailbridge.services.sns.topics import TopicsService

SNS_CLASSES = (TopicsService, SubscriptionsService, PublishService, TagsService, SmsService, PlatformService)

__all__ = [
    "SNS_CLASSES",
    "PlatformService",
    "PublishService",
    "SmsService",
    "SubscriptionsService",
    "TagsService",
    "TopicsService",
]
