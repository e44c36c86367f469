"""The analysts' read model (F21): anonymous facts, and the reports counted from them.

Facts (`projections/reports.py`) go to `rm_report_events`, `rm_report_participants` and
`rm_report_contacts` with the position, in one transaction per batch. Days are stored
as ISO text ('2025-03-11'), so a period is a prefix of it ('2025-03', '2025') on
SQLite and PostgreSQL alike. The reports are GROUP BY queries over these tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    delete,
    exists,
    func,
    insert,
    select,
)
from sqlalchemy.sql import ColumnElement

from adapters.sql.tracking import TrackedStore
from projections import reports
from projections.reports import ContactFact, EventFact, Facts, ParticipationFact

CHUNK = 1_000  # ids per IN (...) when loading facts
PERIODS = {"day": 10, "month": 7, "year": 4}

metadata = MetaData()
events = Table(
    "rm_report_events",
    metadata,
    Column("event_id", Uuid, primary_key=True),
    Column("account_id", Uuid, nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("series", String(200), nullable=False),
    Column("edition", Integer, nullable=False),
    Column("given_series", String(200)),  # what an edit recomputes series and edition from
    Column("created_in", Integer, nullable=False),
    Column("starts_on", String(10)),
    Index("rm_report_events_by_account", "account_id", "series", "edition"),
)
participants = Table(
    "rm_report_participants",
    metadata,
    Column("participant_id", Uuid, primary_key=True),
    Column("account_id", Uuid, nullable=False),
    Column("event_id", Uuid, nullable=False),
    Column("contact_id", Uuid),
    Column("status", String(32), nullable=False),
    Column("created_on", String(10), nullable=False),
    Column("registered_on", String(10)),
    Column("attended_on", String(10)),
    Index("rm_report_participants_by_event", "account_id", "event_id"),
    Index("rm_report_participants_by_contact", "contact_id", "event_id"),
)
contacts = Table(
    "rm_report_contacts",
    metadata,
    Column("contact_id", Uuid, primary_key=True),
    Column("account_id", Uuid, nullable=False),
    Column("created_on", String(10), nullable=False),
    Column("merged_on", String(10)),
    Column("erased_on", String(10)),
    Index("rm_report_contacts_by_account", "account_id", "created_on"),
)
TABLES = [events, participants, contacts]


class ReportQueryError(ValueError):
    """Raised when a report's parameters are not valid."""


class SqlReportStore(TrackedStore):
    """The projector's side: facts and position in one transaction per batch."""

    name = reports.NAME
    version = reports.VERSION
    tables = TABLES
    topics: frozenset[str] | None = reports.TOPICS
    positioned = False
    personal = False  # decoded without opening personal data

    def apply(self, batch: Sequence[Any], start: int, end: int) -> None:
        with self.advancing(start, end) as connection:
            facts = _load(connection, reports.needs(batch))
            for event in batch:
                reports.apply(facts, event)
            _write(connection, facts)


def _load(connection: Connection, needs: reports.Needs) -> Facts:
    facts = Facts()
    for chunk in _chunks(needs.events):
        for row in connection.execute(select(events).where(events.c.event_id.in_(chunk))):
            fields = {**row._asdict(), "starts_on": _day(row.starts_on)}
            facts.events[row.event_id] = EventFact(**fields)
    for chunk in _chunks(needs.participants):
        for row in connection.execute(
            select(participants).where(participants.c.participant_id.in_(chunk))
        ):
            facts.participants[row.participant_id] = ParticipationFact(
                row.participant_id,
                row.account_id,
                row.event_id,
                date.fromisoformat(row.created_on),
                row.status,
                row.contact_id,
                _day(row.registered_on),
                _day(row.attended_on),
            )
    for chunk in _chunks(needs.contacts):
        for row in connection.execute(select(contacts).where(contacts.c.contact_id.in_(chunk))):
            facts.contacts[row.contact_id] = ContactFact(
                row.contact_id,
                row.account_id,
                date.fromisoformat(row.created_on),
                _day(row.merged_on),
                _day(row.erased_on),
            )
    return facts


def _write(connection: Connection, facts: Facts) -> None:
    by_kind: dict[str, list[UUID]] = {"event": [], "participant": [], "contact": []}
    for kind, fact_id in facts.touched:
        by_kind[kind].append(fact_id)
    written = (
        (events, events.c.event_id, [_row(facts.events[i]) for i in by_kind["event"]]),
        (
            participants,
            participants.c.participant_id,
            [_row(facts.participants[i]) for i in by_kind["participant"]],
        ),
        (contacts, contacts.c.contact_id, [_row(facts.contacts[i]) for i in by_kind["contact"]]),
    )
    for table, key, rows in written:
        if not rows:
            continue
        for chunk in _chunks([row[key.name] for row in rows]):
            connection.execute(delete(table).where(key.in_(chunk)))
        connection.execute(insert(table), rows)


def _row(fact: EventFact | ParticipationFact | ContactFact) -> dict[str, Any]:
    """A fact as its table's row: days as ISO text."""
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in vars(fact).items()}


def _day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _chunks(ids: Iterable[UUID]) -> Iterable[list[UUID]]:
    items = list(ids)
    for index in range(0, len(items), CHUNK):
        yield items[index : index + CHUNK]


# --- the reports -----------------------------------------------------------------------


@dataclass(frozen=True)
class ReportQuery:
    account_id: UUID
    event_id: UUID | None = None
    series: str | None = None
    period: str = "month"
    since: date | None = None  # inclusive
    until: date | None = None  # exclusive

    def __post_init__(self) -> None:
        if self.period not in PERIODS:
            raise ReportQueryError(f"period must be one of {', '.join(PERIODS)}")
        if self.since and self.until and self.since >= self.until:
            raise ReportQueryError("from must be before to")


@dataclass(frozen=True)
class Report:
    name: str
    columns: tuple[str, ...]
    rows: list[dict[str, Any]]


class SqlReports:
    """The reports, read from the facts (F21)."""

    NAMES = ("registrations", "conversion", "returning", "growth")

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def report(self, name: str, query: ReportQuery) -> Report:
        if name not in self.NAMES:
            raise KeyError(name)
        with self.engine.connect() as connection:
            return getattr(self, f"_{name}")(connection, query)  # type: ignore[no-any-return]

    def _registrations(self, connection: Connection, query: ReportQuery) -> Report:
        """Registrations and check-ins per event and period (day, month or year)."""
        counts: dict[tuple[UUID, str], dict[str, int]] = {}
        for column, label in (
            (participants.c.registered_on, "registered"),
            (participants.c.attended_on, "attended"),
        ):
            period = func.substr(column, 1, PERIODS[query.period]).label("period")
            statement = (
                select(participants.c.event_id, period, func.count().label("n"))
                .join(events, events.c.event_id == participants.c.event_id)
                .where(*_scope(query), column.is_not(None), *_between(column, query))
                .group_by(participants.c.event_id, period)
            )
            for row in connection.execute(statement):
                cell = counts.setdefault((row.event_id, row.period), {})
                cell[label] = row.n
        known = self._events(connection, query)
        rows = [
            {
                **_event_columns(known[event_id]),
                "period": period,
                "registered": cell.get("registered", 0),
                "attended": cell.get("attended", 0),
            }
            for (event_id, period), cell in counts.items()
        ]
        rows.sort(key=lambda r: (r["edition"], r["series"], r["event_name"], r["period"]))
        return Report("registrations", (*EVENT_COLUMNS, "period", "registered", "attended"), rows)

    def _conversion(self, connection: Connection, query: ReportQuery) -> Report:
        """Per event: participants, those who registered, those who attended."""
        statement = (
            select(
                participants.c.event_id,
                func.count().label("participants"),
                func.count(participants.c.registered_on).label("registered"),
                func.count(participants.c.attended_on).label("attended"),
            )
            .join(events, events.c.event_id == participants.c.event_id)
            .where(*_scope(query), *_between(participants.c.created_on, query))
            .group_by(participants.c.event_id)
        )
        known = self._events(connection, query)
        rows = [
            {
                **_event_columns(known[row.event_id]),
                "participants": row.participants,
                "registered": row.registered,
                "attended": row.attended,
                "rate": _rate(row.attended, row.registered),
            }
            for row in connection.execute(statement)
        ]
        rows.sort(key=lambda r: (r["edition"], r["series"], r["event_name"]))
        columns = (*EVENT_COLUMNS, "participants", "registered", "attended", "rate")
        return Report("conversion", columns, rows)

    def _returning(self, connection: Connection, query: ReportQuery) -> Report:
        """Per series and edition: the people who registered, and how many of them
        registered again for the series' next edition."""
        editions: dict[str, list[int]] = {}
        statement = (
            select(events.c.series, events.c.edition)
            .where(*_event_scope(query))
            .distinct()
            .order_by(events.c.series, events.c.edition)
        )
        for row in connection.execute(statement):
            editions.setdefault(row.series, []).append(row.edition)
        rows = []
        for series, years in editions.items():
            for edition, following in zip(years, [*years[1:], None], strict=True):
                people, returned = self._came_back(connection, query, series, edition, following)
                rows.append(
                    {
                        "series": series,
                        "edition": edition,
                        "next_edition": following,
                        "people": people,
                        "returned": returned if following is not None else None,
                        "rate": _rate(returned, people) if following is not None else None,
                    }
                )
        columns = ("series", "edition", "next_edition", "people", "returned", "rate")
        return Report("returning", columns, rows)

    def _came_back(
        self,
        connection: Connection,
        query: ReportQuery,
        series: str,
        edition: int,
        following: int | None,
    ) -> tuple[int, int]:
        then = participants.alias("then")
        then_event = events.alias("then_event")
        people = (
            select(then.c.contact_id)
            .join(then_event, then_event.c.event_id == then.c.event_id)
            .where(
                then.c.account_id == query.account_id,
                then_event.c.series == series,
                then_event.c.edition == edition,
                then.c.contact_id.is_not(None),
                then.c.registered_on.is_not(None),
            )
            .distinct()
            .subquery()
        )
        total = connection.execute(select(func.count()).select_from(people)).scalar_one()
        if following is None:
            return total, 0
        later = participants.alias("later")
        later_event = events.alias("later_event")
        again = exists(
            select(later.c.participant_id)
            .join(later_event, later_event.c.event_id == later.c.event_id)
            .where(
                later.c.contact_id == people.c.contact_id,
                later_event.c.account_id == query.account_id,
                later_event.c.series == series,
                later_event.c.edition == following,
                later.c.registered_on.is_not(None),
            )
        )
        came = connection.execute(select(func.count()).select_from(people).where(again))
        return total, came.scalar_one()

    def _growth(self, connection: Connection, query: ReportQuery) -> Report:
        """Contacts per period: created, merged into another, erased; and the running
        total of people (created minus merged; erased people still count, anonymously).
        A merged contact is erased with its survivor: one person, counted once."""
        counts: dict[str, dict[str, int]] = {}
        for column, label, only in (
            (contacts.c.created_on, "created", None),
            (contacts.c.merged_on, "merged", None),
            (contacts.c.erased_on, "erased", contacts.c.merged_on.is_(None)),
        ):
            bucket = func.substr(column, 1, PERIODS[query.period]).label("period")
            statement = (
                select(bucket, func.count().label("n"))
                .where(contacts.c.account_id == query.account_id, column.is_not(None))
                .where(*([] if only is None else [only]))
                .group_by(bucket)
            )
            for row in connection.execute(statement):
                counts.setdefault(row.period, {})[label] = row.n
        rows, total = [], 0
        for period in sorted(counts):
            cell = counts[period]
            total += cell.get("created", 0) - cell.get("merged", 0)
            if _within(period, query):
                rows.append(
                    {
                        "period": period,
                        "created": cell.get("created", 0),
                        "merged": cell.get("merged", 0),
                        "erased": cell.get("erased", 0),
                        "total": total,
                    }
                )
        return Report("growth", ("period", "created", "merged", "erased", "total"), rows)

    def _events(self, connection: Connection, query: ReportQuery) -> dict[UUID, Any]:
        statement = select(events).where(*_event_scope(query))
        return {row.event_id: row for row in connection.execute(statement)}


EVENT_COLUMNS = ("event_id", "event_name", "kind", "series", "edition")


def _event_columns(row: Any) -> dict[str, Any]:
    return {
        "event_id": str(row.event_id),
        "event_name": row.name,
        "kind": row.kind,
        "series": row.series,
        "edition": row.edition,
    }


def _event_scope(query: ReportQuery) -> list[ColumnElement[bool]]:
    conditions = [events.c.account_id == query.account_id]
    if query.event_id is not None:
        conditions.append(events.c.event_id == query.event_id)
    if query.series is not None:
        conditions.append(events.c.series == query.series)
    return conditions


def _scope(query: ReportQuery) -> list[ColumnElement[bool]]:
    return [participants.c.account_id == query.account_id, *_event_scope(query)]


def _between(column: Any, query: ReportQuery) -> list[ColumnElement[bool]]:
    conditions = []
    if query.since is not None:
        conditions.append(column >= query.since.isoformat())
    if query.until is not None:
        conditions.append(column < query.until.isoformat())
    return conditions


def _within(period: str, query: ReportQuery) -> bool:
    """Whether a period ('2025', '2025-03' or '2025-03-11') overlaps [since, until)."""
    first_day = period + "-01-01"[len(period) - 4 :] if len(period) < 10 else period
    starts_before_until = query.until is None or first_day < query.until.isoformat()
    ends_after_since = query.since is None or period >= query.since.isoformat()[: len(period)]
    return starts_before_until and ends_after_since


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)
