"""Amazon SNS (query protocol), trailbridge's own: topics, subscriptions, their attributes, permissions and
tags, and Publish/PublishBatch delivering to trailbridge's SQS queues. One class per resource; the server
finds their operations by the `@operation` marks."""

from __future__ import annotations

from trailbridge.services.sns.publish import PublishService
from trailbridge.services.sns.subscriptions import SubscriptionsService
from trailbridge.services.sns.tags import TagsService
from trailbridge.services.sns.topics import TopicsService

SNS_CLASSES = (TopicsService, SubscriptionsService, PublishService, TagsService)

__all__ = ["SNS_CLASSES", "PublishService", "SubscriptionsService", "TagsService", "TopicsService"]
