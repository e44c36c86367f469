"""Exports of grid views as CSV and .xlsx (F20)."""

from __future__ import annotations

import csv
import io
import json
from uuid import UUID

from openpyxl import load_workbook

from domain import commands
from domain.meta import Meta
from tests.http.conftest import Api
from tests.http.test_imports import counts, head, imported, upload
from tests.http.test_routes import an_event, problem, register
from tests.support.world import T0


def registered(api: Api, count: int = 3) -> tuple[str, str]:
    api.call(
        "PUT",
        "/v1/settings",
        json={"sync": {"company": "up_and_propagate", "last_name": "up", "first_name": "up"}},
    )
    event_id = an_event(api)
    response = None
    for n in range(count):
        company = '=HYPERLINK("http://evil")' if n == 0 else f"Company {n % 2}"
        response = register(
            api,
            event_id,
            email=f"p{n}@example.org",
            last_name=f"Name{n:04}",
            first_name="Zoé",
            company=company,
        )
    assert response is not None
    return event_id, response.headers["X-Position"]


def read_csv(response: object) -> list[dict[str, str]]:
    text = response.content.decode("utf-8")  # type: ignore[attr-defined]
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_contacts_export_as_csv_with_formulas_neutralised(api: Api) -> None:
    _, position = registered(api)
    response = api.call("GET", f"/v1/exports/contacts.csv?after={position}", "analyst")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="contacts.csv"' in response.headers["content-disposition"]
    rows = read_csv(response)
    assert [r["last_name"] for r in rows] == ["Name0000", "Name0001", "Name0002"]
    assert rows[0]["company"] == '\'=HYPERLINK("http://evil")'
    assert rows[0]["first_name"] == "Zoé"
    assert rows[1]["n_events"] == "1"
    assert rows[1]["events"] == "Salon 2025"


def test_exports_follow_the_grid_filter_and_sort(api: Api) -> None:
    _, position = registered(api, count=5)
    only = json.dumps({"field": "company", "op": "eq", "value": "company 1"})
    response = api.call(
        "GET",
        "/v1/exports/contacts.csv",
        params={"filter": only, "sort": "-name", "after": position},
    )
    assert [r["last_name"] for r in read_csv(response)] == ["Name0003", "Name0001"]


def test_a_large_export_walks_every_page(api: Api) -> None:
    event_id = an_event(api)
    batch = [
        commands.RegisterParticipant(api.account_id, UUID(event_id), {"email": f"b{n}@example.org"})
        for n in range(1_200)
    ]
    outcomes = api.system.ledger.register_participants(batch, T0, Meta("t", "admin", "http", "c"))
    api.system.projector.catch_up()  # beside the running follower: exactly once regardless
    path = f"/v1/events/{event_id}/participants.csv?after={outcomes[-1].position}"
    rows = read_csv(api.call("GET", path))
    assert len(rows) == 1_200
    assert len({r["id"] for r in rows}) == 1_200


def test_participants_export_as_xlsx(api: Api) -> None:
    event_id, position = registered(api)
    response = api.call("GET", f"/v1/events/{event_id}/participants.xlsx?after={position}")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    values = list(sheet.values)
    assert values[0][:4] == ("id", "event", "status", "source")
    assert len(values) == 4
    header = list(values[0])
    assert values[1][header.index("company")] == '=HYPERLINK("http://evil")'  # as text


PHONE = "+33 6 51 81 52 64"
PEOPLE = [
    {"email": "francois@example.org", "first_name": "François", "last_name": "Lefèvre",
     "company": "Société Générale", "phone_mobile": PHONE},
    {"email": "elodie@example.org", "first_name": "Élodie", "last_name": "Müller",
     "company": "-Énergie Verte", "phone_mobile": "+1 (555) 010-0199"},
    {"email": "ada@example.org", "first_name": "Ada", "last_name": "Lovelace",
     "company": '=HYPERLINK("http://evil")'},
]  # fmt: skip


def exported_people(api: Api) -> str:
    sync = {name: "up" for name in ("first_name", "last_name", "company", "phone_mobile")}
    api.call("PUT", "/v1/settings", json={"sync": sync})
    event_id = an_event(api)
    response = None
    for person in PEOPLE:
        response = register(api, event_id, **person)
    assert response is not None
    return str(response.headers["X-Position"])


def test_xlsx_cells_are_typed_text_with_no_guard(api: Api) -> None:
    position = exported_people(api)
    response = api.call("GET", f"/v1/exports/contacts.xlsx?after={position}")
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [c.value for c in sheet[1]]
    rows = {row[header.index("email")].value: row for row in sheet.iter_rows(min_row=2)}
    phone = rows["francois@example.org"][header.index("phone_mobile")]
    assert (phone.value, phone.data_type) == (PHONE, "s")
    formula = rows["ada@example.org"][header.index("company")]
    assert (formula.value, formula.data_type) == ('=HYPERLINK("http://evil")', "s")  # no formula
    assert rows["elodie@example.org"][header.index("company")].value == "-Énergie Verte"


def test_csv_guards_formulas_but_not_phone_numbers(api: Api) -> None:
    position = exported_people(api)
    rows = {
        r["email"]: r
        for r in read_csv(api.call("GET", f"/v1/exports/contacts.csv?after={position}"))
    }
    assert rows["francois@example.org"]["phone_mobile"] == PHONE
    assert rows["elodie@example.org"]["phone_mobile"] == "+1 (555) 010-0199"
    assert rows["elodie@example.org"]["company"] == "'-Énergie Verte"  # text after a minus
    assert rows["ada@example.org"]["company"] == '\'=HYPERLINK("http://evil")'


def test_an_exported_view_imports_back_unchanged(api: Api) -> None:
    position = exported_people(api)
    response = api.call("GET", f"/v1/exports/contacts.xlsx?after={position}")
    mapping = {
        name: name for name in ("email", "first_name", "last_name", "company", "phone_mobile")
    }
    before = head(api)
    report = imported(api, upload(api, response.content, "contacts.xlsx", mapping=mapping))
    assert report["status"] == "done", report
    assert counts(report) == (0, 0, 3, 0)
    assert head(api) == before  # not one event


def test_a_csv_export_without_formulas_imports_back_unchanged(api: Api) -> None:
    position = exported_people(api)
    formula = {"field": "email", "op": "ne", "value": "ada@example.org"}
    response = api.call(
        "GET", "/v1/exports/contacts.csv", params={"filter": json.dumps(formula), "after": position}
    )
    mapping = {name: name for name in ("email", "first_name", "last_name", "phone_mobile")}
    before = head(api)
    report = imported(api, upload(api, response.content, "contacts.csv", mapping=mapping))
    assert counts(report) == (0, 0, 2, 0), report
    assert head(api) == before


def test_export_errors_are_problems(api: Api) -> None:
    problem(api.call("GET", "/v1/exports/contacts.csv", params={"limit": "3"}), 422)
    problem(api.call("GET", "/v1/exports/contacts.xlsx", "service"), 403)
    problem(
        api.call("GET", "/v1/events/00000000-0000-0000-0000-000000000000/participants.csv"), 404
    )
