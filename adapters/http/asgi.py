"""The Starlette application: endpoints, health, OpenAPI and error handlers."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.http.endpoint import Endpoint, Runtime, asgi_endpoint
from adapters.http.errors import (
    HttpError,
    handle_http_problem,
    handle_starlette_http,
    handle_unexpected,
)
from adapters.http.openapi import openapi_document
from adapters.http.routes import ENDPOINTS


def create_http_app(runtime: Runtime, endpoints: tuple[Endpoint, ...] = ENDPOINTS) -> Starlette:
    document = openapi_document(endpoints)

    async def health(_request: Request) -> Response:
        position = await run_in_threadpool(runtime.ledger.recorder.max_notification_id)
        projections = {}
        for projector in runtime.projectors.values():
            status = await run_in_threadpool(projector.status)
            projections[status.name] = status.as_dict()
        return JSONResponse({"status": "ok", "position": position, "projections": projections})

    async def openapi(_request: Request) -> Response:  # listed in the document too
        return JSONResponse(document)

    routes = [Route("/health", health), Route("/openapi.json", openapi)]
    by_path: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        by_path.setdefault(endpoint.path, {})[endpoint.method] = asgi_endpoint(endpoint, runtime)
    routes += [
        Route(path, _dispatch(methods), methods=list(methods)) for path, methods in by_path.items()
    ]
    return Starlette(
        routes=routes,
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
