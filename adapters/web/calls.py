"""The back office runs the API's own endpoints: same handler, same role set, same checks.

A screen names the endpoint it acts through (`("PATCH", "/v1/contacts/{contact_id}")`);
`call` builds the handler's context for the signed-in user, with `ui` as the origin of
what it writes, and answers the handler's reply or a `RefusedError` that the page shows. A
button the page hides is not the permission: the endpoint's roles are (403 here as there).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from adapters.http.endpoint import Context, Endpoint, Reply, Runtime, _wait_for, context_for
from adapters.http.errors import HttpError, status_of
from adapters.http.observe import CORRELATION, correlation_id
from adapters.http.parameters import check_query, parse_path
from adapters.http.roles import refusal
from adapters.http.routes import ENDPOINTS
from adapters.users import User
from domain.meta import Meta, Origin

BY_ROUTE = {(e.method, e.path): e for e in ENDPOINTS}


@dataclass
class RefusedError(Exception):
    """An endpoint's refusal, as its problem answer would say it."""

    status: int
    detail: str
    errors: dict[str, str] = field(default_factory=dict)  # field name -> message
    extra: dict[str, Any] = field(default_factory=dict)  # the problem's other members

    def __str__(self) -> str:
        return self.detail


def endpoint(method: str, path: str) -> Endpoint:
    return BY_ROUTE[(method, path)]


def allowed(user: User, method: str, path: str) -> bool:
    """Whether the user's role may call this endpoint (what the page offers)."""
    return user.role in endpoint(method, path).roles


async def call(
    runtime: Runtime,
    request: Request,
    user: User,
    route: tuple[str, str],
    path: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
    body: Mapping[str, Any] | None = None,
    expected_version: int | None = None,
    upload: Path | None = None,
) -> Reply:
    """The endpoint's reply for this user, or RefusedError. A read given `after` (a position a
    write of this person answered) waits for the read side to reach it, as over HTTP."""
    declared = endpoint(*route)
    if user.role not in declared.roles:
        raise RefusedError(403, refusal(user.role, declared.action, declared.roles))
    clean_query = {k: v for k, v in (query or {}).items() if v != ""}
    try:
        check_query(declared.query_parameters, clean_query)
        parsed_path = parse_path(declared.path_parameters, path or {})
        model = _body(declared, body)
        if declared.waits_for_after:
            await _wait_for(runtime, clean_query.get("after"), declared.served_from(clean_query))
        context = context_for(
            runtime,
            principal=user.principal,
            meta=Meta(
                actor=user.actor,
                role=user.role.value,
                origin=Origin.UI.value,
                correlation_id=request.scope.get(CORRELATION) or correlation_id(request.scope),
            ),
            at=runtime.clock(),
            path=parsed_path,
            body=model,
            query=clean_query,
            expected_version=expected_version,
            raw_body=b"" if body is None else json.dumps(body).encode(),
            upload=upload,
        )
        # The back office calls only synchronous handlers (the change feed's, the one
        # asynchronous handler, is no page's); run_in_threadpool would not await another.
        handler = cast(Callable[[Context], Reply], declared.handler)
        reply = await run_in_threadpool(handler, context)
    except HttpError as error:
        errors = _field_errors(error.extra)
        raise RefusedError(error.status, error.detail, errors, dict(error.extra)) from None
    except Exception as error:
        status = status_of(error)
        if status is None:
            raise
        name = getattr(error, "field_name", None)
        raise RefusedError(status, str(error), {name: str(error)} if name else {}) from None
    return reply


def position_of(reply: Reply) -> str:
    """`?after=` for the page a write redirects to: it shows the write's effect."""
    outcome = reply.outcome
    return "" if outcome is None or outcome.position is None else f"?after={outcome.position}"


def _body(declared: Endpoint, body: Mapping[str, Any] | None) -> BaseModel | None:
    if declared.body is None:
        return None
    try:
        return declared.body.model_validate_json(json.dumps(body or {}))  # as the API reads
    except ValidationError as error:
        errors = {".".join(str(p) for p in e["loc"]): e["msg"] for e in error.errors()}
        first = next(iter(errors.items()))
        raise HttpError(422, f"{first[0]}: {first[1]}", errors=errors) from None


def _field_errors(extra: Mapping[str, Any]) -> dict[str, str]:
    found = extra.get("errors")
    if isinstance(found, dict):
        return {str(k): str(v) for k, v in found.items()}
    if isinstance(found, list):
        return {str(e.get("loc")): str(e.get("msg")) for e in found if isinstance(e, dict)}
    return {}
