"""The back office's routes, served by the API's process at `/` (the API stays at `/v1`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from adapters.http.endpoint import Runtime
from adapters.web import contacts, events, imports, jobs, reports, settings, sign_in
from adapters.web.forms import shown
from adapters.web.i18n import HERE, environments
from adapters.web.pages import Handler, page


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else ""


def web_routes(runtime: Runtime) -> list[BaseRoute]:
    envs = environments({"when": _when, "shown": shown})

    def at(path: str, handler: Handler, methods: tuple[str, ...] = ("GET",), **kw: Any) -> Route:
        return Route(path, page(runtime, envs, handler, **kw), methods=list(methods))

    return [
        at("/", sign_in.home, public=True),
        at("/sign-in", sign_in.sign_in_form, public=True),
        at("/sign-in", sign_in.sign_in, ("POST",), public=True),
        at("/sign-out", sign_in.sign_out, ("POST",)),
        at("/language", sign_in.switch_language, public=True),
        at("/contacts", contacts.contacts),
        at("/contacts/deleted", contacts.deleted),
        at("/contacts/bulk", contacts.bulk, ("POST",)),
        at("/contacts/views", contacts.save_view, ("POST",)),
        at("/contacts/export.{kind}", contacts.export),
        at("/contacts/{contact_id}", contacts.contact),
        at("/contacts/{contact_id}", contacts.edit_contact, ("POST",)),
        at("/contacts/{contact_id}/notes", contacts.add_note, ("POST",)),
        at("/contacts/{contact_id}/processing", contacts.set_processing, ("POST",)),
        at("/contacts/{contact_id}/delete", contacts.delete_contact, ("POST",)),
        at("/contacts/{contact_id}/restore", contacts.restore, ("POST",)),
        at("/contacts/{contact_id}/merge", contacts.merge, ("POST",)),
        at("/contacts/{contact_id}/export.json", contacts.access_export),
        at("/contacts/{contact_id}/do/{action}", contacts.contact_action, ("POST",)),
        at("/events", events.events),
        at("/events", events.create_event, ("POST",)),
        at("/events/{event_id}", events.event),
        at("/events/{event_id}", events.edit_event, ("POST",)),
        at("/events/{event_id}/sync", events.change_sync, ("POST",)),
        at("/events/{event_id}/backfill", events.backfill, ("POST",)),
        at("/events/{event_id}/participants/{participant_id}", events.participant),
        at("/events/{event_id}/participants/{participant_id}", events.edit_participant, ("POST",)),
        at(
            "/events/{event_id}/participants/{participant_id}/status",
            events.change_status,
            ("POST",),
        ),
        at("/jobs/{job_id}", jobs.job),
        at("/imports", imports.imports),
        at("/imports", imports.upload, ("POST",)),
        at("/imports/start", imports.start, ("POST",)),
        at("/imports/{import_id}", imports.progress),
        at("/imports/{import_id}/report.csv", imports.report),
        at("/settings", settings.settings),
        at("/settings", settings.save, ("POST",)),
        at("/settings/fields", settings.define_field, ("POST",)),
        at("/audit", reports.audit),
        at("/audit/export.csv", reports.audit_csv),
        at("/reports", reports.reports),
        at("/reports/{name}.csv", reports.report_csv),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
