"""The idempotency store on each backend: reserve once, answer, expire, take over, forget."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, select

from adapters.idempotency import Answer, Found, Held, IdempotencyStore, idempotency_keys
from adapters.settings import Settings
from adapters.sql.engine import make_engine
from app import build_system
from domain import commands
from tests.support.races import at_once
from tests.support.world import T0, World

ANSWER = Answer(201, b'{"id": "...", "fields": {"email": "ada@example.org"}}', {"etag": '"1"'})


@pytest.fixture
def store(store_settings: Settings) -> Iterator[IdempotencyStore]:
    engine = make_engine(store_settings.database)
    yield IdempotencyStore(engine, hours=24)
    engine.dispose()


def rows(store: IdempotencyStore) -> int:
    with store.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(idempotency_keys)).scalar())


def held(found: Held | Found) -> Held:
    assert isinstance(found, Held), found
    return found


def test_a_key_is_held_once_then_answers_its_stored_answer(store: IdempotencyStore) -> None:
    account = uuid4()
    first = held(store.reserve(account, "k", "fp", T0))
    assert store.reserve(account, "k", "fp", T0) == Found("fp", None)  # still running
    assert store.complete(first, ANSWER, uuid4(), None)
    assert store.reserve(account, "k", "other", T0 + timedelta(hours=1)) == Found("fp", ANSWER)
    assert not store.complete(first, ANSWER, None, None)  # answered once only


def test_a_released_key_runs_again(store: IdempotencyStore) -> None:
    account = uuid4()
    store.release(held(store.reserve(account, "k", "fp", T0)))
    assert rows(store) == 0
    held(store.reserve(account, "k", "fp", T0))


def test_keys_are_scoped_per_account(store: IdempotencyStore) -> None:
    held(store.reserve(uuid4(), "k", "fp", T0))
    held(store.reserve(uuid4(), "k", "fp", T0))


def test_expired_records_are_ignored_then_swept(store: IdempotencyStore) -> None:
    account = uuid4()
    store.complete(held(store.reserve(account, "old", "fp", T0)), ANSWER, None, None)
    store.complete(
        held(store.reserve(account, "new", "fp", T0 + timedelta(hours=2))), ANSWER, None, None
    )
    day_later = T0 + timedelta(hours=24, seconds=1)
    assert store.sweep(T0 + timedelta(hours=24)) == 0  # expiry is exclusive of the 24th hour
    assert store.reserve(account, "new", "fp", day_later) == Found("fp", ANSWER)
    assert store.sweep(day_later) == 1
    assert rows(store) == 1
    reused = held(store.reserve(account, "new", "other", T0 + timedelta(hours=27)))
    assert store.complete(reused, ANSWER, None, None)  # an expired row is taken, not refused


def test_a_pending_reservation_past_the_stale_limit_is_taken_over(store: IdempotencyStore) -> None:
    account = uuid4()
    dead = held(store.reserve(account, "k", "fp", T0))
    assert store.reserve(account, "k", "fp", T0 + timedelta(minutes=5)) == Found("fp", None)
    taker = held(store.reserve(account, "k", "fp", T0 + timedelta(minutes=5, seconds=1)))
    assert taker.owner != dead.owner
    assert not store.complete(dead, ANSWER, None, None)  # the late one may not overwrite
    store.release(dead)  # nor drop the taker's reservation
    assert store.complete(taker, ANSWER, None, None)
    answered = Found("fp", ANSWER)
    assert store.reserve(account, "k", "fp", T0 + timedelta(hours=1)) == answered


def test_forget_deletes_answers_showing_the_erased_resources(store: IdempotencyStore) -> None:
    account, other = uuid4(), uuid4()
    contact, participant, stranger = uuid4(), uuid4(), uuid4()
    shows = {"by-contact": (contact, None), "by-link": (participant, contact)}
    for key, (resource_id, contact_id) in shows.items():
        store.complete(held(store.reserve(account, key, "fp", T0)), ANSWER, resource_id, contact_id)
    store.complete(held(store.reserve(account, "kept", "fp", T0)), ANSWER, stranger, None)
    store.complete(held(store.reserve(other, "elsewhere", "fp", T0)), ANSWER, contact, None)
    assert store.forget(account, set()) == 0
    assert store.forget(account, {contact}) == 2
    assert store.reserve(account, "kept", "fp", T0) == Found("fp", ANSWER)
    assert store.reserve(other, "elsewhere", "fp", T0) == Found("fp", ANSWER)


def test_concurrent_reservations_hold_the_key_once(store: IdempotencyStore) -> None:
    account = uuid4()
    results = at_once(*[lambda: store.reserve(account, "burst", "fp", T0)] * 8)
    assert sum(isinstance(r, Held) for r in results) == 1
    assert [r for r in results if not isinstance(r, Held)] == [Found("fp", None)] * 7


def test_concurrent_takeovers_of_a_stale_key_hold_it_once(store: IdempotencyStore) -> None:
    account = uuid4()
    held(store.reserve(account, "stale", "fp", T0))
    later = T0 + timedelta(minutes=10)
    results = at_once(*[lambda: store.reserve(account, "stale", "fp", later)] * 8)
    assert sum(isinstance(r, Held) for r in results) == 1


def test_erasure_and_the_purge_forget_the_stored_answers(db_settings: Settings) -> None:
    system = build_system(db_settings, clock=lambda: T0)
    world = World(system.ledger)
    account_id = world.account()
    event_id = world.event(account_id)

    def answered(key: str, email: str) -> tuple[UUID, UUID]:
        participant = world.register(account_id, event_id, email=email)
        contact = world.contact_of(account_id, participant)
        assert contact is not None
        found = system.idempotency.reserve(account_id, key, "fp", T0)
        system.idempotency.complete(held(found), ANSWER, participant, contact.id)
        return participant, contact.id

    _, erased = answered("erased", "ada@example.org")
    _, purged = answered("purged", "bob@example.org")
    answered("kept", "cy@example.org")
    erase = commands.EraseContact(account_id, erased, "request")
    system.ledger.erase_contact(erase, world.tick(), world.meta)
    delete = commands.DeleteContact(account_id, purged)
    system.ledger.delete_contact(delete, world.tick(), world.meta)
    assert rows(system.idempotency) == 2
    assert system.purger.run(T0 + timedelta(days=70)).contacts == 1
    keys = {k: system.idempotency.reserve(account_id, k, "fp", T0) for k in ("kept", "purged")}
    assert keys["kept"] == Found("fp", ANSWER)
    assert isinstance(keys["purged"], Held)  # forgotten: the key is free again
    system.close()
