"""The `Idempotency-Key` header on writes: a retry is answered from the store, not re-run."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from adapters.http.errors import HttpError
from adapters.idempotency import Answer, Held, IdempotencyStore
from adapters.tokens import Principal

log = logging.getLogger("contact_ledger.http")
KEY = re.compile(r"^[\x20-\x7e]{1,255}$")
REPLAYED = "Idempotent-Replayed"
KEPT_HEADERS = ("content-type", "x-position", "etag", "location")


@dataclass(frozen=True)
class IdempotentWrites:
    store: IdempotencyStore
    wait_seconds: float = 5.0  # for a concurrent request with the same key, then 409
    poll_seconds: float = 0.05

    async def serve(
        self,
        request: Request,
        principal: Principal,
        body: bytes,
        at: datetime,
        run: Callable[[], Awaitable[Response]],
    ) -> Response:
        """Run the write once per key; a retry gets the stored answer, or waits for it."""
        key = _key(request)
        if key is None:
            return await run()
        fingerprint = _fingerprint(request, principal, body)
        deadline = time.monotonic() + self.wait_seconds
        while True:
            found = await run_in_threadpool(
                self.store.reserve, principal.account_id, key, fingerprint, at
            )
            if isinstance(found, Held):
                return await self._run(found, run)
            if found.fingerprint != fingerprint:
                raise HttpError(
                    422, "this Idempotency-Key was used for a different request; use a new key"
                )
            if found.answer is not None:
                return _replay(found.answer)
            if time.monotonic() >= deadline:
                raise HttpError(
                    409,
                    "a request with this Idempotency-Key is still in progress",
                    headers={"Retry-After": "1"},
                )
            await asyncio.sleep(self.poll_seconds)

    async def _run(self, held: Held, run: Callable[[], Awaitable[Response]]) -> Response:
        try:
            response = await run()
        except Exception:
            await run_in_threadpool(self.store.release, held)
            raise
        body = getattr(response, "body", None)  # a streamed answer cannot be kept
        if response.status_code >= 500 or not isinstance(body, bytes):
            await run_in_threadpool(self.store.release, held)
            return response
        answer = Answer(response.status_code, body, _kept(response))
        try:
            await run_in_threadpool(self.store.complete, held, answer, *_resources(body))
        except Exception as error:  # the write is done: answer it; a retry waits, then may re-run
            # Not the exception's text: SQLAlchemy's carries the parameters, i.e. the body.
            log.error("could not store the answer of an idempotent write: %s", type(error).__name__)
        return response


def _key(request: Request) -> str | None:
    values = request.headers.getlist("idempotency-key")
    if not values:
        return None
    if len(values) > 1 or not KEY.match(values[0]):
        raise HttpError(422, "Idempotency-Key must be one value of 1 to 255 printable ASCII")
    return values[0]


def _fingerprint(request: Request, principal: Principal, body: bytes) -> str:
    query = request.url.query
    target = request.url.path + (f"?{query}" if query else "")
    parts = [
        request.method,
        target,
        hashlib.sha256(body).hexdigest(),
        principal.role.value,
        principal.actor,
    ]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _kept(response: Response) -> dict[str, str]:
    return {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}


def _replay(answer: Answer) -> Response:
    return Response(answer.body, answer.status, headers={**answer.headers, REPLAYED: "true"})


def _resources(body: bytes) -> tuple[UUID | None, UUID | None]:
    """The resource and contact an answer shows: erasing either forgets the answer."""
    try:
        data = json.loads(body)
    except ValueError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    return _uuid(data.get("id")), _uuid(data.get("contact_id"))


def _uuid(value: Any) -> UUID | None:
    try:
        return UUID(value) if isinstance(value, str) else None
    except ValueError:
        return None
