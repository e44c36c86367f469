"""One table from domain errors to HTTP statuses; every error is application/problem+json."""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.importing.sheets import FileRefusedError
from adapters.job_store import JobNotFoundError
from adapters.sql.change_feed import FeedQueryError
from adapters.sql.outbox_store import MessageNotFoundError, OutboxQueryError
from domain.accounts import (
    FieldAlreadyDefinedError,
    GroupError,
    GroupNameTakenError,
    KeyChangeRefusedError,
    SettingsError,
)
from domain.application import (
    BusyError,
    InvalidInputError,
    SyncDisabledError,
    VersionMismatchError,
)
from domain.bulk import BulkActionError
from domain.contact_extras import ContactInputError
from domain.contact_keys import KeyTakenError
from domain.contact_lifecycle import ContactDeletedError
from domain.contact_merge import ContactMergedError
from domain.contact_work import NotReachableError
from domain.fields import FieldDefinitionError, FieldValueError
from domain.imports import ImportInputError
from domain.ledger_participants import AlreadyBookedError
from domain.organiser_events import LocalFieldClashError, OrganiserEventError
from domain.participants import (
    IllegalTransitionError,
    ParticipantDeletedError,
    ParticipantInputError,
)
from domain.retention import ErasedError, RestoreWindowClosedError
from domain.saved_views import SavedViewError, SavedViewNotFoundError
from domain.segments import SegmentError
from domain.unit_of_work import NotFoundError
from projections.grid_query import GridQueryError

log = logging.getLogger("contact_ledger.http")

STATUS_OF: dict[type[Exception], int] = {
    NotFoundError: 404,
    JobNotFoundError: 404,
    MessageNotFoundError: 404,
    BulkActionError: 422,
    FileRefusedError: 422,
    ImportInputError: 422,
    OutboxQueryError: 422,
    FeedQueryError: 422,
    NotReachableError: 409,
    FieldValueError: 422,
    FieldDefinitionError: 422,
    SettingsError: 422,
    OrganiserEventError: 422,
    ParticipantInputError: 422,
    InvalidInputError: 422,
    SegmentError: 422,
    GridQueryError: 422,
    SavedViewError: 422,
    ContactInputError: 422,
    GroupError: 422,
    SavedViewNotFoundError: 404,
    KeyChangeRefusedError: 409,
    FieldAlreadyDefinedError: 409,
    LocalFieldClashError: 409,
    IllegalTransitionError: 409,
    ParticipantDeletedError: 409,
    AlreadyBookedError: 409,
    KeyTakenError: 409,
    ContactDeletedError: 409,
    ContactMergedError: 409,
    RestoreWindowClosedError: 410,
    ErasedError: 410,
    GroupNameTakenError: 409,
    SyncDisabledError: 409,
    VersionMismatchError: 412,
    BusyError: 503,
}


class HttpError(Exception):
    """Raised by the HTTP layer itself (auth, parsing, waiting) with its status."""

    def __init__(self, status: int, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.extra = extra


def problem(
    status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status}
    body["detail"] = detail
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status, headers=headers, media_type="application/problem+json")


def domain_problem(error: Exception) -> Response | None:
    """The problem response for a known domain error, or None if it is not one."""
    status = status_of(error)
    return None if status is None else problem(status, str(error), **_extra(error))


def status_of(error: Exception) -> int | None:
    """The HTTP status of a known domain error (the back office shows the same refusals)."""
    for kind, status in STATUS_OF.items():
        if isinstance(error, kind):
            return status
    return None


# the members a problem adds for an error: who holds what, or what the state is
EXTRAS: dict[type[Exception], Callable[[Any], dict[str, Any]]] = {
    FieldValueError: lambda error: {"field": error.field_name},
    KeyTakenError: lambda error: {"contact_id": str(error.holder_id)},
    AlreadyBookedError: lambda error: {"participant_id": str(error.participant_id)},
    ContactMergedError: lambda error: {"contact_id": str(error.survivor_id)},
    IllegalTransitionError: lambda error: {"current_status": error.current.value},
    BusyError: lambda _error: {"headers": {"Retry-After": "1"}},
}


def _extra(error: Exception) -> dict[str, Any]:
    for kind, extra in EXTRAS.items():
        if isinstance(error, kind):
            return extra(error)
    return {}


async def handle_http_problem(_request: Request, error: Exception) -> Response:
    assert isinstance(error, HttpError)
    return problem(error.status, error.detail, **error.extra)


async def handle_unexpected(request: Request, error: Exception) -> Response:
    # the route template, not the path as sent (the client's text, maybe personal data)
    route = getattr(request.scope.get("route"), "path", "unmatched")
    log.exception("unexpected error on %s %s", request.method, route)
    return problem(500, "internal error; it has been logged")


async def handle_starlette_http(_request: Request, error: Exception) -> Response:
    status = getattr(error, "status_code", 500)
    detail = str(getattr(error, "detail", "")) or HTTPStatus(status).phrase
    return problem(status, detail, headers=getattr(error, "headers", None))  # 405: Allow
