"""The participant status machine (F7)."""

from __future__ import annotations

import pytest

from domain import commands
from domain.participants import (
    TRANSITIONS,
    IllegalTransitionError,
    ParticipantDeletedError,
    ParticipantInputError,
    Status,
)
from tests.support.world import World


def test_attended_needs_a_valid_registration(world: World) -> None:
    account_id = world.account()
    event_id = world.event(account_id)
    visitor = world.register(account_id, event_id, status="waiting_list", email="v@example.org")
    with pytest.raises(IllegalTransitionError, match="'waiting_list'") as error:
        world.status(account_id, event_id, visitor, "attended")
    assert error.value.current is Status.WAITING_LIST
    world.status(account_id, event_id, visitor, "registered")
    world.status(account_id, event_id, visitor, "attended")
    assert world.participant(account_id, visitor).status is Status.ATTENDED


def test_nobody_starts_as_attended(world: World) -> None:
    account_id = world.account()
    event_id = world.event(account_id)
    with pytest.raises(ParticipantInputError, match="valid registration"):
        world.register(account_id, event_id, status="attended", email="v@example.org")


@pytest.mark.parametrize("current", [s for s in Status if s is not Status.ATTENDED])
def test_every_transition_follows_the_table(world: World, current: Status) -> None:
    account_id = world.account()
    event_id = world.event(account_id)
    for wanted in Status:
        visitor = world.register(account_id, event_id, status=current.value)
        if wanted is current or wanted in TRANSITIONS[current]:
            world.status(account_id, event_id, visitor, wanted.value)
            assert world.participant(account_id, visitor).status is wanted
        else:
            with pytest.raises(IllegalTransitionError):
                world.status(account_id, event_id, visitor, wanted.value)


def test_the_same_status_again_records_nothing(world: World) -> None:
    account_id = world.account()
    event_id = world.event(account_id)
    visitor = world.register(account_id, event_id, email="v@example.org")
    before = world.position()
    world.status(account_id, event_id, visitor, "registered")
    assert world.facts_since(before) == []


def test_a_deleted_participant_cannot_be_edited(world: World) -> None:
    account_id = world.account()
    event_id = world.event(account_id)
    visitor = world.register(account_id, event_id, email="v@example.org")
    world.ledger.delete_participant(
        commands.DeleteParticipant(account_id, event_id, visitor), world.tick(), world.meta
    )
    with pytest.raises(ParticipantDeletedError):
        world.edit(account_id, event_id, visitor, company="Acme")
    with pytest.raises(ParticipantDeletedError):
        world.status(account_id, event_id, visitor, "unregistered")
