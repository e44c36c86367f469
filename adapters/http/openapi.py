"""OpenAPI 3.1, generated from the endpoint declarations and their pydantic models."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from adapters.http import schemas
from adapters.http.endpoint import Endpoint

REF = "#/components/schemas/{model}"
PARAM = re.compile(r"{(\w+)}")
ERRORS = {
    "401": "No or bad bearer token",
    "403": "The token's role may not do this",
    "404": "Not found in this account",
    "422": "Invalid input (problem names the field and reason)",
}
WRITE_ERRORS = {
    "409": "Conflicts with the current state, or a request with this Idempotency-Key is "
    "still in progress (Retry-After)",
    "412": "If-Match version is not current",
    "413": "Body too large",
    "503": "Too many concurrent changes; retry",
    "422": "Invalid input (problem names the field and reason), or an Idempotency-Key that "
    "is malformed or was used for a different request",
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

GRID_PARAMETERS = (
    ("q", {"type": "string"}, "Free text: name, email, company, job title"),
    ("event_id", {"type": "string", "format": "uuid"}, "Contacts who participate in this event"),
    ("sort", {"type": "string"}, "Column, '-' for descending: name, email, fields.<name>, …"),
    ("limit", {"type": "integer", "minimum": 1, "maximum": 500}, "Page size (default 50)"),
    ("cursor", {"type": "string"}, "next_cursor of the previous page"),
    ("filter", {"type": "string"}, "JSON filter (see docs/api.md)"),
    ("view", {"type": "string", "format": "uuid"}, "Apply a saved view (explicit parameters win)"),
)


def openapi_document(endpoints: tuple[Endpoint, ...]) -> dict[str, Any]:
    models = {m for e in endpoints for m in (e.body, e.response) if m} | {
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
    paths["/openapi.json"] = {
        "get": {
            "summary": "This document",
            "security": [],
            "responses": {"200": {"description": "OpenAPI 3.1"}},
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Contact Ledger", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": endpoint.summary,
        "description": "Roles: " + ", ".join(sorted(r.value for r in endpoint.roles)),
        "parameters": _parameters(endpoint),
        "responses": _responses(endpoint),
    }
    if endpoint.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(endpoint.body)}},
        }
    return operation


def _parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    params = [
        {
            "name": n,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "format": "uuid"}
            if n.endswith("_id")
            else {"type": "string"},
        }
        for n in PARAM.findall(endpoint.path)
    ]
    if endpoint.writes:
        params.append(IDEMPOTENCY_KEY)
        if endpoint.method in ("PATCH", "DELETE", "POST") and "{" in endpoint.path:
            params.append(
                {
                    "name": "If-Match",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": 'Expected version, e.g. "3"',
                }
            )
    else:
        params.append(
            {
                "name": "after",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 0},
                "description": "Wait until the read side has reached this log position",
            }
        )
    return params


def _responses(endpoint: Endpoint) -> dict[str, Any]:
    success: dict[str, Any] = {"description": "OK"}
    if endpoint.response is not None:
        success["content"] = {"application/json": {"schema": _ref(endpoint.response)}}
    elif endpoint.media_type != "application/json":
        success["content"] = {
            endpoint.media_type: {"schema": {"type": "string", "format": "binary"}}
        }
    if endpoint.writes:
        success["headers"] = {
            "X-Position": {
                "schema": {"type": "integer"},
                "description": "Log position of the write",
            },
            "Idempotent-Replayed": {
                "schema": {"type": "string", "enum": ["true"]},
                "description": "This is the stored answer to an earlier request with the "
                "same Idempotency-Key",
            },
        }
    problems = dict(
        ERRORS, **(WRITE_ERRORS if endpoint.writes else {"504": "Read side too far behind"})
    )
    responses = {str(endpoint.status): success}
    for code, text in problems.items():
        responses[code] = {
            "description": text,
            "content": {"application/problem+json": {"schema": _ref(schemas.Problem)}},
        }
    return responses


def _health() -> dict[str, Any]:
    return {
        "summary": "Liveness, with projection lag",
        "security": [],
        "responses": {
            "200": {
                "description": "OK",
                "content": {"application/json": {"schema": _ref(schemas.Health)}},
            }
        },
    }


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _is_input(model: type[BaseModel], endpoints: tuple[Endpoint, ...]) -> bool:
    return any(e.body is model for e in endpoints)
