"""Prometheus figures of the portal, served by the gateway at /metrics.

HTTP and RPC figures are counted in this process as requests pass; the state of the services
(up or down, events handled, parked messages, cases at risk / overdue) is asked of each service
at scrape time through its ``stats`` RPC, so the figures reflect a stopped service at once."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry()
HTTP_REQUESTS = Counter(
    "portal_http_requests",
    "HTTP requests by route, method and status",
    ["route", "method", "status"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "portal_http_request_duration_seconds",
    "HTTP request latency by route",
    ["route", "method"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
RPC_CALLS = Counter(
    "portal_rpc_calls", "RPC calls from the gateway by service and method", ["service", "method"], registry=REGISTRY
)
RPC_ERRORS = Counter(
    "portal_rpc_errors",
    "RPC calls that failed, by service, method and error code",
    ["service", "method", "code"],
    registry=REGISTRY,
)
SERVICE_UP = Gauge("portal_service_up", "1 when the service answered its health RPC", ["service"], registry=REGISTRY)
EVENTS_HANDLED = Gauge(
    "portal_events_handled", "events the service has handled (all time)", ["service"], registry=REGISTRY
)
PARKED = Gauge(
    "portal_parked_messages",
    "messages parked after their last retry, awaiting an operator",
    ["service"],
    registry=REGISTRY,
)
CASES = Gauge(
    "portal_open_cases_flagged", "open cases at risk / overdue at the last deadline sweep", ["flag"], registry=REGISTRY
)
IN_FLIGHT = Gauge(
    "portal_filings_in_flight", "filings this gateway process has at the service now", ["service"], registry=REGISTRY
)
BUSY = Counter(
    "portal_service_busy",
    "filings answered 503 service_busy (the service had enough in flight)",
    ["service"],
    registry=REGISTRY,
)
DEPENDENCY_UP = Gauge("portal_dependency_up", "1 when the broker / database answers", ["dependency"], registry=REGISTRY)


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(route, method, str(status)).inc()
    HTTP_LATENCY.labels(route, method).observe(seconds)


def observe_rpc(service: str, method: str, error_code: str | None) -> None:
    RPC_CALLS.labels(service, method).inc()
    if error_code:
        RPC_ERRORS.labels(service, method, error_code).inc()


def set_in_flight(service: str, count: int) -> None:
    IN_FLIGHT.labels(service).set(count)


def observe_busy(service: str) -> None:
    BUSY.labels(service).inc()


def record_state(health: dict, stats: dict[str, dict]) -> None:
    DEPENDENCY_UP.labels("broker").set(health["broker"]["status"] == "ok")
    DEPENDENCY_UP.labels("database").set(health["database"]["status"] == "ok")
    for service, state in health["services"].items():
        SERVICE_UP.labels(service).set(state["status"] == "ok")
        figures = stats.get(service)
        if not figures:
            continue  # a stopped service keeps its last figures; portal_service_up says it is down
        EVENTS_HANDLED.labels(service).set(figures.get("events_handled", 0))
        PARKED.labels(service).set(figures.get("parked_messages", 0))
        if "cases_at_risk" in figures:
            CASES.labels("at_risk").set(figures["cases_at_risk"])
            CASES.labels("overdue").set(figures["cases_overdue"])


def exposition() -> bytes:
    return generate_latest(REGISTRY)
