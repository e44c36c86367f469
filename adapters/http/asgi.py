"""The Starlette application: endpoints, health, metrics, OpenAPI and its page, errors."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from adapters.http.aside import AsideTimeoutError, run_aside
from adapters.http.docs import docs_asset, docs_page
from adapters.http.endpoint import Endpoint, Runtime, asgi_endpoint
from adapters.http.errors import (
    HttpError,
    handle_http_problem,
    handle_starlette_http,
    handle_unexpected,
)
from adapters.http.metrics import HttpMetrics, metrics_answer
from adapters.http.observe import Observed
from adapters.http.openapi import openapi_document
from adapters.http.routes import ENDPOINTS
from adapters.projector import ELSEWHERE, RETRYING, STOPPED, LiveState
from adapters.threads import described
from adapters.web.routes import web_routes

HEALTH_DATABASE_SECONDS = 1.0  # the longest /health waits for the database


def create_http_app(runtime: Runtime, endpoints: tuple[Endpoint, ...] = ENDPOINTS) -> Starlette:
    document = openapi_document(endpoints)

    async def health(_request: Request) -> Response:
        return await _health(runtime)

    async def openapi(_request: Request) -> Response:  # listed in the document too
        return JSONResponse(document)

    metrics = HttpMetrics()

    async def scrape(request: Request) -> Response:
        return await metrics_answer(request, runtime, metrics, runtime.metrics_token)

    routes: list[BaseRoute] = [
        Route("/health", health),
        Route("/openapi.json", openapi),
        Route("/metrics", scrape),
        Route("/docs", docs_page),
        Route("/docs/{asset}", docs_asset),
    ]
    by_path: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        by_path.setdefault(endpoint.path, {})[endpoint.method] = asgi_endpoint(endpoint, runtime)
    routes += [
        Route(path, _dispatch(methods), methods=list(methods)) for path, methods in by_path.items()
    ]
    routes += web_routes(runtime)  # the back office, at / (docs/ui.md)
    return Starlette(
        routes=routes,
        middleware=[Middleware(Observed, metrics=metrics)],
        exception_handlers={
            HttpError: handle_http_problem,
            HTTPException: handle_starlette_http,
            Exception: handle_unexpected,
        },
    )


def _dispatch(methods: dict[str, Any]) -> Any:
    async def route(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await methods[method](request)  # type: ignore[no-any-return]

    return route


async def _health(runtime: Runtime) -> Response:
    """The service's state (decision 0033): 200 "ok"; 503 "failed" when a projection
    stopped on an event it cannot apply, naming it, its position and the error; 503
    "degraded" while a projection reconnects or the database does not answer within 1 s.

    It takes no thread of the request pool: a projector following the log in this process
    answers from memory, and the one query (the log head, and the position of projections
    followed elsewhere) runs aside with a deadline.
    """
    live = {name: projector.live() for name, projector in runtime.projectors.items()}
    elsewhere = [runtime.projectors[name].store for name, state in live.items() if state is None]

    def from_database() -> tuple[int | None, dict[str, int]]:
        head = runtime.ledger.recorder.max_notification_id()
        return head, {store.name: store.position() for store in elsewhere}

    database: str | None = None
    head: int | None = None
    positions: dict[str, int] = {}
    try:
        head, positions = await run_aside(from_database, HEALTH_DATABASE_SECONDS)
    except AsideTimeoutError:
        database = f"no answer within {HEALTH_DATABASE_SECONDS:.0f} s"
    except Exception as error:  # the database is what health reports on: say what it said
        database = described(error)
    known_head = None if database is not None else head or 0
    projections = {
        name: _projection(state, positions.get(name), known_head) for name, state in live.items()
    }
    states = {p["state"] for p in projections.values()}
    status = (
        "failed"
        if STOPPED in states
        else "degraded"
        if database is not None or RETRYING in states
        else "ok"
    )
    body = {"status": status, "position": head, "database": database, "projections": projections}
    return JSONResponse(body, 200 if status == "ok" else 503)


def _projection(live: LiveState | None, stored: int | None, head: int | None) -> dict[str, Any]:
    state, position, error = (
        (ELSEWHERE, stored, None) if live is None else (live.state, live.position, live.error)
    )
    lag = None if head is None or position is None else max(0, head - position)
    return {"state": state, "position": position, "head": head, "lag": lag, "error": error}
