"""Prometheus metrics at `GET /metrics`: requests by service, operation and status with their latency, the
bus metrics (per rule and target, names as CloudWatch's AWS/Events namespace), delivery latency, and the
deliveries waiting."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from trailbridge.metrics import Metrics

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class _BusCollector(Collector):
    def __init__(self, metrics: Metrics, pending: Callable[[], int]) -> None:
        self.metrics, self.pending = metrics, pending

    def collect(self) -> Iterator[Metric]:
        families: dict[str, CounterMetricFamily] = {}
        for item in self.metrics.snapshot():
            name = item["Metric"]
            if name not in families:
                families[name] = CounterMetricFamily(
                    f"trailbridge_events_{_snake(name)}", f"EventBridge metric {name}", labels=["rule_arn", "target_id"]
                )
            families[name].add_metric([item["RuleArn"], item["TargetId"]], item["Value"])
        yield from families.values()
        latency = GaugeMetricFamily(
            "trailbridge_delivery_latency_seconds",
            "Ingestion-to-invocation latency over recent deliveries",
            labels=["quantile"],
        )
        for quantile, value in self.metrics.latency().items():
            if quantile != "count":
                latency.add_metric([quantile], value)
        yield latency
        yield GaugeMetricFamily("trailbridge_pending_deliveries", "Deliveries not yet done", value=self.pending())


class ServerMetrics:
    def __init__(self, metrics: Metrics, pending: Callable[[], int]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "trailbridge_requests",
            "API requests",
            ["service", "operation", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "trailbridge_request_seconds",
            "API request latency",
            ["service", "operation"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25),
        )
        self.registry.register(_BusCollector(metrics, pending))

    def observe(self, service: str, operation: str, status: int, seconds: float) -> None:
        self.requests.labels(service, operation, str(status)).inc()
        self.latency.labels(service, operation).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
