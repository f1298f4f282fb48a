"""Durable, at-least-once delivery: the dispatcher, retry policy, dead-letter queues, target invokers."""
