"""The route machinery: auth, role check, parameter and body parsing, read-your-writes, errors.

A route is declared once as an `Endpoint`; the same declaration drives the Starlette
route and the OpenAPI document, so they cannot drift apart.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import os
import re
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, partial
from pathlib import Path
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.http.aside import AsideTimeoutError, run_aside
from adapters.http.auth_throttle import AuthThrottle
from adapters.http.errors import HttpError, domain_problem, problem
from adapters.http.idempotency import IdempotentWrites
from adapters.http.json_input import JsonInputError, parse_json
from adapters.http.long_poll import FeedFollower
from adapters.http.observe import CORRELATION, correlation_id
from adapters.http.parameters import AFTER, Parameter, check_query, parse_path
from adapters.http.roles import refusal
from adapters.importing.job import Importer
from adapters.job_store import JobStore
from adapters.point_in_time import PointInTime
from adapters.projector import Projector
from adapters.sql.audit_store import SqlAuditStore
from adapters.sql.grid_queries import SqlGrid
from adapters.sql.outbox_store import SqlOutboxStore
from adapters.sql.report_store import SqlReports
from adapters.tokens import Principal, TokenRefusedError, TokenStore
from adapters.users import UserStore
from domain.application import ContactLedger, Outcome
from domain.meta import Meta, Origin, Role

VERSION_TAG = re.compile(r'^(?:W/)?"?(\d{1,18})"?$')
PATH_PARAMETER = re.compile(r"{(\w+)}")


@dataclass(frozen=True)
class Reply:
    body: Any
    status: int = 200
    outcome: Outcome | None = None


async def _present() -> bool:
    return False


@dataclass
class Context:
    """Everything a route handler gets: who, when, what they sent."""

    ledger: ContactLedger
    grid: SqlGrid
    audit: SqlAuditStore
    jobs: JobStore
    outbox: SqlOutboxStore
    reports: SqlReports
    past: PointInTime
    feed: FeedFollower
    principal: Principal
    meta: Meta
    at: datetime
    path: dict[str, Any]  # parsed by the endpoint's declared types (UUID unless declared)
    body: Any
    query: dict[str, str]
    expected_version: int | None
    importer: Importer
    raw_body: bytes = b""  # as sent, when the endpoint takes a body
    upload: Path | None = None  # the file part of a multipart body, in a temporary file
    gone: Callable[[], Awaitable[bool]] = _present  # has the client disconnected?

    @property
    def account_id(self) -> UUID:
        return self.principal.account_id

    def uuid_parameter(self, name: str) -> UUID | None:
        raw = self.query.get(name)
        return None if raw is None else _uuid(name, raw)

    def whole_number(self, name: str, default: int) -> int:
        raw = self.query.get(name, str(default))
        if not raw.isdigit():
            raise HttpError(422, f"{name} must be a whole number")
        return int(raw)


@dataclass(frozen=True)
class Endpoint:
    """One route: who may call it, what it accepts, what it answers.

    - Path parameters are UUIDs unless `path_params` gives another type for them, e.g.
      `path_params={"form": FormKind}` for `/v1/forms/{form}/submissions`: any type pydantic
      validates (an `Enum`, a `Literal`, an `Annotated` str with a pattern). A value that does
      not parse is 422; the handler finds the parsed value in `ctx.path`.
    - `query` lists every query parameter the handler reads (GET also takes `after`); any
      other is refused with 422 before the handler runs, and so is a malformed or missing
      required one. The handler still reads the raw strings from `ctx.query`.
    - `errors` adds problem statuses only the handler knows it can answer, e.g. 404 for an
      id given in the body or the query, 410 for an erased contact. The rest follow from the
      declaration (`openapi.problem_statuses`): 401 and 422 always, 403 if the roles are
      limited, 404 with path parameters, 412 if conditional, 413 with a body, 409 and 503
      on writes, 504 on reads.
    - A GET waits for `?after=` (read-your-writes) unless `read_your_writes` is False: the
      change feed gives `after` a meaning of its own and declares it in `query`.
    - A handler is a plain function, run in the thread pool, or a coroutine function, run
      in the event loop (it must then run its blocking work in the thread pool itself).
    """

    method: str
    path: str
    handler: Callable[[Context], Reply] | Callable[[Context], Awaitable[Reply]]
    summary: str
    roles: frozenset[Role] = frozenset(Role)
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    conditional: bool = False  # honours If-Match
    projected: str | None = None  # served from these projections ("a+b"): `?after=` waits
    projected_as_of: str | None = None  # with `?as_of=`, served from these instead
    media_type: str = "application/json"
    query: tuple[Parameter, ...] = ()
    path_params: Mapping[str, Any] = field(default_factory=dict)
    errors: frozenset[int] = frozenset()
    upload: bool = False  # the body is multipart/form-data: `body`'s fields and a `file`
    read_your_writes: bool = True  # a GET also takes `after` and waits for it

    def __post_init__(self) -> None:
        undeclared = set(self.path_params) - set(PATH_PARAMETER.findall(self.path))
        if undeclared:
            raise ValueError(f"{self.path} has no parameter(s) {', '.join(sorted(undeclared))}")

    @property
    def action(self) -> str:
        """What the route does, as a refusal names it: the summary (a verb first) up to
        its first aside ("Erase a contact now (right to erasure)" -> "erase a contact now")."""
        head = re.split(r" \(|: |; ", self.summary, maxsplit=1)[0]
        return head[:1].lower() + head[1:]

    @property
    def writes(self) -> bool:
        return self.method != "GET"

    @cached_property
    def path_parameters(self) -> dict[str, Parameter]:
        return {
            name: Parameter(name, self.path_params.get(name, UUID), required=True)
            for name in PATH_PARAMETER.findall(self.path)
        }

    @property
    def query_parameters(self) -> tuple[Parameter, ...]:
        return (*self.query, AFTER) if self.waits_for_after else self.query

    @property
    def waits_for_after(self) -> bool:
        return not self.writes and self.read_your_writes

    def served_from(self, query: Mapping[str, str]) -> str | None:
        """The projections this request is served from: those `?after=` waits for."""
        if self.projected_as_of is not None and "as_of" in query:
            return self.projected_as_of
        return self.projected


@dataclass
class Runtime:
    """Process-wide collaborators the endpoints use."""

    ledger: ContactLedger
    tokens: TokenStore
    clock: Callable[[], datetime]
    projectors: dict[str, Projector]  # by name: "grid", "audit", "outbox", "reports"
    grid: SqlGrid
    audit: SqlAuditStore
    jobs: JobStore
    outbox: SqlOutboxStore
    reports: SqlReports
    past: PointInTime
    feed: FeedFollower
    idempotency: IdempotentWrites
    importer: Importer
    max_body_bytes: int = 1_000_000
    max_upload_bytes: int = 50 * 1024 * 1024
    read_wait_seconds: float = 5.0
    throttle: AuthThrottle = field(default_factory=AuthThrottle)  # failed authentications
    metrics_token: str = ""  # the bearer token `GET /metrics` asks for ("": metrics are off)
    users: UserStore | None = None  # people who sign in to the back office (adapters/web)


def asgi_endpoint(endpoint: Endpoint, runtime: Runtime) -> Callable[[Request], Any]:
    async def serve(request: Request) -> Response:
        context = None
        try:
            context = await _context(endpoint, runtime, request)
            if endpoint.writes:
                run = partial(_answer, endpoint, context)
                return await runtime.idempotency.serve(
                    request, context.principal, context.raw_body, context.at, run
                )
            if endpoint.waits_for_after:
                projected = endpoint.served_from(request.query_params)
                await _wait_for(runtime, request.query_params.get("after"), projected)
        except Exception as error:
            return _problem(error)
        finally:
            if context is not None and context.upload is not None:
                context.upload.unlink(missing_ok=True)
        return await _answer(endpoint, context)

    return serve


async def _answer(endpoint: Endpoint, context: Context) -> Response:
    """The handler's answer; a known error is a problem answer (so it can be replayed)."""
    handler = endpoint.handler
    try:
        if inspect.iscoroutinefunction(handler):
            reply = await handler(context)
        else:
            reply = await run_in_threadpool(handler, context)
    except Exception as error:
        return _problem(error)
    return _response(reply, endpoint)


def _problem(error: Exception) -> Response:
    if isinstance(error, HttpError):
        return problem(error.status, error.detail, **error.extra)
    answer = domain_problem(error)
    if answer is None:
        raise error
    return answer


async def _context(endpoint: Endpoint, runtime: Runtime, request: Request) -> Context:
    principal = _authenticate(runtime, request)
    if principal.role not in endpoint.roles:
        raise HttpError(403, refusal(principal.role, endpoint.action, endpoint.roles))
    if any("\x00" in value for value in request.query_params.values()):
        raise HttpError(422, "query parameters must not contain NUL characters")
    check_query(endpoint.query_parameters, request.query_params)
    path = parse_path(endpoint.path_parameters, request.path_params)
    upload = None
    body: BaseModel | None
    if endpoint.upload:
        raw, body, upload = await _upload(endpoint, runtime, request)
    else:
        raw, body = await _body(endpoint, runtime, request) if endpoint.body else (b"", None)
    return context_for(
        runtime,
        principal=principal,
        meta=Meta(
            actor=principal.actor,
            role=principal.role.value,
            origin=Origin.HTTP.value,
            # the one the access line and the answer's X-Request-Id name (`observe.py`)
            correlation_id=request.scope.get(CORRELATION) or correlation_id(request.scope),
        ),
        at=runtime.clock(),
        path=path,
        body=body,
        query=dict(request.query_params),
        expected_version=_if_match(request.headers.get("if-match"))
        if endpoint.conditional
        else None,
        raw_body=raw,
        upload=upload,
        gone=request.is_disconnected,
    )


def context_for(runtime: Runtime, **request: Any) -> Context:
    """A handler's context: the runtime's collaborators, and the request's own values
    (who, when, what was sent). The back office builds its contexts here too."""
    return Context(
        ledger=runtime.ledger,
        grid=runtime.grid,
        audit=runtime.audit,
        jobs=runtime.jobs,
        outbox=runtime.outbox,
        reports=runtime.reports,
        past=runtime.past,
        feed=runtime.feed,
        importer=runtime.importer,
        **request,
    )


def _authenticate(runtime: Runtime, request: Request) -> Principal:
    """The caller, or 401; 429 while the client's address has failed too often (see
    `AuthThrottle`). No token at all is not a failure: only refused tokens count."""
    address = request.client.host if request.client else "unknown"
    wait = runtime.throttle.retry_after(address)
    if wait is not None:
        raise HttpError(
            429,
            f"too many refused tokens from this address; retry in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    reason = "a valid bearer token is required"
    if scheme.lower() == "bearer" and token:  # `bearer` too: the scheme is case-insensitive
        try:
            return runtime.tokens.principal(token, runtime.clock())
        except TokenRefusedError as error:
            runtime.throttle.failed(address)
            reason = str(error)
    raise HttpError(401, reason, headers={"WWW-Authenticate": "Bearer"})


async def _body(endpoint: Endpoint, runtime: Runtime, request: Request) -> tuple[bytes, BaseModel]:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > runtime.max_body_bytes:
        raise HttpError(413, f"the body is larger than {runtime.max_body_bytes} bytes")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > runtime.max_body_bytes:
            raise HttpError(413, f"the body is larger than {runtime.max_body_bytes} bytes")
    try:
        data = parse_json(raw)
    except JsonInputError as error:
        raise HttpError(422, f"the body {error}") from None
    if not isinstance(data, dict):
        raise HttpError(422, "the body must be a JSON object")
    assert endpoint.body is not None
    try:
        return raw, endpoint.body.model_validate_json(raw)  # JSON mode: ISO strings for dates
    except ValidationError as error:
        raise _invalid(error) from None


def _invalid(error: ValidationError) -> HttpError:
    errors = [{"loc": ".".join(str(p) for p in e["loc"]), "msg": e["msg"]} for e in error.errors()]
    first = errors[0]
    return HttpError(422, f"{first['loc'] or 'body'}: {first['msg']}", errors=errors)


async def _upload(
    endpoint: Endpoint, runtime: Runtime, request: Request
) -> tuple[bytes, BaseModel, Path]:
    """A multipart body: its fields validated by `endpoint.body`, its file on disk.

    The fingerprint (for Idempotency-Key) is the fields and the file's SHA-256.
    """
    limit = runtime.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HttpError(413, f"the upload is larger than {limit} bytes")
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HttpError(422, "the body must be multipart/form-data with a part named 'file'")
    try:
        form = await request.form(max_files=1, max_fields=20, max_part_size=1_000_000)
    except HTTPException as error:
        raise HttpError(422, f"the multipart body cannot be read: {error.detail}") from None
    try:
        fields = _form_fields(form)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise HttpError(422, "a part named 'file' holding the .xlsx or .csv file is required")
        path, digest = await run_in_threadpool(spill_upload, upload, limit)
    finally:
        await form.close()
    assert endpoint.body is not None
    try:
        body = endpoint.body.model_validate_json(json.dumps(fields))  # strings, as in JSON
    except ValidationError as error:
        path.unlink()
        raise _invalid(error) from None
    raw = json.dumps({"fields": fields, "file": digest}, sort_keys=True).encode()
    return raw, body, path


def _form_fields(form: FormData) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name, value in form.multi_items():
        if name == "file":
            continue
        if not isinstance(value, str):
            raise HttpError(422, f"part {name!r} must be a value, not a file")
        if name in fields:
            raise HttpError(422, f"part {name!r} is given twice")
        if "\x00" in value or _has_lone_surrogate(value):
            raise HttpError(422, f"part {name!r} must be valid text without NUL characters")
        fields[name] = value
    return fields


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return False


def spill_upload(upload: UploadFile, limit: int) -> tuple[Path, str]:
    """Copy the uploaded file to a temporary file of its own; (path, SHA-256)."""
    digest, size = hashlib.sha256(), 0
    handle, name = tempfile.mkstemp(prefix="ledger-upload-")
    with os.fdopen(handle, "wb") as out:
        while chunk := upload.file.read(1 << 20):
            size += len(chunk)
            if size > limit:
                out.close()
                os.unlink(name)
                raise HttpError(413, f"the upload is larger than {limit} bytes")
            digest.update(chunk)
            out.write(chunk)
    return Path(name), digest.hexdigest()


async def _wait_for(runtime: Runtime, after: str | None, projected: str | None) -> None:
    """Read-your-writes: wait until the read side has reached `after`, or 504.

    Aggregate reads come from the event store itself; grid reads from the projection. The
    wait holds no thread: a projector following the log in this process is asked for its
    position in memory; only one followed elsewhere (`serve --no-projector`, a worker of
    `--workers N`), and the log head, are read from the database, a short query in a
    thread kept aside (`aside.py`), every 0.1 s.
    """
    if after is None:
        return
    if not after.isdigit():
        raise HttpError(422, "after must be a non-negative integer log position")
    wanted = int(after)
    deadline = time.monotonic() + runtime.read_wait_seconds
    projectors = [runtime.projectors[name] for name in (projected or "").split("+") if name]
    while True:
        in_memory = [p.live() for p in projectors]
        if projectors and all(state is not None for state in in_memory):
            reached, pause = min(s.position for s in in_memory if s is not None), 0.01
        else:
            reached, pause = await _polled_position(runtime, projectors, deadline), 0.1
        if reached >= wanted:
            return
        if time.monotonic() + pause > deadline:
            raise HttpError(504, f"the read side has not reached position {wanted} yet")
        await asyncio.sleep(pause)


async def _polled_position(runtime: Runtime, projectors: list[Projector], deadline: float) -> int:
    """The read side's position as the database has it (0 if it does not answer in time)."""
    stores = [projector.store for projector in projectors]

    def position() -> int:
        if not stores:
            return _log_head(runtime)()
        return min(store.position() for store in stores)

    try:
        return await run_aside(position, deadline - time.monotonic())
    except AsideTimeoutError:
        return 0


def _log_head(runtime: Runtime) -> Callable[[], int]:
    return lambda: runtime.ledger.recorder.max_notification_id() or 0


def _uuid(name: str, value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise HttpError(422, f"{name} must be a UUID") from None


def _if_match(value: str | None) -> int | None:
    if value is None:
        return None
    match = VERSION_TAG.match(value.strip())
    if match is None:
        raise HttpError(422, 'If-Match must be a version, e.g. "3"')
    return int(match.group(1))


def _response(reply: Reply, endpoint: Endpoint) -> Response:
    if isinstance(reply.body, Response):
        return reply.body
    body = reply.body.model_dump(mode="json") if isinstance(reply.body, BaseModel) else reply.body
    headers = {}
    if reply.outcome is not None:
        if reply.outcome.position is not None:
            headers["X-Position"] = str(reply.outcome.position)
        headers["ETag"] = f'"{reply.outcome.version}"'
    elif isinstance(body, dict) and isinstance(body.get("version"), int):
        headers["ETag"] = f'"{body["version"]}"'
    return JSONResponse(body, reply.status or endpoint.status, headers=headers)
