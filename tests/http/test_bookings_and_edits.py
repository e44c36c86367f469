"""One booking per person (409 naming it) and no lost edit (decision 0050), over HTTP."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.http.conftest import Api, running_api
from tests.http.test_idempotency import register_as
from tests.http.test_routes import an_event, ok, problem, register
from tests.support.world import T0

RACERS = 20


def facts(api: Api, name: str) -> list[Any]:
    """The domain events of this kind in the log, oldest first."""
    ledger = api.system.ledger
    notes = ledger.recorder.select_notifications(1, 100_000)
    return [ledger.mapper.to_domain_event(n) for n in notes if n.topic.endswith(name)]


def test_a_second_registration_answers_409_naming_the_booking(api: Api) -> None:
    event_id = an_event(api)
    first = ok(register(api, event_id, email="ada@example.org", company="Acme"), 201)
    refused = problem(register(api, event_id, email="ADA@example.org"), 409)
    assert refused["participant_id"] == first["id"]
    assert ok(api.call("GET", f"/v1/events/{event_id}"))["several_bookings"] is False
    assert len(facts(api, "Participant.Registered")) == 1
    bob = ok(register(api, event_id, email="bob@example.org"), 201)
    path = f"/v1/events/{event_id}/participants/{bob['id']}"
    edit = {"fields": {"email": "ada@example.org"}}
    assert problem(api.call("PATCH", path, json=edit), 409)["participant_id"] == first["id"]


def test_an_event_with_several_bookings_books_the_person_again(api: Api) -> None:
    body = {"name": "Club", "kind": "community", "several_bookings": True}
    event = ok(api.call("POST", "/v1/events", json=body), 201)
    assert event["several_bookings"] is True
    first = ok(register(api, event["id"], email="ada@example.org"), 201)
    second = ok(register(api, event["id"], email="ada@example.org"), 201)
    assert first["id"] != second["id"]
    problem(api.call("POST", "/v1/events", json={**body, "several_bookings": "maybe"}), 422)


def test_an_idempotent_retry_still_answers_the_first_201(api: Api) -> None:
    event_id = an_event(api)
    first = register_as(api, event_id, "booking-1", email="ada@example.org")
    retried = register_as(api, event_id, "booking-1", email="ada@example.org")
    assert (first.status_code, retried.status_code) == (201, 201)
    assert retried.json()["id"] == first.json()["id"]
    other = problem(register_as(api, event_id, "booking-2", email="ada@example.org"), 409)
    assert other["participant_id"] == first.json()["id"]


def test_concurrent_duplicate_registrations_make_one_201_and_409s(api: Api) -> None:
    event_id = an_event(api)
    with ThreadPoolExecutor(RACERS) as pool:
        answers = list(
            pool.map(lambda _: register(api, event_id, email="ada@example.org"), range(RACERS))
        )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [409] * (RACERS - 1), [a.text for a in answers]
    booked = next(a.json()["id"] for a in answers if a.status_code == 201)
    assert {a.json()["participant_id"] for a in answers if a.status_code == 409} == {booked}


@pytest.fixture
def backwards_clock(tmp_path: Path, db_kind: str) -> Iterator[Api]:
    """Each reading of the clock is earlier than the one before: a request read it
    before another, yet its command may be decided after (as under load), so later
    decided edits are older and superseded."""
    ticks = itertools.count()
    lock = threading.Lock()

    def clock() -> datetime:
        with lock:
            return T0 + timedelta(hours=1) - timedelta(milliseconds=next(ticks))

    with running_api(db_kind, tmp_path, clock=clock) as api_:
        yield api_


def test_twenty_concurrent_contact_edits_all_reach_the_log_and_the_audit(
    backwards_clock: Api,
) -> None:
    api = backwards_clock
    event_id = an_event(api)
    contact_id = ok(register(api, event_id, email="ada@example.org"), 201)["contact_id"]
    path = f"/v1/contacts/{contact_id}"

    def edit(n: int) -> Any:
        return api.call("PATCH", path, "editor", json={"fields": {"company": f"Company {n}"}})

    with ThreadPoolExecutor(RACERS) as pool:
        answers = [ok(a) for a in pool.map(edit, range(RACERS))]
    superseded = [a["superseded"] for a in answers if a["superseded"]]
    assert superseded  # the clock runs backwards: every edit decided after the first loses
    for lost in superseded:
        assert len(lost) == 1 and lost[0]["field"] == "company"
        assert lost[0]["asked"] != lost[0]["standing"]
    for answer in answers:
        if not answer["superseded"]:
            assert answer["fields"]["company"].startswith("Company ")
    edits = [
        e
        for e in facts(api, "Contact.FieldsChanged") + facts(api, "Contact.EditSuperseded")
        if e.meta.actor == "editor-bot"
    ]
    assert len(edits) == RACERS
    assert len(facts(api, "Contact.EditSuperseded")) == len(superseded)
    position = api.system.ledger.recorder.max_notification_id()
    history = ok(
        api.call(
            "GET", f"{path}/history", "compliance", params={"after": str(position), "limit": "500"}
        )
    )["items"]
    by_editor = [i for i in history if i["actor"] == "editor-bot"]
    assert len(by_editor) == RACERS
    lost = [i for i in by_editor if i["action"] == "Contact.EditSuperseded"]
    assert len(lost) == len(superseded)
    assert all(set(i["changes"]) == {"company"} for i in lost)


def test_twenty_concurrent_participant_edits_all_reach_the_log(backwards_clock: Api) -> None:
    api = backwards_clock
    event_id = an_event(api, sync=False)
    participant = ok(register(api, event_id, email="ada@example.org"), 201)
    path = f"/v1/events/{event_id}/participants/{participant['id']}"

    def edit(n: int) -> Any:
        return api.call("PATCH", path, "editor", json={"fields": {"company": f"Company {n}"}})

    with ThreadPoolExecutor(RACERS) as pool:
        answers = [ok(a) for a in pool.map(edit, range(RACERS))]
    assert len(answers) == RACERS
    assert len(facts(api, "Participant.FieldsChanged")) == RACERS
