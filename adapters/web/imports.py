"""The import screens (Oniva's import): upload, confirm the mapping, follow, read the report.

The file is uploaded once: the first step keeps it (a private temporary file named after
the user and a random token) while the person confirms the suggested mapping; the second
step hands it to `POST /v1/imports` with the mapping, as a program would. A kept file is
removed when the import starts, and any left behind after KEEP_SECONDS.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.responses import Response

from adapters.http.endpoint import spill_upload
from adapters.http.errors import HttpError
from adapters.web.calls import RefusedError, call, read
from adapters.web.pages import Page

KEEP_SECONDS = 3600
MODES = ("create_and_update", "update_only", "create_only")
IMPORT = "/v1/imports/{import_id}"


def _kept_dir() -> Path:
    folder = Path(tempfile.gettempdir()) / "ledger-ui-uploads"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def _kept(page: Page, token: str) -> Path:
    if not token.isalnum() or len(token) != 32:
        raise RefusedError(422, page._("The uploaded file is no longer here; upload it again."))
    path = _kept_dir() / f"{page.user.user_id.hex}-{token}"
    if not path.exists():
        raise RefusedError(422, page._("The uploaded file is no longer here; upload it again."))
    return path


def _forget_old() -> None:
    limit = time.time() - KEEP_SECONDS
    for path in _kept_dir().iterdir():
        if path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)


async def imports(page: Page, error: str = "", status: int = 200) -> Response:
    found = await read(page.runtime, page.request, page.user, ("GET", "/v1/events"))
    groups = await read(page.runtime, page.request, page.user, ("GET", "/v1/groups"))
    return page.render(
        "imports.html", status, events=found.items, groups=groups.items, modes=MODES, error=error
    )


async def upload(page: Page) -> Response:
    """Step 1: keep the file and show the suggested mapping to confirm or change."""
    limit = page.runtime.max_upload_bytes
    try:
        form = await page.request.form(max_files=1, max_fields=20, max_part_size=1_000_000)
    except HTTPException as error:
        return await imports(page, str(error.detail), 422)
    values = await page.form()
    sent = form.get("file")
    if not isinstance(sent, UploadFile) or not sent.filename:
        return await imports(page, page._("Choose a .xlsx or .csv file."), 422)
    try:
        spilled, _digest = await run_in_threadpool(spill_upload, sent, limit)
    except HttpError as error:
        return await imports(page, error.detail, error.status)
    finally:
        await form.close()
    await run_in_threadpool(_forget_old)
    token = secrets.token_hex(16)
    kept = _kept_dir() / f"{page.user.user_id.hex}-{token}"
    os.replace(spilled, kept)
    return await _mapping_page(page, values, token)


async def _mapping_page(page: Page, values: dict[str, str], token: str) -> Response:
    body = _body(values)
    try:
        await call(
            page.runtime,
            page.request,
            page.user,
            ("POST", "/v1/imports"),
            body=body,
            upload=_kept(page, token),
        )
    except RefusedError as refused:
        if "columns" not in refused.extra:
            _kept(page, token).unlink(missing_ok=True)
            return await imports(page, refused.detail, refused.status)
        fields = await read(page.runtime, page.request, page.user, ("GET", "/v1/fields"))
        extra = []
        if body.get("event_id"):
            event = await read(
                page.runtime,
                page.request,
                page.user,
                ("GET", "/v1/events/{event_id}"),
                {"event_id": body["event_id"]},
            )
            extra = event.fields
        return page.render(
            "import_mapping.html",
            columns=refused.extra["columns"],
            suggested=refused.extra["suggested_mapping"],
            fields=[*fields.items, *extra],
            token=token,
            values=values,
        )
    # `POST /v1/imports` without a mapping always answers the suggestion (422); never here
    raise AssertionError("an import without a mapping was accepted")


def _body(values: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {"mode": values.get("mode") or "create_and_update"}
    for name in ("event_id", "group_id", "status"):
        if values.get(name):
            body[name] = values[name]
    return body


async def start(page: Page) -> Response:
    """Step 2: the import with the confirmed mapping, as a job; then its page."""
    values = await page.form()
    token = values.get("token", "")
    path = _kept(page, token)
    mapping = {
        key.removeprefix("map."): (value or None)
        for key, value in values.items()
        if key.startswith("map.")
    }
    body = {**_body(values), "mapping": json.dumps(mapping)}
    try:
        reply = await call(
            page.runtime, page.request, page.user, ("POST", "/v1/imports"), body=body, upload=path
        )
    except RefusedError as refused:
        if refused.status == 403:
            raise
        return await imports(page, refused.detail, refused.status)
    finally:
        path.unlink(missing_ok=True)
    return page.redirect(f"/imports/{reply.body.id}")


async def progress(page: Page) -> Response:
    path = {"import_id": page.request.path_params["import_id"]}
    found = await read(page.runtime, page.request, page.user, ("GET", IMPORT), path)
    return page.render("import.html", job=found, running=found.status in ("queued", "running"))


async def report(page: Page) -> Response:
    path = {"import_id": page.request.path_params["import_id"]}
    answer = await read(
        page.runtime, page.request, page.user, ("GET", IMPORT + "/report.csv"), path
    )
    answer.headers["Cache-Control"] = "no-store"
    return answer  # type: ignore[no-any-return]
