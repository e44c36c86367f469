"""The routes of SPEC §8 that exist so far: parse, call one ledger method, serialise."""

from __future__ import annotations

from typing import Any, Literal

from adapters.http import audit, feed, grids, imports, presenters, reports, schemas
from adapters.http import contact_work as work
from adapters.http.audit import entry_out, export_audit, get_audit, get_history
from adapters.http.endpoint import Context, Endpoint, Reply
from adapters.http.grids import (
    MEDIA,
    delete_view,
    export_contacts,
    export_participants,
    get_contacts,
    get_participants,
    get_view,
    get_views,
    post_view,
)
from adapters.http.merge import MergeIn, post_merge
from adapters.http.parameters import Parameter
from adapters.http.roles import (
    ADMIN,
    EDITORS,
    FEED_READERS,
    INTAKE,
    MAILER,
    PARTICIPANT_READERS,
    PRIVACY,
    READERS,
)
from adapters.sql.audit_store import AuditQuery
from domain import commands
from domain.application import Outcome
from domain.participants import Participant


def get_settings(ctx: Context) -> Reply:
    return Reply(presenters.settings_out(ctx.ledger.account(ctx.account_id)))


def put_settings(ctx: Context) -> Reply:
    body: schemas.SettingsIn = ctx.body
    cmd = commands.ChangeSettings(
        ctx.account_id,
        tuple(body.uniqueness_key),
        dict(body.sync),
        body.restore_window_months,
        ctx.expected_version,
    )
    outcome = ctx.ledger.change_settings(cmd, ctx.at, ctx.meta)
    return Reply(presenters.settings_out(ctx.ledger.account(ctx.account_id)), outcome=outcome)


def patch_settings(ctx: Context) -> Reply:
    body: schemas.SettingsPatch = ctx.body
    key = None if body.uniqueness_key is None else tuple(body.uniqueness_key)
    sync: dict[str, str] | None = None if body.sync is None else dict(body.sync)
    cmd = commands.AmendSettings(
        ctx.account_id, key, sync, body.restore_window_months, ctx.expected_version
    )
    outcome = ctx.ledger.amend_settings(cmd, ctx.at, ctx.meta)
    return Reply(presenters.settings_out(ctx.ledger.account(ctx.account_id)), outcome=outcome)


def post_field(ctx: Context) -> Reply:
    body: schemas.FieldIn = ctx.body
    cmd = commands.DefineField(
        ctx.account_id,
        body.name,
        body.type,
        body.label,
        tuple(body.options or ()),
        body.group,
        body.help,
        ctx.path.get("event_id"),
    )
    outcome = ctx.ledger.define_field(cmd, ctx.at, ctx.meta)
    return Reply(
        {"id": str(outcome.id), "version": outcome.version, "name": body.name}, 201, outcome
    )


def get_fields(ctx: Context) -> Reply:
    return Reply(presenters.account_fields(ctx.ledger.account(ctx.account_id)))


def post_event(ctx: Context) -> Reply:
    body: schemas.EventIn = ctx.body
    cmd = commands.CreateOrganiserEvent(
        ctx.account_id, body.name, body.kind, body.starts_on, body.series, body.several_bookings
    )
    outcome = ctx.ledger.create_organiser_event(cmd, ctx.at, ctx.meta)
    event = ctx.ledger.organiser_event(ctx.account_id, outcome.id)
    return Reply(presenters.event_out(event), 201, outcome)


def get_events(ctx: Context) -> Reply:
    account = ctx.ledger.account(ctx.account_id)
    events = [ctx.ledger.organiser_event(account.id, i) for i in account.organiser_event_ids]
    return Reply(schemas.EventList(items=[presenters.event_out(e) for e in events]))


def get_event(ctx: Context) -> Reply:
    event = ctx.ledger.organiser_event(ctx.account_id, ctx.path["event_id"])
    return Reply(presenters.event_out(event))


def patch_event(ctx: Context) -> Reply:
    body: schemas.EventPatch = ctx.body
    cmd = commands.ChangeOrganiserEventDetails(
        ctx.account_id,
        ctx.path["event_id"],
        body.named("name"),
        body.named("starts_on"),
        body.named("series"),
        body.named("several_bookings"),
        ctx.expected_version,
    )
    outcome = ctx.ledger.change_organiser_event_details(cmd, ctx.at, ctx.meta)
    event = ctx.ledger.organiser_event(ctx.account_id, outcome.id)
    return Reply(presenters.event_out(event), outcome=outcome)


def put_sync(ctx: Context) -> Reply:
    body: schemas.SyncIn = ctx.body
    cmd = commands.ChangeSync(
        ctx.account_id,
        ctx.path["event_id"],
        body.enabled,
        body.scope,
        body.segment,
        ctx.expected_version,
    )
    outcome = ctx.ledger.change_sync(cmd, ctx.at, ctx.meta)
    event = ctx.ledger.organiser_event(ctx.account_id, outcome.id)
    return Reply(presenters.event_out(event), outcome=outcome)


def post_backfill(ctx: Context) -> Reply:
    body: schemas.BackfillIn = ctx.body
    cmd = commands.BackfillSync(ctx.account_id, ctx.path["event_id"], body.segment)
    outcome = ctx.ledger.backfill_sync(cmd, ctx.at, ctx.meta)
    out = schemas.BackfillOut(id=outcome.id, version=outcome.version, joined=outcome.detail)
    return Reply(out, outcome=outcome)


def post_participant(ctx: Context) -> Reply:
    body: schemas.RegisterIn = ctx.body
    cmd = commands.RegisterParticipant(
        ctx.account_id, ctx.path["event_id"], body.fields, body.status, body.source
    )
    outcome = ctx.ledger.register_participant(cmd, ctx.at, ctx.meta)
    return _participant_reply(ctx, outcome, 201)


def get_participant(ctx: Context) -> Reply:
    participant = ctx.ledger.participant(
        ctx.account_id, ctx.path["event_id"], ctx.path["participant_id"]
    )
    return Reply(presenters.participant_out(participant))


def patch_participant(ctx: Context) -> Reply:
    body: schemas.FieldsIn = ctx.body
    cmd = commands.ChangeParticipantFields(
        ctx.account_id,
        ctx.path["event_id"],
        ctx.path["participant_id"],
        body.fields,
        ctx.expected_version,
    )
    return _participant_reply(ctx, ctx.ledger.change_participant_fields(cmd, ctx.at, ctx.meta))


def post_status(ctx: Context) -> Reply:
    body: schemas.StatusIn = ctx.body
    cmd = commands.ChangeParticipantStatus(
        ctx.account_id,
        ctx.path["event_id"],
        ctx.path["participant_id"],
        body.status,
        ctx.expected_version,
    )
    return _participant_reply(ctx, ctx.ledger.change_participant_status(cmd, ctx.at, ctx.meta))


def delete_participant(ctx: Context) -> Reply:
    cmd = commands.DeleteParticipant(
        ctx.account_id, ctx.path["event_id"], ctx.path["participant_id"], ctx.expected_version
    )
    return _participant_reply(ctx, ctx.ledger.delete_participant(cmd, ctx.at, ctx.meta))


def _participant_reply(ctx: Context, outcome: Outcome, status: int = 200) -> Reply:
    return Reply(presenters.participant_out(outcome.state), status, outcome)


def get_contact(ctx: Context) -> Reply:
    contact = presenters.readable_contact(ctx.ledger, ctx.account_id, ctx.path["contact_id"])
    return Reply(presenters.contact_out(ctx.ledger, contact, ctx.at))


def patch_contact(ctx: Context) -> Reply:
    body: schemas.FieldsIn = ctx.body
    cmd = commands.ChangeContactFields(
        ctx.account_id, ctx.path["contact_id"], body.fields, ctx.expected_version
    )
    outcome = ctx.ledger.change_contact_fields(cmd, ctx.at, ctx.meta)
    contact = ctx.ledger.contact(ctx.account_id, outcome.id)
    body_out = presenters.contact_out(ctx.ledger, contact, ctx.at)
    return Reply(presenters.edit_out(body_out, outcome.detail), outcome=outcome)


def _contact_reply(ctx: Context, outcome: Outcome) -> Reply:
    return Reply(presenters.contact_out(ctx.ledger, outcome.state, ctx.at), outcome=outcome)


def delete_contact(ctx: Context) -> Reply:  # `confirm` is required by its declaration
    cmd = commands.DeleteContact(ctx.account_id, ctx.path["contact_id"], ctx.expected_version)
    return _contact_reply(ctx, ctx.ledger.delete_contact(cmd, ctx.at, ctx.meta))


def post_restore(ctx: Context) -> Reply:
    cmd = commands.RestoreContact(ctx.account_id, ctx.path["contact_id"], ctx.expected_version)
    return _contact_reply(ctx, ctx.ledger.restore_contact(cmd, ctx.at, ctx.meta))


def post_erase(ctx: Context) -> Reply:
    cmd = commands.EraseContact(ctx.account_id, ctx.path["contact_id"], "request")
    outcome = ctx.ledger.erase_contact(cmd, ctx.at, ctx.meta)
    detail = outcome.detail or {}  # empty: it was erased before
    out = schemas.ErasedOut(
        id=outcome.id,
        version=outcome.version,
        erased=True,
        participants_erased=detail.get("participants_erased", 0),
        merged_erased=detail.get("merged_erased", 0),
    )
    return Reply(out, outcome=outcome)


def get_export(ctx: Context) -> Reply:
    contact = presenters.readable_contact(ctx.ledger, ctx.account_id, ctx.path["contact_id"])
    account = ctx.ledger.account(ctx.account_id)
    merged = ctx.ledger.merged_contacts(contact)  # the same person's tombstones (F10)
    holders = [contact, *merged]
    people = ctx.ledger.load_many({i for c in holders for i in c.ever_linked})
    names = ctx.grid.event_names(account.id)
    owners = {None, *(c.id for c in holders)}
    mine = [p for p in people.values() if isinstance(p, Participant) and p.contact_id in owners]
    export = schemas.ContactExport(
        exported_at=ctx.at,
        contact=presenters.contact_out(ctx.ledger, contact, ctx.at),
        groups=[schemas.GroupOut(id=g, name=account.groups[g]) for g in sorted(contact.groups)],
        participations=[
            schemas.ExportedParticipant(
                id=p.id,
                event_id=presenters.event_of(p),
                event_name=names.get(p.organiser_event_id, ""),
                status=p.status.value,
                source=p.source.value,
                fields=p.fields,
                deleted=p.deleted,
                created_at=p.created_on,
                updated_at=p.modified_on,
            )
            for p in sorted(mine, key=lambda p: p.created_on)
        ],
        history=[
            entry_out(e)
            for e in ctx.audit.rows(AuditQuery(account.id, contact.id, tuple(t.id for t in merged)))
        ],
        merged=[presenters.contact_out(ctx.ledger, t, ctx.at) for t in merged],
    )
    return Reply(export)


def put_processing_status(ctx: Context) -> Reply:
    body: schemas.ProcessingStatusIn = ctx.body
    cmd = commands.SetProcessingStatus(
        ctx.account_id, ctx.path["contact_id"], body.status, ctx.expected_version
    )
    return _contact_reply(ctx, ctx.ledger.set_processing_status(cmd, ctx.at, ctx.meta))


def put_consent(ctx: Context) -> Reply:
    body: schemas.ConsentIn = ctx.body
    cmd = commands.ChangeConsent(
        ctx.account_id,
        ctx.path["contact_id"],
        body.given,
        body.source,
        body.given_at,
        ctx.expected_version,
    )
    return _contact_reply(ctx, ctx.ledger.change_consent(cmd, ctx.at, ctx.meta))


def put_site_account(ctx: Context) -> Reply:
    body: schemas.SiteAccountIn = ctx.body
    cmd = commands.ChangeSiteAccount(
        ctx.account_id,
        ctx.path["contact_id"],
        body.confirmed,
        body.locked_until,
        body.failed_attempts,
        ctx.expected_version,
    )
    return _contact_reply(ctx, ctx.ledger.change_site_account(cmd, ctx.at, ctx.meta))


def post_unlock(ctx: Context) -> Reply:
    cmd = commands.UnlockSiteAccount(ctx.account_id, ctx.path["contact_id"], ctx.expected_version)
    return _contact_reply(ctx, ctx.ledger.unlock_site_account(cmd, ctx.at, ctx.meta))


def post_group(ctx: Context) -> Reply:
    body: schemas.GroupIn = ctx.body
    outcome = ctx.ledger.create_group(
        commands.CreateGroup(ctx.account_id, body.name), ctx.at, ctx.meta
    )
    return Reply(schemas.GroupOut(id=outcome.id, name=outcome.detail["name"]), 201, outcome)


def get_groups(ctx: Context) -> Reply:
    groups = ctx.ledger.account(ctx.account_id).groups
    items = [schemas.GroupOut(id=i, name=n) for i, n in groups.items()]
    return Reply(schemas.GroupList(items=items))


def post_members(ctx: Context) -> Reply:
    body: schemas.MembersIn = ctx.body
    cmd = commands.ChangeGroupMembers(
        ctx.account_id, ctx.path["group_id"], tuple(body.contact_ids), body.remove
    )
    outcome = ctx.ledger.change_group_members(cmd, ctx.at, ctx.meta)
    return Reply(
        schemas.MembersOut(id=outcome.id, changed=outcome.detail["changed"]), outcome=outcome
    )


def get_members(ctx: Context) -> Reply:
    ctx.query["group_id"] = str(ctx.path["group_id"])
    return get_contacts(ctx)


CONFIRM = Parameter(
    "confirm",
    Literal["DELETE"],
    "deleting a contact removes it from every event: add ?confirm=DELETE",
    required=True,
)
GONE = frozenset({410})  # an erased contact, or one past its restore window
REFERS = frozenset({404})  # an id in the body or the query may be unknown

EVENT = "/v1/events/{event_id}"
CONTACT = "/v1/contacts/{contact_id}"
PARTICIPANT = EVENT + "/participants/{participant_id}"


def _as(kind: str, export: Any) -> Any:
    def handler(ctx: Context) -> Reply:
        return export(ctx, kind)  # type: ignore[no-any-return]

    return handler


# fmt: off
ENDPOINTS = (
    Endpoint("GET", "/v1/settings", get_settings, "Read account settings", READERS,
             response=schemas.SettingsOut),
    Endpoint("PUT", "/v1/settings", put_settings, "Replace the account settings", ADMIN,
             schemas.SettingsIn, schemas.SettingsOut, conditional=True),
    Endpoint("PATCH", "/v1/settings", patch_settings,
             "Change some account settings: only what the body names", ADMIN,
             schemas.SettingsPatch, schemas.SettingsOut, conditional=True),
    Endpoint("POST", "/v1/fields", post_field, "Define an account field", ADMIN,
             schemas.FieldIn, schemas.FieldWritten, 201),
    Endpoint("GET", "/v1/fields", get_fields, "List identity and account fields",
             response=schemas.FieldList),
    Endpoint("POST", "/v1/events", post_event, "Create an event or community", ADMIN,
             schemas.EventIn, schemas.EventOut, 201),
    Endpoint("GET", "/v1/events", get_events, "List events", response=schemas.EventList),
    Endpoint("GET", EVENT, get_event, "Read an event", response=schemas.EventOut),
    Endpoint("PATCH", EVENT, patch_event,
             "Edit an event: only what the body names (name, date, series, bookings)", ADMIN,
             schemas.EventPatch, schemas.EventOut, conditional=True),
    Endpoint("POST", EVENT + "/fields", post_field, "Define an event-local field", ADMIN,
             schemas.FieldIn, schemas.FieldWritten, 201),
    Endpoint("PUT", EVENT + "/sync", put_sync, "Change the contact sync of an event", ADMIN,
             schemas.SyncIn, schemas.EventOut, conditional=True),
    Endpoint("POST", EVENT + "/sync/backfill", post_backfill,
             "Sync existing participants to contacts", EDITORS,
             schemas.BackfillIn, schemas.BackfillOut),
    Endpoint("POST", EVENT + "/participants", post_participant, "Register a participant",
             INTAKE, schemas.RegisterIn, schemas.ParticipantOut, 201),
    Endpoint("GET", EVENT + "/participants", get_participants,
             "Read the participant grid of an event", READERS,
             response=schemas.ParticipantGrid, projected="grid",
             projected_as_of="audit", query=grids.PARTICIPANT_GRID),
    Endpoint("GET", PARTICIPANT, get_participant, "Read a participant", PARTICIPANT_READERS,
             response=schemas.ParticipantOut),
    Endpoint("PATCH", PARTICIPANT, patch_participant, "Edit a participant's fields", INTAKE,
             schemas.FieldsIn, schemas.ParticipantOut, conditional=True),
    Endpoint("DELETE", PARTICIPANT, delete_participant, "Delete a participant", EDITORS,
             response=schemas.ParticipantOut, conditional=True),
    Endpoint("POST", PARTICIPANT + "/status", post_status, "Change a participant's status",
             INTAKE, schemas.StatusIn, schemas.ParticipantOut, conditional=True),
    Endpoint("GET", "/v1/contacts", get_contacts, "Read the contact grid", READERS,
             response=schemas.ContactGrid, projected="grid", projected_as_of="audit",
             query=grids.CONTACT_GRID, errors=REFERS),
    *(Endpoint("GET", f"/v1/exports/contacts.{kind}", _as(kind, export_contacts),
               f"Export the contact grid as .{kind}", READERS, projected="grid",
               projected_as_of="audit", media_type=MEDIA[kind], query=grids.CONTACT_EXPORT,
               errors=REFERS)
      for kind in ("csv", "xlsx")),
    *(Endpoint("GET", f"{EVENT}/participants.{kind}", _as(kind, export_participants),
               f"Export an event's participant grid as .{kind}", READERS, projected="grid",
               projected_as_of="audit", media_type=MEDIA[kind],
               query=grids.PARTICIPANT_EXPORT)
      for kind in ("csv", "xlsx")),
    Endpoint("POST", "/v1/views", post_view, "Save a grid view", READERS, schemas.ViewIn,
             schemas.ViewOut, 201, errors=REFERS),
    Endpoint("GET", "/v1/views", get_views, "List saved views", READERS,
             response=schemas.ViewList),
    Endpoint("GET", "/v1/views/{view_id}", get_view, "Read a saved view", READERS,
             response=schemas.ViewOut),
    Endpoint("DELETE", "/v1/views/{view_id}", delete_view, "Delete a saved view", READERS,
             response=schemas.Deleted),
    Endpoint("GET", "/v1/deleted-contacts", grids.get_deleted_contacts,
             "List deleted contacts with their restore deadlines", EDITORS | PRIVACY,
             response=schemas.DeletedContactList, projected="grid"),
    Endpoint("GET", "/v1/contacts/{contact_id}", get_contact, "Read a contact", READERS,
             response=schemas.ContactOut, errors=GONE),
    Endpoint("PATCH", "/v1/contacts/{contact_id}", patch_contact, "Edit a contact", EDITORS,
             schemas.FieldsIn, schemas.ContactEditOut, conditional=True, errors=GONE),
    Endpoint("DELETE", CONTACT, delete_contact,
             "Delete a contact and its participants (?confirm=DELETE); restorable for a while",
             EDITORS, response=schemas.ContactOut, conditional=True, query=(CONFIRM,),
             errors=GONE),
    Endpoint("POST", CONTACT + "/restore", post_restore,
             "Restore a deleted contact within its window", PRIVACY,
             response=schemas.ContactOut, conditional=True, errors=GONE),
    Endpoint("POST", CONTACT + "/erase", post_erase,
             "Erase a contact and its participants now (right to erasure)", PRIVACY,
             response=schemas.ErasedOut),
    Endpoint("GET", CONTACT + "/export", get_export,
             "Export everything held about the person (access request)", PRIVACY,
             response=schemas.ContactExport, projected="audit", errors=GONE),
    Endpoint("GET", CONTACT + "/history", get_history,
             "Read the audit trail of one contact and its participants", PRIVACY,
             response=schemas.AuditPageOut, projected="audit", query=audit.PAGING,
             errors=GONE),
    Endpoint("GET", "/v1/audit", get_audit,
             "Query the audit trail: actor, action, contact, time range", PRIVACY,
             response=schemas.AuditPageOut, projected="audit", query=audit.QUERY),
    Endpoint("GET", "/v1/exports/audit.csv", export_audit, "Export an audit query as CSV",
             PRIVACY, projected="audit", media_type="text/csv", query=audit.EXPORT),
    Endpoint("GET", "/v1/reports/{name}.csv", reports.get_report_csv,
             "Read a report as CSV: registrations, conversion, returning or growth", READERS,
             projected="reports", media_type="text/csv", query=reports.QUERY,
             path_params={"name": reports.ReportName}),
    Endpoint("GET", "/v1/reports/{name}", reports.get_report,
             "Read a report: registrations, conversion, returning or growth", READERS,
             response=schemas.ReportOut, projected="reports", query=reports.QUERY,
             path_params={"name": reports.ReportName}),
    Endpoint("GET", "/v1/feed", feed.get_feed,
             "Follow the change feed: the account's audit entries after a position, long-polled",
             FEED_READERS, response=schemas.FeedPageOut, query=feed.QUERY,
             read_your_writes=False),
    Endpoint("PUT", CONTACT + "/processing-status", put_processing_status,
             "Set a contact's processing status", EDITORS, schemas.ProcessingStatusIn,
             schemas.ContactOut, conditional=True, errors=GONE),
    Endpoint("PUT", CONTACT + "/consent", put_consent, "Give or withdraw marketing consent",
             INTAKE, schemas.ConsentIn, schemas.ContactOut, conditional=True, errors=GONE),
    Endpoint("PUT", CONTACT + "/site-account", put_site_account,
             "Record the state of the person's site account", INTAKE, schemas.SiteAccountIn,
             schemas.ContactOut, conditional=True, errors=GONE),
    Endpoint("POST", CONTACT + "/site-account/unlock", post_unlock,
             "Unlock the person's site account", EDITORS, response=schemas.ContactOut,
             conditional=True, errors=GONE),
    Endpoint("POST", "/v1/groups", post_group, "Create a group", EDITORS, schemas.GroupIn,
             schemas.GroupOut, 201),
    Endpoint("GET", "/v1/groups", get_groups, "List groups", READERS,
             response=schemas.GroupList),
    Endpoint("POST", "/v1/groups/{group_id}/members", post_members,
             "Add selected contacts to a group, or remove them", EDITORS, schemas.MembersIn,
             schemas.MembersOut),
    Endpoint("GET", "/v1/groups/{group_id}/members", get_members,
             "Read the members of a group (the contact grid of the group)", READERS,
             response=schemas.ContactGrid, projected="grid", query=grids.MEMBER_GRID),
    Endpoint("POST", CONTACT + "/notes", work.post_note, "Write an internal note on a contact",
             EDITORS, schemas.NoteIn, schemas.NoteWritten, 201, conditional=True, errors=GONE),
    Endpoint("POST", "/v1/forms/{form}/submissions", work.post_form,
             "Take a site form (contact, registration, request): creates or updates the contact",
             INTAKE, schemas.FormIn, schemas.FormWritten, 201,
             path_params={"form": work.FormKind}),
    Endpoint("POST", CONTACT + "/site-account/password-reset", work.post_password_reset,
             "Ask the mailer to send a password-reset email", INTAKE,
             response=schemas.MessageRequested, status=202, errors=GONE),
    Endpoint("GET", "/v1/outbox", work.get_outbox, "Read the messages the mailer must send", MAILER,
             response=schemas.OutboxPage, projected="outbox+grid", query=work.OUTBOX_QUERY),
    Endpoint("POST", "/v1/outbox/{message_id}/ack", work.post_ack,
             "Acknowledge a message as sent (or failed)", MAILER, schemas.AckIn, schemas.AckOut),
    Endpoint("POST", "/v1/bulk", work.post_bulk,
             "Run a bulk action on selected contacts or a whole view, as a job", EDITORS,
             schemas.BulkIn, schemas.JobOut, 202, errors=REFERS),
    Endpoint("GET", "/v1/jobs/{job_id}", work.get_job, "Read the progress and report of a job",
             EDITORS, response=schemas.JobOut),
    Endpoint("POST", "/v1/imports", imports.post_import,
             "Import an .xlsx or .csv file into an event's participants or the contacts (a job)",
             EDITORS, schemas.ImportIn, schemas.ImportOut, 202, upload=True, errors=REFERS),
    Endpoint("GET", "/v1/imports/{import_id}", imports.get_import,
             "Read the progress, counts and skipped rows of an import", EDITORS,
             response=schemas.ImportOut),
    Endpoint("GET", "/v1/imports/{import_id}/report.csv", imports.get_import_report,
             "Read the per-row report of an import (row, outcome, id, reason)", EDITORS,
             media_type="text/csv; charset=utf-8"),
    Endpoint("POST", CONTACT + "/merge", post_merge,
             "Merge another contact of the same person into this one", EDITORS, MergeIn,
             schemas.ContactOut, conditional=True, errors=GONE),
)
# fmt: on
