"""Analyst reports (F21) from the reports projection, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select

from adapters.ledger import build_ledger
from adapters.projector import Projector
from adapters.settings import Settings
from adapters.sql import report_store
from adapters.sql.engine import make_engine
from adapters.sql.report_store import ReportQuery, ReportQueryError, SqlReports, SqlReportStore
from domain import commands
from tests.support.world import World


class Reporting:
    def __init__(self, settings_: Settings) -> None:
        self.ledger = build_ledger(settings_)
        self.engine = make_engine(settings_.database)
        self.store = SqlReportStore(self.engine)
        self.store.ensure_schema()
        self.projector = Projector(self.ledger, self.store, settings_.database)
        self.reports = SqlReports(self.engine)
        self.world = World(self.ledger)

    def report(self, name: str, account_id: UUID, **query: Any) -> list[dict[str, Any]]:
        self.projector.catch_up()
        return self.reports.report(name, ReportQuery(account_id, **query)).rows

    def event(self, account_id: UUID, name: str, starts_on: date | None, **kw: Any) -> UUID:
        cmd = commands.CreateOrganiserEvent(account_id, name, "event", starts_on, **kw)
        event_id = self.ledger.create_organiser_event(cmd, self.world.tick(), self.world.meta).id
        self.world.sync(account_id, event_id)
        return event_id

    def on(self, day: str) -> None:
        self.world.now = datetime.fromisoformat(day).replace(hour=9, tzinfo=UTC)

    def close(self) -> None:
        self.ledger.close()
        self.engine.dispose()


@pytest.fixture
def reporting(store_settings: Settings) -> Iterator[Reporting]:
    system = Reporting(store_settings)
    yield system
    system.close()


@pytest.fixture
def salon(reporting: Reporting) -> dict[str, Any]:
    """Two editions of a salon: four people in 2024, two of whom come back in 2025."""
    world = reporting.world
    reporting.on("2024-01-10")
    account_id = world.account()
    first = reporting.event(account_id, "Salon 2024", date(2024, 3, 12))
    second = reporting.event(account_id, "Salon 2025", date(2025, 3, 11))
    people = {}
    for n, day in enumerate(("2024-01-15", "2024-01-20", "2024-02-03", "2024-02-28")):
        reporting.on(day)
        people[n] = world.register(account_id, first, email=f"visitor{n}@example.org")
    reporting.on("2024-03-12")
    for n in (0, 1, 2):
        world.status(account_id, first, people[n], "attended")
    reporting.on("2025-02-01")
    back = [world.register(account_id, second, email=f"visitor{n}@example.org") for n in (0, 3)]
    world.register(account_id, second, email="newcomer@example.org", status="open")
    reporting.on("2025-03-11")
    world.status(account_id, second, back[0], "attended")
    return {"account": account_id, "first": first, "second": second, "people": people}


def test_registrations_and_check_ins_are_counted_per_event_and_month(
    reporting: Reporting, salon: dict[str, Any]
) -> None:
    rows = reporting.report("registrations", salon["account"])
    assert [(r["event_name"], r["period"], r["registered"], r["attended"]) for r in rows] == [
        ("Salon 2024", "2024-01", 2, 0),
        ("Salon 2024", "2024-02", 2, 0),
        ("Salon 2024", "2024-03", 0, 3),
        ("Salon 2025", "2025-02", 2, 0),
        ("Salon 2025", "2025-03", 0, 1),
    ]
    assert {r["series"] for r in rows} == {"Salon"}
    assert {(r["event_name"], r["edition"]) for r in rows} == {
        ("Salon 2024", 2024),
        ("Salon 2025", 2025),
    }


def test_registrations_by_year_day_event_and_dates(
    reporting: Reporting, salon: dict[str, Any]
) -> None:
    account_id = salon["account"]
    by_year = reporting.report("registrations", account_id, period="year")
    assert [(r["period"], r["registered"], r["attended"]) for r in by_year] == [
        ("2024", 4, 3),
        ("2025", 2, 1),
    ]
    by_day = reporting.report("registrations", account_id, period="day", event_id=salon["second"])
    assert [(r["period"], r["registered"], r["attended"]) for r in by_day] == [
        ("2025-02-01", 2, 0),
        ("2025-03-11", 0, 1),
    ]
    february = reporting.report(
        "registrations", account_id, since=date(2024, 2, 1), until=date(2024, 3, 1)
    )
    assert [(r["period"], r["registered"]) for r in february] == [("2024-02", 2)]


def test_conversion_counts_who_registered_and_who_attended(
    reporting: Reporting, salon: dict[str, Any]
) -> None:
    rows = reporting.report("conversion", salon["account"])
    assert [
        (r["event_name"], r["participants"], r["registered"], r["attended"], r["rate"])
        for r in rows
    ] == [("Salon 2024", 4, 4, 3, 0.75), ("Salon 2025", 3, 2, 1, 0.5)]


def test_undoing_a_check_in_takes_it_out_of_attendance(
    reporting: Reporting, salon: dict[str, Any]
) -> None:
    world, account_id = reporting.world, salon["account"]
    reporting.on("2024-03-13")
    world.status(account_id, salon["first"], salon["people"][2], "registered")
    rows = reporting.report("conversion", account_id, event_id=salon["first"])
    assert [(r["registered"], r["attended"]) for r in rows] == [(4, 2)]


def test_returning_people_per_series_and_edition(
    reporting: Reporting, salon: dict[str, Any]
) -> None:
    world, account_id = reporting.world, salon["account"]
    other = reporting.event(account_id, "Forum", date(2024, 6, 1), series="Forum Lyon")
    world.register(account_id, other, email="visitor1@example.org")
    rows = reporting.report("returning", account_id)
    assert [
        (r["series"], r["edition"], r["next_edition"], r["people"], r["returned"], r["rate"])
        for r in rows
    ] == [
        ("Forum Lyon", 2024, None, 1, None, None),
        ("Salon", 2024, 2025, 4, 2, 0.5),
        ("Salon", 2025, None, 2, None, None),
    ]
    only = reporting.report("returning", account_id, series="Salon")
    assert [r["edition"] for r in only] == [2024, 2025]


def test_a_person_counts_once_per_edition_whatever_their_key_spelling(
    reporting: Reporting, salon: dict[str, Any]
) -> None:
    world, account_id = reporting.world, salon["account"]
    world.register(account_id, salon["second"], email="VISITOR1@Example.org ")
    rows = reporting.report("returning", account_id)
    assert [(r["edition"], r["people"], r["returned"]) for r in rows] == [
        (2024, 4, 3),
        (2025, 3, None),
    ]


def test_growth_counts_contacts_created_merged_and_erased_per_month(
    reporting: Reporting, salon: dict[str, Any]
) -> None:
    world, ledger, account_id = reporting.world, reporting.ledger, salon["account"]
    people = salon["people"]
    contact = {n: world.contact_of(account_id, people[n]) for n in (1, 2)}
    reporting.on("2025-04-02")
    merge = commands.MergeContacts(account_id, contact[1].id, contact[2].id)  # type: ignore[union-attr]
    ledger.merge_contacts(merge, world.tick(), world.meta)
    erase = commands.EraseContact(account_id, contact[1].id)  # type: ignore[union-attr]
    ledger.erase_contact(erase, world.tick(), world.meta)
    rows = reporting.report("growth", account_id)
    assert [(r["period"], r["created"], r["merged"], r["erased"], r["total"]) for r in rows] == [
        ("2024-01", 2, 0, 0, 2),
        ("2024-02", 2, 0, 0, 4),
        ("2025-02", 1, 0, 0, 5),
        ("2025-04", 0, 1, 1, 4),
    ]
    later = reporting.report("growth", account_id, since=date(2025, 1, 1))
    assert [(r["period"], r["total"]) for r in later] == [("2025-02", 5), ("2025-04", 4)]


def test_an_erased_persons_registrations_still_count(
    reporting: Reporting, salon: dict[str, Any]
) -> None:
    world, ledger, account_id = reporting.world, reporting.ledger, salon["account"]
    before = {name: reporting.report(name, account_id) for name in ("registrations", "conversion")}
    returning = reporting.report("returning", account_id)
    contact = world.contact_of(account_id, salon["people"][0])
    assert contact is not None
    erase = commands.EraseContact(account_id, contact.id)
    ledger.erase_contact(erase, world.tick(), world.meta)
    assert reporting.report("registrations", account_id) == before["registrations"]
    assert reporting.report("conversion", account_id) == before["conversion"]
    assert reporting.report("returning", account_id) == returning


def test_the_facts_hold_nothing_personal(reporting: Reporting, salon: dict[str, Any]) -> None:
    reporting.projector.catch_up()
    with reporting.engine.connect() as connection:
        stored = [
            repr(tuple(row))
            for table in report_store.TABLES
            for row in connection.execute(select(table))
        ]
    assert len(stored) == 2 + 7 + 5  # events, participants, contacts
    assert not [row for row in stored if "example.org" in row or "visitor" in row]


def test_another_accounts_facts_never_count(reporting: Reporting, salon: dict[str, Any]) -> None:
    world = reporting.world
    other = world.account()
    event_id = reporting.event(other, "Salon 2024", date(2024, 3, 12))
    world.register(other, event_id, email="visitor0@example.org")
    rows = reporting.report("conversion", salon["account"])
    assert [r["participants"] for r in rows] == [4, 3]
    assert [r["participants"] for r in reporting.report("conversion", other)] == [1]


def test_a_rebuild_gives_the_same_reports(reporting: Reporting, salon: dict[str, Any]) -> None:
    names = ("registrations", "conversion", "returning", "growth")
    live = {name: reporting.report(name, salon["account"]) for name in names}
    reporting.projector.rebuild()
    assert {name: reporting.report(name, salon["account"]) for name in names} == live


def test_an_edited_event_moves_to_its_new_series_and_edition_live_and_rebuilt(
    reporting: Reporting, salon: dict[str, Any]
) -> None:
    world, account_id = reporting.world, salon["account"]

    def edit(**changes: Any) -> None:
        cmd = commands.ChangeOrganiserEventDetails(account_id, salon["second"], **changes)
        reporting.ledger.change_organiser_event_details(cmd, world.tick(), world.meta)

    def returning() -> list[tuple[Any, ...]]:
        rows = reporting.report("returning", account_id)
        return [(r["series"], r["edition"], r["people"], r["returned"]) for r in rows]

    edit(name="Salon Expo 2025")  # its series follows the name: no longer the Salon's
    assert returning() == [("Salon", 2024, 4, None), ("Salon Expo", 2025, 2, None)]
    edit(series="Salon", starts_on=date(2026, 3, 10))
    assert returning() == [("Salon", 2024, 4, 2), ("Salon", 2026, 2, None)]
    edit(starts_on=None)  # the edition of its creation year again
    assert returning() == [("Salon", 2024, 4, None)]  # one edition: the same four people
    live = reporting.report("conversion", account_id)
    assert [(r["event_name"], r["series"], r["edition"]) for r in live] == [
        ("Salon 2024", "Salon", 2024),
        ("Salon Expo 2025", "Salon", 2024),
    ]
    reporting.projector.rebuild()
    assert reporting.report("conversion", account_id) == live


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ({"period": "week"}, "period must be one of day, month, year"),
        ({"since": date(2025, 1, 1), "until": date(2025, 1, 1)}, "from must be before to"),
    ],
)
def test_refuses_bad_report_queries(query: dict[str, Any], reason: str) -> None:
    with pytest.raises(ReportQueryError, match=reason):
        ReportQuery(UUID(int=1), **query)


def test_an_event_without_start_date_is_the_edition_of_its_creation_year(
    reporting: Reporting,
) -> None:
    world = reporting.world
    reporting.on("2026-05-04")
    account_id = world.account()
    event_id = reporting.event(account_id, "Webinaire IA", None)
    world.register(account_id, event_id, email="viewer@example.org")
    rows = reporting.report("conversion", account_id)
    assert [(r["series"], r["edition"]) for r in rows] == [("Webinaire IA", 2026)]


def test_the_projection_never_opens_personal_data(
    reporting: Reporting, salon: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: Any) -> None:
        raise AssertionError("the reports projection opened a sealed value")

    monkeypatch.setattr(reporting.ledger.keyring, "open", refuse)
    monkeypatch.setattr(reporting.ledger.keyring, "prefetch", refuse)
    assert [r["participants"] for r in reporting.report("conversion", salon["account"])] == [4, 3]
