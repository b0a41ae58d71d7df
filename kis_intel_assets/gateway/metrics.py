"""Prometheus metrics of one gateway process (its own registry, so tests can run several gateways)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

WAIT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0)


class GatewayMetrics:
    def __init__(self, class_names: tuple[str, ...]) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.requests = Counter(
            "kis_gateway_requests",
            "Requests answered, by client, TR ID and HTTP status",
            ["client", "tr_id", "status"],
            registry=registry,
        )
        self.queue_wait = Histogram(
            "kis_gateway_queue_wait_seconds",
            "Time from arrival until sent upstream (fair queue + shared budget)",
            ["client", "tr_id"],
            buckets=WAIT_BUCKETS,
            registry=registry,
        )
        self.upstream_latency = Histogram(
            "kis_gateway_upstream_latency_seconds",
            "Upstream round trip of one attempt",
            ["client", "tr_id"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.retries = Counter(
            "kis_gateway_retries",
            "Upstream attempts repeated inside the gateway",
            ["client", "tr_id", "reason"],
            registry=registry,
        )
        self.rate_limited = Counter(
            "kis_gateway_egw00201",
            "EGW00201 answers from upstream (retried, not shown to the client)",
            ["client", "tr_id"],
            registry=registry,
        )
        self.rate_limited_passed = Counter(
            "kis_gateway_egw00201_passed_on",
            "EGW00201 answers handed to a client after every retry",
            ["client", "tr_id"],
            registry=registry,
        )
        self.token_issuances = Counter(
            "kis_gateway_token_issuances",
            "Real access tokens issued by KIS for this gateway",
            registry=registry,
        )
        self.client_tokens = Counter(
            "kis_gateway_client_tokens",
            "/oauth2/tokenP answered from the shared token store",
            ["client"],
            registry=registry,
        )
        self.refused = Counter(
            "kis_gateway_refused", "Requests refused without forwarding", ["reason"], registry=registry
        )
        self.queued = Gauge(
            "kis_gateway_queued", "Requests waiting per priority class", ["priority"], registry=registry
        )
        self.in_flight = Gauge(
            "kis_gateway_in_flight", "Client requests accepted and not yet answered", registry=registry
        )
        self._class_names = class_names

    def set_queue_depth(self, depths: list[int]) -> None:
        for name, depth in zip(self._class_names, depths, strict=True):
            self.queued.labels(priority=name).set(depth)

    def render(self) -> bytes:
        return generate_latest(self.registry)
