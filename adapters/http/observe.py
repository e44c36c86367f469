"""Every request's access line and metrics, and its correlation id (decision 0045).

The line names the route template (`/v1/contacts/{contact_id}`), never the path as sent
nor its query string, which can hold personal data (`?q=ada@example.org`); nor the
client's address, which is personal data too. The correlation id is the client's
`X-Request-Id` when it is a plain token, else a new uuid4: the endpoint records it in the
events' `meta`, and the answer sends it back in `X-Request-Id`.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any
from uuid import uuid4

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.http.metrics import HttpMetrics

log = logging.getLogger("contact_ledger.access")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
CORRELATION = "ledger.correlation_id"  # where the endpoint finds it in the ASGI scope
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # a path no route knows: its text is the client's, never logged


def correlation_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            given = value.decode("latin-1")
            return given if REQUEST_ID.match(given) else str(uuid4())
    return str(uuid4())


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    return str(getattr(route, "path", UNMATCHED)) if route is not None else UNMATCHED


class Observed:
    """ASGI middleware: times each HTTP request, counts it and logs one line for it."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        scope[CORRELATION] = correlation = correlation_id(scope)
        answered: dict[str, Any] = {"status": 500}  # unless the app says otherwise

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                answered["status"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", correlation.encode())]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self._record(scope, answered["status"], time.perf_counter() - started, correlation)

    def _record(self, scope: Scope, status: int, seconds: float, correlation: str) -> None:
        method = scope["method"] if scope["method"] in METHODS else "other"
        route = route_template(scope)
        self.metrics.observe(method, route, status, seconds)
        log.info(
            "%s %s %s %.1f ms",
            method,
            route,
            status,
            seconds * 1000,
            extra={
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 1),
                "correlation_id": correlation,
            },
        )
