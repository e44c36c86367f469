"""Routes for work on contacts beyond their fields: notes, site forms, outbox, bulk jobs."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from adapters.http import schemas
from adapters.http.endpoint import Context, Reply
from adapters.http.parameters import Parameter
from adapters.http.presenters import job_times, utc
from adapters.job_runner import check_job
from adapters.job_store import Job
from adapters.sql.outbox_store import MAX_LIMIT
from domain import commands

FormKind = Literal["contact", "registration", "request"]
OUTBOX_QUERY = (
    Parameter("limit", Annotated[int, Field(ge=1, le=MAX_LIMIT)], "Page size (default 100)"),
    Parameter("cursor", str, "next_cursor of the previous page"),
)


def post_note(ctx: Context) -> Reply:
    body: schemas.NoteIn = ctx.body
    cmd = commands.AddNote(ctx.account_id, ctx.path["contact_id"], body.text, ctx.expected_version)
    outcome = ctx.ledger.add_note(cmd, ctx.at, ctx.meta)
    out = schemas.NoteWritten(
        id=outcome.detail["note_id"], contact_id=outcome.id, version=outcome.version
    )
    return Reply(out, 201, outcome)


def post_form(ctx: Context) -> Reply:
    form = ctx.path["form"]
    body: schemas.FormIn = ctx.body
    cmd = commands.SubmitForm(ctx.account_id, form, body.fields, body.page, body.message)
    outcome = ctx.ledger.submit_form(cmd, ctx.at, ctx.meta)
    out = schemas.FormWritten(
        id=outcome.detail["submission_id"],
        contact_id=outcome.id,
        version=outcome.version,
        form=form,
        created_contact=outcome.detail["created"],
    )
    return Reply(out, 201, outcome)


def post_password_reset(ctx: Context) -> Reply:
    cmd = commands.RequestPasswordReset(ctx.account_id, ctx.path["contact_id"])
    outcome = ctx.ledger.request_password_reset(cmd, ctx.at, ctx.meta)
    out = schemas.MessageRequested(
        id=outcome.detail["message_id"],
        contact_id=outcome.id,
        version=outcome.version,
        kind="password_reset",
    )
    return Reply(out, 202, outcome)


def get_outbox(ctx: Context) -> Reply:
    limit = int(ctx.query.get("limit", 100))
    page = ctx.outbox.pending(ctx.account_id, limit, ctx.query.get("cursor"))
    items = [
        schemas.OutboxMessageOut(
            id=m.message_id,
            kind=m.kind,  # type: ignore[arg-type]
            campaign=m.campaign,
            contact_id=m.contact_id,
            to=schemas.Recipient(
                email=m.fields["email"],
                first_name=m.fields.get("first_name"),
                last_name=m.fields.get("last_name"),
                language=m.fields.get("language"),
            ),
            requested_at=utc(m.requested_at),
            position=m.position,
        )
        for m in page.messages
    ]
    return Reply(schemas.OutboxPage(items=items, next_cursor=page.next_cursor))


def post_ack(ctx: Context) -> Reply:
    body: schemas.AckIn = ctx.body
    ack = ctx.outbox.acknowledge(ctx.account_id, ctx.path["message_id"], body.outcome, ctx.at)
    out = schemas.AckOut(
        id=ack.message_id, outcome=ack.outcome, acknowledged_at=utc(ack.acknowledged_at)
    )
    return Reply(out)


def post_bulk(ctx: Context) -> Reply:
    body: schemas.BulkIn = ctx.body
    selection = (
        body.selection.model_dump(mode="json", exclude_none=True) if body.selection else None
    )
    check_job(ctx.ledger, ctx.account_id, body.action, body.params, selection, ctx.at)
    head = ctx.ledger.recorder.max_notification_id() or 0
    job_id = ctx.jobs.create(
        ctx.account_id, body.action, body.params, selection, ctx.meta, ctx.at, head
    )
    return Reply(_job_out(ctx.jobs.get(ctx.account_id, job_id)), 202)


def get_job(ctx: Context) -> Reply:
    return Reply(_job_out(ctx.jobs.get(ctx.account_id, ctx.path["job_id"])))


def _job_out(job: Job) -> schemas.JobOut:
    return schemas.JobOut(
        id=job.job_id,
        action=job.action,
        status=job.status,  # type: ignore[arg-type]
        total=job.total,
        processed=job.processed,
        changed=job.changed,
        unchanged=job.unchanged,
        skipped=job.skipped,
        report=[schemas.SkippedRow.model_validate(row) for row in job.report],
        error=job.error,
        **job_times(job),
    )
