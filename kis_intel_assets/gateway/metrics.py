"""Prometheus metrics of one gateway process (its own registry, so tests can run several gateways)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

WAIT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0)


class GatewayMetrics:
    def __init__(self, class_names: tuple[str, ...]) -> None:
        self.registry = CollectorRegistry()

        def counter(name: str, text: str, *labels: str) -> Counter:
            return Counter(f"kis_gateway_{name}", text, labels, registry=self.registry)

        def histogram(name: str, text: str, buckets: tuple[float, ...]) -> Histogram:
            return Histogram(
                f"kis_gateway_{name}", text, ["client", "tr_id"], buckets=buckets, registry=self.registry
            )

        self.requests = counter(
            "requests", "Requests answered, by client, TR ID and HTTP status", "client", "tr_id", "status"
        )
        self.queue_wait = histogram(
            "queue_wait_seconds",
            "Time from arrival until sent upstream (fair queue + shared budget)",
            WAIT_BUCKETS,
        )
        self.upstream_latency = histogram(
            "upstream_latency_seconds", "Upstream round trip of one attempt", LATENCY_BUCKETS
        )
        self.retries = counter(
            "retries", "Upstream attempts repeated inside the gateway", "client", "tr_id", "reason"
        )
        self.rate_limited = counter(
            "egw00201", "EGW00201 answers from upstream (retried, not shown to clients)", "client", "tr_id"
        )
        self.rate_limited_passed = counter(
            "egw00201_passed_on", "EGW00201 answers handed to a client after every retry", "client", "tr_id"
        )
        self.token_issuances = counter("token_issuances", "Real access tokens issued by KIS for this gateway")
        self.client_tokens = counter(
            "client_tokens", "/oauth2/tokenP answered from the shared token store", "client"
        )
        self.refused = counter("refused", "Requests refused without forwarding", "reason")
        self.queued = Gauge(
            "kis_gateway_queued", "Requests waiting per priority class", ["priority"], registry=self.registry
        )
        self.in_flight = Gauge(
            "kis_gateway_in_flight", "Client requests accepted and not yet answered", registry=self.registry
        )
        self._class_names = class_names

    def set_queue_depth(self, depths: list[int]) -> None:
        for name, depth in zip(self._class_names, depths, strict=True):
            self.queued.labels(priority=name).set(depth)

    def render(self) -> bytes:
        return generate_latest(self.registry)
