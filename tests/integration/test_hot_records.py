"""Hot records (decision 0049): a person registering again and again costs each command
the same, propagation writes only what differs, and a large fan-out is left to the
follow-up, which converges."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from uuid import UUID

import pytest

from adapters.hot_contacts import HotAggregates, copied
from adapters.ledger import SealedContactLedger, build_ledger
from adapters.projector import Projector
from adapters.propagation import PropagationFollower
from adapters.settings import Settings
from adapters.sql.engine import make_engine
from domain import commands
from domain.contacts import Contact
from domain.propagation import SYNC_FAN_OUT
from tests.support.world import World

SYNC = {"company": "up_and_propagate"}
EMAIL = "expo@example.org"


@pytest.fixture
def follow_up(store_settings: Settings, ledger: SealedContactLedger) -> Iterator[Projector]:
    engine = make_engine(store_settings.database)
    follower = PropagationFollower(engine, ledger, clock=lambda: World(ledger).tick())
    follower.ensure_schema()
    yield Projector(ledger, follower, store_settings.database)
    engine.dispose()


def regulars(world: World, count: int, company: str = "Acme") -> tuple[UUID, list[UUID]]:
    """An account whose one person registered to `count` events."""
    account_id = world.account(sync=SYNC)
    people = [
        world.register(account_id, world.event(account_id), email=EMAIL, company=company)
        for _ in range(count)
    ]
    return account_id, people


def test_registering_with_the_same_value_writes_on_no_other_participant(world: World) -> None:
    account_id, _ = regulars(world, 3)
    before = world.position()
    world.register(account_id, world.event(account_id), email=EMAIL, company="Acme")
    facts = world.facts_since(before)
    assert "Participant.FieldsChanged" not in facts, facts


def test_an_equal_value_still_outdates_an_older_edit(world: World) -> None:
    """The registration says "Acme" after the edit below was made: the latest edit wins,
    though the value it brought up was already the contact's."""
    account_id, people = regulars(world, 1)
    edited_before = world.now + timedelta(seconds=1)
    world.tick(10)
    world.register(account_id, world.event(account_id), email=EMAIL, company="Acme")
    event_id = world.participant(account_id, people[0]).organiser_event_id
    world.edit(account_id, event_id, people[0], at=edited_before, company="Globex")  # type: ignore[arg-type]
    assert world.contact_of(account_id, people[0]).fields["company"] == "Acme"  # type: ignore[union-attr]


def test_a_large_fan_out_is_queued_and_the_follow_up_converges(
    world: World, follow_up: Projector
) -> None:
    account_id, people = regulars(world, SYNC_FAN_OUT + 2)
    follow_up.catch_up()
    before = world.position()
    newcomer = world.register(account_id, world.event(account_id), email=EMAIL, company="Globex")
    facts = world.facts_since(before)
    assert "Contact.PropagationQueued" in facts
    assert "Participant.FieldsChanged" not in facts  # nobody else written in the request
    follow_up.catch_up()
    assert {world.participant(account_id, p).fields["company"] for p in people} == {"Globex"}
    assert world.participant(account_id, newcomer).fields["company"] == "Globex"
    again = world.position()
    follow_up.rebuild()  # applying the queue again writes nothing
    assert world.position() == again


def test_a_hot_contact_loads_as_a_replay_would(world: World) -> None:
    account_id, people = regulars(world, 40)
    contact_id = world.contact_of(account_id, people[0]).id  # type: ignore[union-attr]
    assert world.ledger.hot.take(contact_id) is not None
    hot = world.ledger.load(contact_id)
    replayed = world.ledger.repository.get(contact_id)
    assert isinstance(hot, Contact)
    assert vars(hot) == vars(replayed)


def test_a_hot_contact_is_forgotten_when_erased(world: World) -> None:
    account_id, people = regulars(world, 40)
    contact_id = world.contact_of(account_id, people[0]).id  # type: ignore[union-attr]
    assert world.ledger.hot.take(contact_id) is not None
    cmd = commands.EraseContact(account_id, contact_id, "asked")
    world.ledger.erase_contact(cmd, world.tick(), world.meta)
    assert world.ledger.hot.take(contact_id) is None
    assert world.ledger.hot.take(people[0]) is None


def test_a_kept_aggregate_expires(memory_world: World) -> None:
    now = [0.0]
    hot = HotAggregates(ttl=60, threshold=1, clock=lambda: now[0])
    account_id = memory_world.account()
    hot.keep(memory_world.ledger.load(account_id))
    assert hot.take(account_id) is not None
    now[0] = 61
    assert hot.take(account_id) is None


def test_a_copy_shares_no_container(world: World) -> None:
    account_id, people = regulars(world, 2)
    contact = world.contact_of(account_id, people[0])
    twin = copied(contact)
    twin.participants.clear()
    twin.fields["company"] = "Other"
    assert contact.participants and contact.fields["company"] == "Acme"  # type: ignore[union-attr]


def test_a_hot_contact_sees_what_another_process_recorded(
    db_settings: Settings,
) -> None:
    """The kept copy is fast-forwarded by the events recorded since, whoever wrote them."""
    here, there = build_ledger(db_settings), build_ledger(db_settings)
    try:
        world = World(here)
        account_id, people = regulars(world, 40)
        contact_id = world.contact_of(account_id, people[0]).id  # type: ignore[union-attr]
        assert here.hot.take(contact_id) is not None
        elsewhere = World(there)
        elsewhere.now = world.now
        event_id = world.event(account_id)
        newcomer = elsewhere.register(account_id, event_id, email=EMAIL, company="Globex")
        contact = here.load(contact_id)
        assert isinstance(contact, Contact)
        assert newcomer in contact.participants
        assert contact.fields["company"] == "Globex"
        assert vars(contact) == vars(here.repository.get(contact_id))
    finally:
        here.close()
        there.close()


def test_loading_a_hot_contact_decodes_only_its_new_events(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    account_id, people = regulars(world, 40)
    contact_id = world.contact_of(account_id, people[0]).id  # type: ignore[union-attr]
    world.register(account_id, world.event(account_id), email=EMAIL, company="Acme")
    decoded = []
    mapper = world.ledger.mapper
    decode = mapper.to_domain_event
    monkeypatch.setattr(mapper, "to_domain_event", lambda s: decoded.append(s) or decode(s))
    contact = world.ledger.load(contact_id)
    assert contact.version > 40
    assert decoded == []  # no replay of its history: kept at its latest version
