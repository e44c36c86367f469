"""Routes of imports (F19): upload a file as a job, follow it, download its per-row report."""

from __future__ import annotations

from uuid import UUID

from starlette.responses import StreamingResponse

from adapters.http import schemas
from adapters.http.endpoint import Context, Reply
from adapters.http.errors import HttpError
from adapters.http.json_input import JsonInputError, parse_json
from adapters.http.presenters import job_times
from adapters.importing.job import Importer, ImportRequest, suggestion
from adapters.importing.sheets import open_sheet
from adapters.job_store import Job
from domain.unit_of_work import NotFoundError

SHOWN_SKIPS = 1_000


def post_import(ctx: Context) -> Reply:
    body: schemas.ImportIn = ctx.body
    importer = ctx.importer
    assert ctx.upload is not None
    mapping = _mapping(ctx, body)
    request = ImportRequest(body.event_id, mapping, body.mode, body.group_id, body.status)
    job_id = importer.submit(ctx.account_id, request, ctx.upload, ctx.meta, ctx.at)
    return Reply(import_out(importer, ctx.jobs.get(ctx.account_id, job_id)), 202)


def get_import(ctx: Context) -> Reply:
    return Reply(import_out(ctx.importer, _job(ctx)))


def get_import_report(ctx: Context) -> Reply:
    job = _job(ctx)
    headers = {"Content-Disposition": f'attachment; filename="import-{job.job_id}.csv"'}
    rows = ctx.importer.store.report_csv(job.job_id)
    return Reply(StreamingResponse(rows, media_type="text/csv; charset=utf-8", headers=headers))


def import_out(importer: Importer, job: Job) -> schemas.ImportOut:
    params = ImportRequest.from_params(job.params)
    counts = importer.store.counts(job.job_id)
    return schemas.ImportOut(
        id=job.job_id,
        status=job.status,  # type: ignore[arg-type]
        message=job.error,
        event_id=params.event_id,
        mode=params.mode,
        group_id=params.group_id,
        mapping=params.mapping,
        total=job.total,
        processed=job.processed,
        created=counts["created"],
        updated=counts["updated"],
        unchanged=counts["unchanged"],
        skipped=counts["skipped"],
        rows=[
            schemas.ImportedRowOut(row=line, reason=reason)
            for line, reason in importer.store.skipped(job.job_id, SHOWN_SKIPS)
        ],
        report=f"/v1/imports/{job.job_id}/report.csv",
        **job_times(job),
    )


def _mapping(ctx: Context, body: schemas.ImportIn) -> dict[str, str | None]:
    if body.mapping is None:
        assert ctx.upload is not None
        with open_sheet(ctx.upload) as sheet:
            columns = list(sheet.headers)
        suggested = suggestion(ctx.ledger, ctx.account_id, body.event_id, sheet.headers)
        raise HttpError(
            422,
            "mapping is required: a JSON object from column titles to field names "
            "(see suggested_mapping)",
            columns=columns,
            suggested_mapping=suggested,
        )
    try:
        mapping = parse_json(body.mapping)
    except JsonInputError as error:
        raise HttpError(422, f"mapping {error}") from None
    if not isinstance(mapping, dict) or not all(
        isinstance(name, str | None) for name in mapping.values()
    ):
        raise HttpError(422, "mapping must be a JSON object of column title -> field name or null")
    return {column: name or None for column, name in mapping.items()}


def _job(ctx: Context) -> Job:
    import_id: UUID = ctx.path["import_id"]
    job = ctx.jobs.get(ctx.account_id, import_id)
    if job.action != "import":
        raise NotFoundError("import", import_id)
    return job
