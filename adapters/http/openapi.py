"""OpenAPI 3.1, generated from the endpoint declarations and their pydantic models.

Everything an operation lists follows from its `Endpoint`: the parameters the machinery
accepts, the success body, and each problem status the machinery or the handler can answer.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from adapters.http import schemas
from adapters.http.endpoint import VERSION_TAG, Endpoint
from adapters.http.parameters import Parameter
from adapters.http.roles import EVERYONE

REF = "#/components/schemas/{model}"
PROBLEMS = {
    401: "No or bad bearer token",
    403: "The token's role may not do this",
    404: "Not found in this account",
    409: "Conflicts with the current state, or a request with this Idempotency-Key is still "
    "in progress (Retry-After)",
    410: "Gone for good: erased, or past its restore window",
    412: "If-Match version is not current",
    413: "Body too large",
    429: "Too many refused tokens from this address lately (Retry-After)",
    422: "Invalid input: the problem names the parameter or field and the reason (also: an "
    "Idempotency-Key that is malformed or was used for a different request)",
    503: "Too many concurrent changes to the same records; retry",
    504: "The read side has not reached `after` in time",
}
PROBLEM_HEADERS = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}},
    429: {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds"}},
    503: {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds"}},
}
POSITION = {
    "schema": {"type": "integer", "minimum": 0},
    "description": "Log position of the write's last event: pass it as `?after=` to read it",
}
ETAG = {"schema": {"type": "string"}, "description": 'The version, e.g. "3" (for If-Match)'}
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "pattern": VERSION_TAG.pattern},
    "description": 'Expected version, e.g. "3": 412 if it is not the current one',
}
REQUEST_ID = {
    "name": "X-Request-Id",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "Correlation id recorded with the write's events (1–64 of A-Z a-z 0-9 . _ -;"
    " anything else is replaced by a generated one)",
}
REPLAYED = {
    "schema": {"type": "string", "enum": ["true"]},
    "description": "This is the stored answer to an earlier request with the same Idempotency-Key",
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
    "description": "Retrying with the same key (same account, same request) answers the "
    "first answer again (header Idempotent-Replayed: true) without a second effect; the "
    "same key for another request is 422. Kept LEDGER_IDEMPOTENCY_HOURS (24 h)",
}


def openapi_document(endpoints: tuple[Endpoint, ...]) -> dict[str, Any]:
    models: set[type[BaseModel]] = {m for e in endpoints for m in (e.body, e.response) if m} | {
        schemas.Problem,
        schemas.Health,
    }
    _, defs = models_json_schema(
        [(m, "validation" if _is_input(m, endpoints) else "serialization") for m in models],
        ref_template=REF,
    )
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint)
    paths["/health"] = {"get": _health()}
    paths["/openapi.json"] = {"get": _itself()}
    paths.update(_service_pages())
    return {
        "openapi": "3.1.0",
        "info": {"title": "Contact Ledger", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "scrape": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "LEDGER_METRICS_TOKEN, for GET /metrics only",
                },
            },
        },
        "security": [{"bearer": []}],
    }


def problem_statuses(endpoint: Endpoint) -> set[int]:
    """Every problem status the endpoint can answer, from its declaration."""
    statuses = {401, 422, 429, *endpoint.errors}  # 422: any undeclared query parameter
    if endpoint.roles != EVERYONE:
        statuses.add(403)
    if endpoint.path_parameters:
        statuses.add(404)
    if endpoint.conditional:
        statuses.add(412)
    if endpoint.body is not None:
        statuses.add(413)
    if endpoint.writes:
        statuses |= {409, 503}
    if endpoint.waits_for_after:
        statuses.add(504)
    return statuses


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": re.sub(r"\W+", "_", f"{endpoint.method} {endpoint.path}").strip("_").lower(),
        "summary": endpoint.summary,
        "description": "Roles: " + ", ".join(sorted(r.value for r in endpoint.roles)) + ".",
        "parameters": _parameters(endpoint),
        "responses": _responses(endpoint),
    }
    if endpoint.upload:
        operation["requestBody"] = {"required": True, "content": _multipart(endpoint)}
    elif endpoint.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(endpoint.body)}},
        }
    return operation


def _multipart(endpoint: Endpoint) -> dict[str, Any]:
    """The body's fields as form parts, plus the part `file`."""
    assert endpoint.body is not None
    fields = endpoint.body.model_json_schema()
    schema = {
        "type": "object",
        "properties": {
            "file": {"type": "string", "format": "binary", "description": ".xlsx or .csv"},
            **fields["properties"],
        },
        "required": ["file", *fields.get("required", [])],
        "additionalProperties": False,
    }
    return {"multipart/form-data": {"schema": schema}}


def _parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    params = [_parameter(p, "path") for p in endpoint.path_parameters.values()]
    params += [_parameter(p, "query") for p in endpoint.query_parameters]
    if endpoint.conditional:
        params.append(IF_MATCH)
    if endpoint.writes:
        params += [REQUEST_ID, IDEMPOTENCY_KEY]
    return params


def _parameter(parameter: Parameter, where: str) -> dict[str, Any]:
    described = {"description": parameter.description} if parameter.description else {}
    return {
        "name": parameter.name,
        "in": where,
        "required": parameter.required,
        "schema": parameter.schema,
        **described,
    }


def _responses(endpoint: Endpoint) -> dict[str, Any]:
    responses = {str(endpoint.status): _success(endpoint)}
    for status in sorted(problem_statuses(endpoint)):
        responses[str(status)] = {
            "description": PROBLEMS[status],
            "content": {"application/problem+json": {"schema": _ref(schemas.Problem)}},
            **({"headers": PROBLEM_HEADERS[status]} if status in PROBLEM_HEADERS else {}),
        }
    return responses


def _success(endpoint: Endpoint) -> dict[str, Any]:
    success: dict[str, Any] = {"description": "Created" if endpoint.status == 201 else "OK"}
    if endpoint.response is not None:
        success["content"] = {"application/json": {"schema": _ref(endpoint.response)}}
    else:
        media_type = endpoint.media_type.split(";")[0]
        success["content"] = {media_type: {"schema": {"type": "string", "format": "binary"}}}
        success["headers"] = {"Content-Disposition": {"schema": {"type": "string"}}}
    if endpoint.writes:
        success["headers"] = {"X-Position": POSITION, "ETag": ETAG, "Idempotent-Replayed": REPLAYED}
    elif endpoint.response is not None and "version" in endpoint.response.model_fields:
        success["headers"] = {"ETag": ETAG}
    return success


def _health() -> dict[str, Any]:
    return {
        "operationId": "get_health",
        "summary": "Liveness, with projection lag",
        "description": "No token needed.",
        "security": [],
        "responses": {
            "200": {
                "description": "OK",
                "content": {"application/json": {"schema": _ref(schemas.Health)}},
            }
        },
    }


def _itself() -> dict[str, Any]:
    return {
        "operationId": "get_openapi",
        "summary": "This document",
        "description": "No token needed.",
        "security": [],
        "responses": {
            "200": {
                "description": "OpenAPI 3.1",
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        },
    }


def _service_pages() -> dict[str, Any]:
    """The scrape and the API page: outside the API's own tokens. (The back office's pages,
    `/` and the rest, are for people, not part of this document: docs/ui.md.)"""
    problem_json = {"application/problem+json": {"schema": _ref(schemas.Problem)}}
    text = {"schema": {"type": "string"}}
    metrics = {
        "200": {"description": "Prometheus text format", "content": {"text/plain": text}},
        "401": {"description": "Not the scrape token, or none is set", "content": problem_json},
    }
    files = {"text/css": text, "text/javascript": text, "image/png": text}
    asset = {
        "200": {"description": "A file of the page", "content": files},
        "404": {"description": "No such file", "content": problem_json},
        "503": {"description": "Swagger UI is not installed", "content": problem_json},
    }
    page = {
        "200": {"description": "Swagger UI on this document", "content": {"text/html": text}},
        "503": asset["503"],
    }
    asset_name = {"name": "asset", "in": "path", "required": True, "schema": {"type": "string"}}
    name = {"parameters": [asset_name]}
    return {
        "/metrics": {"get": _page("get_metrics", "Prometheus metrics", metrics, [{"scrape": []}])},
        "/docs": {"get": _page("get_docs", "This document, for people (Swagger UI)", page)},
        "/docs/{asset}": {"get": {**_page("get_docs_asset", "A file of /docs", asset), **name}},
    }


def _page(
    operation_id: str, summary: str, responses: dict[str, Any], security: Any = ()
) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "summary": summary,
        "security": list(security),
        "responses": responses,
    }


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _is_input(model: type[BaseModel], endpoints: tuple[Endpoint, ...]) -> bool:
    return any(e.body is model for e in endpoints)
