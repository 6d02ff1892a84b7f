"""Prometheus metrics — 运行指标: requests by route and status, latency, verdicts.

Every label takes its values from a fixed set: a route template (or ``unmatched``), one of the
standard methods (or ``other``), a status code, a verdict — so requests cannot grow the
number of series.

Each app has its own registry, so several apps in one process (tests) do not collide. The
counters live in process memory: with several uvicorn workers each worker counts its own
requests and a scrape reaches one of them. Aggregating across workers (prometheus-client's
multiprocess mode) is not set up; scrape per worker, or sum at the load balancer.
"""

from __future__ import annotations

import time
from typing import Final

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CONTENT_TYPE", "Metrics", "MetricsMiddleware"]

CONTENT_TYPE: Final = CONTENT_TYPE_LATEST
# Requests that match no route share one label, so random paths cannot grow the label set;
# likewise for methods: the standard ones keep their name, any other is "other".
_UNMATCHED: Final = "unmatched"
_METHODS: Final = frozenset({"GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"})
_OTHER_METHOD: Final = "other"
_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """The service's metrics in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "ezz_http_requests",
            "HTTP requests answered, by route template, method and status",
            ("route", "method", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "ezz_http_request_duration_seconds",
            "Time from receiving a request to the end of its response, by route template",
            ("route", "method"),
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.verifications = Counter(
            "ezz_verifications",
            "Verifications acknowledged (audited and answered), by kind and verdict",
            ("kind", "verdict"),
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts and times every HTTP request (a plain ASGI middleware: no body buffering)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or _UNMATCHED
            method = str(scope.get("method", ""))
            if method not in _METHODS:
                method = _OTHER_METHOD
            self.metrics.requests.labels(template, method, str(status)).inc()
            self.metrics.latency.labels(template, method).observe(time.perf_counter() - started)
