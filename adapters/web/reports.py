"""The audit and reports screens: the trail of who changed what (compliance), and the
analysts' reports drawn as bar charts beside their tables (inline SVG, no script)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from adapters.web.calls import RefusedError, read
from adapters.web.pages import Page

AUDIT_KEYS = ("actor", "action", "contact", "from", "to", "cursor")
REPORTS = ("registrations", "conversion", "returning", "growth")
REPORT_KEYS = ("event_id", "series", "period", "from", "to")
CHART_WIDTH, BAR_HEIGHT, LABEL_WIDTH = 640, 22, 220


async def audit(page: Page) -> Response:
    params = page.request.query_params
    query = {k: params[k] for k in AUDIT_KEYS if params.get(k)}
    found, error = None, None
    try:
        found = await read(page.runtime, page.request, page.user, ("GET", "/v1/audit"), query=query)
    except RefusedError as refused:
        if refused.status != 422:
            raise
        error = refused
    users = page.runtime.users
    actors = {e.actor for e in found.items} if found else set()
    names = await run_in_threadpool(users.names, actors) if users is not None else {}
    kept = [(k, v) for k, v in params.multi_items() if k != "cursor"]
    return page.render(
        "audit.html",
        422 if error else 200,
        entries=found.items if found else [],
        error=error,
        names=names,
        exported=urlencode(kept),
        next_link=None
        if found is None or found.next_cursor is None
        else "?" + urlencode([*kept, ("cursor", found.next_cursor)]),
    )


async def audit_csv(page: Page) -> Response:
    params = page.request.query_params
    query = {k: params[k] for k in AUDIT_KEYS[:-1] if params.get(k)}
    answer = await read(
        page.runtime, page.request, page.user, ("GET", "/v1/exports/audit.csv"), query=query
    )
    answer.headers["Cache-Control"] = "no-store"
    return answer  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    y: int
    width: int


@dataclass(frozen=True)
class Chart:
    column: str
    bars: list[Bar]
    height: int
    width: int = CHART_WIDTH
    label_width: int = LABEL_WIDTH


def chart(columns: list[str], rows: list[dict[str, Any]]) -> Chart | None:
    """Bars of the report's first numeric column, labelled by its other columns."""
    numeric = [c for c in columns if rows and all(isinstance(r.get(c), int | float) for r in rows)]
    if not numeric:
        return None
    column = numeric[0]
    labels = [c for c in columns if c not in numeric]
    top = max((float(r[column]) for r in rows), default=0.0) or 1.0
    room = CHART_WIDTH - LABEL_WIDTH - 60
    bars = [
        Bar(
            " · ".join(str(r.get(c) or "") for c in labels)[:40],
            float(r[column]),
            i * BAR_HEIGHT,
            max(1, round(room * float(r[column]) / top)),
        )
        for i, r in enumerate(rows[:40])
    ]
    return Chart(column, bars, len(bars) * BAR_HEIGHT)


async def reports(page: Page) -> Response:
    params = page.request.query_params
    name = params.get("report", "registrations")
    if name not in REPORTS:
        raise RefusedError(404, page._("No such report."))
    query = {k: params[k] for k in REPORT_KEYS if params.get(k)}
    found, error = None, None
    try:
        found = await read(
            page.runtime,
            page.request,
            page.user,
            ("GET", "/v1/reports/{name}"),
            {"name": name},
            query,
        )
    except RefusedError as refused:
        if refused.status != 422:
            raise
        error = refused
    events = await read(page.runtime, page.request, page.user, ("GET", "/v1/events"))
    return page.render(
        "reports.html",
        422 if error else 200,
        report=found,
        name=name,
        names=REPORTS,
        error=error,
        chart=None if found is None else chart(found.columns, found.rows),
        events=events.items,
        query=query,
        csv=f"/reports/{name}.csv?" + urlencode(query),
    )


async def report_csv(page: Page) -> Response:
    name = page.request.path_params["name"]
    params = page.request.query_params
    query = {k: params[k] for k in REPORT_KEYS if params.get(k)}
    answer = await read(
        page.runtime,
        page.request,
        page.user,
        ("GET", "/v1/reports/{name}.csv"),
        {"name": name},
        query,
    )
    answer.headers["Cache-Control"] = "no-store"
    return answer  # type: ignore[no-any-return]
