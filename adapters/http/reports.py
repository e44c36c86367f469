"""Analyst reports (F21): `GET /v1/reports/{name}` as JSON, `…/{name}.csv` as CSV."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal
from uuid import UUID

from starlette.responses import StreamingResponse

from adapters import exporting
from adapters.exporting import Column
from adapters.http import schemas
from adapters.http.endpoint import Context, Reply
from adapters.http.errors import HttpError
from adapters.http.parameters import Parameter
from adapters.sql.report_store import Report, ReportQuery, ReportQueryError
from adapters.times import Day

ReportName = Literal["registrations", "conversion", "returning", "growth"]
Period = Literal["day", "month", "year"]
QUERY = (
    Parameter("event_id", UUID, "Only this event (registrations, conversion)"),
    Parameter("series", str, "Only the editions of this series"),
    Parameter("period", Period, "day, month (default) or year (registrations, growth)"),
    FROM := Parameter("from", Day, "From this day on (inclusive; a date, or 00:00 UTC)"),
    TO := Parameter("to", Day, "Before this day (exclusive; a date, or 00:00 UTC)"),
)


def get_report(ctx: Context) -> Reply:
    report = _report(ctx)
    return Reply(
        schemas.ReportOut(name=report.name, columns=list(report.columns), rows=report.rows)
    )


def get_report_csv(ctx: Context) -> Reply:
    report = _report(ctx)
    columns = [Column(name, _cell(name)) for name in report.columns]
    rows = ([c.value(row) for c in columns] for row in report.rows)
    headers = {"Content-Disposition": f'attachment; filename="{report.name}.csv"'}
    stream = exporting.csv_stream(columns, rows)
    return Reply(StreamingResponse(stream, media_type="text/csv; charset=utf-8", headers=headers))


def _report(ctx: Context) -> Report:
    params = ctx.query
    try:
        query = ReportQuery(
            ctx.account_id,
            event_id=ctx.uuid_parameter("event_id"),
            series=params.get("series"),
            period=params.get("period", "month"),
            since=_day(params.get("from"), FROM),
            until=_day(params.get("to"), TO),
        )
    except ReportQueryError as error:
        raise HttpError(422, str(error)) from None
    return ctx.reports.report(ctx.path["name"], query)


def _day(raw: str | None, parameter: Parameter) -> date | None:
    return None if raw is None else parameter.parse(raw)


def _cell(name: str) -> Any:
    return lambda row: "" if row.get(name) is None else row[name]
