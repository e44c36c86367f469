"""The audit trail (F14): every event, old → new, who, when, via what; erasure blanks it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from uuid import UUID

import pytest
from sqlalchemy import inspect

from adapters.ledger import SealedContactLedger, build_ledger
from adapters.settings import Settings
from adapters.sql.audit_store import AuditQuery, AuditQueryError, SqlAuditStore, by_account
from adapters.sql.engine import make_engine
from domain import commands
from domain.meta import Meta
from tests.support.world import World


@pytest.fixture
def audited(db_settings: Settings) -> Iterator[tuple[World, SqlAuditStore]]:
    ledger = build_ledger(db_settings)
    store = SqlAuditStore(make_engine(db_settings.database))
    store.ensure_schema()
    yield World(ledger), store
    ledger.close()
    store.engine.dispose()


def catch_up(ledger: SealedContactLedger, store: SqlAuditStore, page: int = 7) -> None:
    """The projector's loop, in small pages so that batches split commands."""
    while True:
        start = store.position()
        found = ledger.recorder.select_notifications(start=start + 1, limit=page)
        if not found:
            return
        ledger.keyring.prefetch({n.originator_id for n in found})
        pairs = [(n.id, ledger.mapper.to_domain_event(n)) for n in found]
        store.apply(pairs, start, found[-1].id)


class Story:
    def __init__(self, world: World) -> None:
        self.world = world
        self.account_id = world.account(sync={"company": "up_and_propagate"})
        self.events = [world.event(self.account_id), world.event(self.account_id)]
        self.ada = [
            world.register(self.account_id, e, email="ada@example.org", company="Acme")
            for e in self.events
        ]
        contact = world.contact_of(self.account_id, self.ada[0])
        assert contact is not None
        self.contact_id: UUID = contact.id
        world.meta = Meta("bob", "editor", "http", "req-1")
        world.edit(self.account_id, self.events[0], self.ada[0], company="Globex")
        world.status(self.account_id, self.events[1], self.ada[1], "attended")


def test_the_history_of_a_contact_tells_old_and_new_values_and_how(
    audited: tuple[World, SqlAuditStore],
) -> None:
    world, store = audited
    story = Story(world)
    catch_up(world.ledger, store)
    history = store.page(AuditQuery(story.account_id, contact_id=story.contact_id)).entries
    actions = [e.action for e in history]
    assert actions.count("Participant.Registered") == 2  # registered before being linked
    taken = next(e for e in history if e.action == "Contact.FieldsChanged" and e.actor == "bob")
    assert taken.changes == {"company": ["Acme", "Globex"]}
    assert taken.details["via"] == {
        "participant_id": str(story.ada[0]),
        "organiser_event_id": str(story.events[0]),
    }
    pushed = next(
        e
        for e in history
        if e.action == "Participant.FieldsChanged" and e.subject_id == story.ada[1]
    )
    assert pushed.origin == "propagation"
    assert pushed.causation_id == f"participant:{story.ada[0]}"
    assert pushed.changes == {"company": ["Acme", "Globex"]}
    assert pushed.organiser_event_id == story.events[1]
    status = next(e for e in history if e.action == "Participant.StatusChanged")
    assert status.details == {"status": "attended", "previous": "registered"}
    positions = [e.position for e in history]
    assert positions == sorted(positions)


def test_an_entry_lists_only_the_values_that_changed(
    audited: tuple[World, SqlAuditStore],
) -> None:
    world, store = audited
    account_id = world.account(sync={"company": "up"})
    first, second = world.event(account_id), world.event(account_id)
    ada = world.register(account_id, first, email="ada@example.org", company="Acme")
    world.register(account_id, second, email="ADA@example.org", company="Acme")
    contact = world.contact_of(account_id, ada)
    assert contact is not None
    catch_up(world.ledger, store)
    history = store.page(AuditQuery(account_id, contact_id=contact.id)).entries
    changed = [e.changes for e in history if e.action == "Contact.FieldsChanged"]
    assert changed == [{"email": ["ada@example.org", "ADA@example.org"]}]


def test_queries_by_actor_action_time_and_pages(audited: tuple[World, SqlAuditStore]) -> None:
    world, store = audited
    story = Story(world)
    catch_up(world.ledger, store)
    everything = AuditQuery(story.account_id, limit=500)
    every = store.page(everything).entries
    assert {e.action for e in every} >= {"Account.Opened", "OrganiserEvent.Created"}
    by_bob = store.page(replace(everything, actor="bob")).entries
    assert by_bob and all(e.actor == "bob" for e in by_bob)
    statuses = store.page(replace(everything, action="Participant.StatusChanged")).entries
    assert len(statuses) == 1
    middle = every[len(every) // 2].at
    later = store.page(replace(everything, since=middle)).entries
    earlier = store.page(replace(everything, until=middle)).entries
    assert len(later) + len(earlier) == len(every)
    walked, cursor = [], None
    while True:
        page = store.page(replace(everything, limit=4, cursor=cursor))
        walked += page.entries
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert [e.position for e in walked] == [e.position for e in every]
    assert list(store.rows(everything)) == every
    with pytest.raises(AuditQueryError):
        store.page(replace(everything, cursor="bm9wZQ=="))
    other = world.account()
    catch_up(world.ledger, store)
    assert all(e.account_id == other for e in store.page(AuditQuery(other)).entries)


def test_erasure_blanks_the_values_and_keeps_the_facts(
    audited: tuple[World, SqlAuditStore],
) -> None:
    world, store = audited
    story = Story(world)
    catch_up(world.ledger, store)
    erase = commands.EraseContact(story.account_id, story.contact_id)
    world.ledger.erase_contact(erase, world.tick() + timedelta(seconds=1), world.meta)
    catch_up(world.ledger, store)
    history = store.page(AuditQuery(story.account_id, contact_id=story.contact_id, limit=500))
    text = repr(history.entries)
    assert "ada@example.org" not in text and "Globex" not in text and "Acme" not in text
    changed = [e for e in history.entries if e.action.endswith("FieldsChanged")]
    assert changed and all(set(v) == {"[erased]"} for e in changed for v in e.changes.values())
    assert "Contact.Erased" in [e.action for e in history.entries]
    # rebuilt from the log after the keys are gone: nothing comes back
    store.reset()
    catch_up(world.ledger, store)
    rebuilt = store.page(AuditQuery(story.account_id, contact_id=story.contact_id, limit=500))
    assert "ada@example.org" not in repr(rebuilt.entries)
    assert [e.action for e in rebuilt.entries] == [e.action for e in history.entries]


def test_rebuilding_the_audit_equals_building_it_as_events_came(
    audited: tuple[World, SqlAuditStore],
) -> None:
    world, store = audited
    story = Story(world)
    catch_up(world.ledger, store, page=3)
    world.edit_contact(story.account_id, story.contact_id, company="Initech")
    catch_up(world.ledger, store, page=2)
    everything = AuditQuery(story.account_id, limit=500)
    incremental = store.page(everything).entries
    store.reset()
    catch_up(world.ledger, store, page=1000)
    assert store.page(everything).entries == incremental


def test_an_audit_table_from_before_the_feed_gets_the_feeds_index(
    audited: tuple[World, SqlAuditStore],
) -> None:
    _, store = audited
    with store.engine.begin() as connection:
        by_account.drop(connection)
    assert store.ensure_schema() is False  # kept, not rebuilt
    names = {i["name"] for i in inspect(store.engine).get_indexes("rm_audit")}
    assert "rm_audit_by_account" in names
