"""Contact extras (F8): processing status, groups, marketing consent, site-account state."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from domain import commands
from domain.accounts import GroupError, GroupNameTakenError
from domain.application import InvalidInputError, VersionMismatchError
from domain.contact_extras import ContactInputError
from domain.organiser_events import OrganiserEventError
from domain.unit_of_work import NotFoundError
from tests.support.world import World


def a_contact(world: World, email: str = "ada@example.org") -> tuple[UUID, UUID]:
    account_id = world.account()
    event_id = world.event(account_id)
    participant_id = world.register(account_id, event_id, email=email)
    contact = world.contact_of(account_id, participant_id)
    assert contact is not None
    return account_id, contact.id


def test_processing_status_moves_and_refuses_unknown_values(world: World) -> None:
    account_id, contact_id = a_contact(world)
    assert world.ledger.contact(account_id, contact_id).processing_status == "new"
    cmd = commands.SetProcessingStatus(account_id, contact_id, "in_progress")
    world.ledger.set_processing_status(cmd, world.tick(), world.meta)
    assert world.ledger.contact(account_id, contact_id).processing_status == "in_progress"
    before = world.position()
    world.ledger.set_processing_status(cmd, world.tick(), world.meta)
    assert world.facts_since(before) == []  # unchanged: nothing recorded
    with pytest.raises(ContactInputError, match="new, in_progress, processed"):
        bad = commands.SetProcessingStatus(account_id, contact_id, "done")
        world.ledger.set_processing_status(bad, world.tick(), world.meta)
    stale = commands.SetProcessingStatus(account_id, contact_id, "processed", expected_version=1)
    with pytest.raises(VersionMismatchError):
        world.ledger.set_processing_status(stale, world.tick(), world.meta)
    assert world.facts_since(before) == []


def test_groups_have_unique_names_and_all_or_nothing_membership(world: World) -> None:
    account_id, ada = a_contact(world)
    bob = world.contact_of(
        account_id, world.register(account_id, world.event(account_id), email="bob@example.org")
    )
    assert bob is not None
    vip = world.group(account_id, "VIP")
    assert world.ledger.account(account_id).groups == {vip: "VIP"}
    with pytest.raises(GroupNameTakenError):
        world.group(account_id, " vip ")
    with pytest.raises(GroupError):
        world.group(account_id, "  ")

    before = world.position()
    missing = commands.ChangeGroupMembers(account_id, vip, (ada, uuid4()))
    with pytest.raises(NotFoundError, match="contact"):
        world.ledger.change_group_members(missing, world.tick(), world.meta)
    assert world.facts_since(before) == []  # never half-applied

    add = commands.ChangeGroupMembers(account_id, vip, (ada, bob.id, ada))
    assert world.ledger.change_group_members(add, world.tick(), world.meta).detail == {"changed": 2}
    assert world.facts_since(before) == ["Contact.AddedToGroup", "Contact.AddedToGroup"]
    assert world.ledger.change_group_members(add, world.tick(), world.meta).detail == {"changed": 0}
    remove = commands.ChangeGroupMembers(account_id, vip, (ada,), remove=True)
    world.ledger.change_group_members(remove, world.tick(), world.meta)
    assert world.ledger.contact(account_id, ada).groups == set()
    assert world.ledger.contact(account_id, bob.id).groups == {vip}

    with pytest.raises(NotFoundError, match="group"):
        other = commands.ChangeGroupMembers(account_id, uuid4(), (ada,))
        world.ledger.change_group_members(other, world.tick(), world.meta)
    with pytest.raises(InvalidInputError, match="1 to 1000"):
        world.ledger.change_group_members(
            commands.ChangeGroupMembers(account_id, vip, ()), world.tick(), world.meta
        )


def test_another_accounts_group_or_contact_is_not_found(world: World) -> None:
    account_id, ada = a_contact(world)
    other_account, _ = a_contact(world, "eve@example.org")
    theirs = world.group(other_account, "VIP")
    with pytest.raises(NotFoundError, match="group"):
        cmd = commands.ChangeGroupMembers(account_id, theirs, (ada,))
        world.ledger.change_group_members(cmd, world.tick(), world.meta)
    with pytest.raises(NotFoundError, match="contact"):
        cmd = commands.ChangeGroupMembers(other_account, theirs, (ada,))
        world.ledger.change_group_members(cmd, world.tick(), world.meta)


def test_consent_is_given_with_its_date_and_source_then_withdrawn(world: World) -> None:
    account_id, contact_id = a_contact(world)
    given_at = world.now - timedelta(days=3)
    give = commands.ChangeConsent(account_id, contact_id, True, "newsletter form", given_at)
    world.ledger.change_consent(give, world.tick(), world.meta)
    consent = world.ledger.contact(account_id, contact_id).consent
    assert consent is not None
    assert (consent.given_at, consent.source) == (given_at, "newsletter form")
    before = world.position()
    world.ledger.change_consent(give, world.tick(), world.meta)
    assert world.facts_since(before) == []
    withdraw = commands.ChangeConsent(account_id, contact_id, False, "unsubscribe link")
    world.ledger.change_consent(withdraw, world.tick(), world.meta)
    assert world.ledger.contact(account_id, contact_id).consent is None
    with pytest.raises(ContactInputError, match="source"):
        bad = commands.ChangeConsent(account_id, contact_id, True, " ")
        world.ledger.change_consent(bad, world.tick(), world.meta)


def test_a_site_account_locks_until_a_time_and_unlocks(world: World) -> None:
    account_id, contact_id = a_contact(world)
    until = world.now + timedelta(minutes=15)
    lock = commands.ChangeSiteAccount(account_id, contact_id, True, until, 5)
    world.ledger.change_site_account(lock, world.tick(), world.meta)
    site = world.ledger.contact(account_id, contact_id).site_account
    assert site.locked(world.now)
    assert not site.locked(until)  # the lock ends at locked_until
    assert site.failed_attempts == 5
    world.ledger.unlock_site_account(
        commands.UnlockSiteAccount(account_id, contact_id), world.tick(), world.meta
    )
    site = world.ledger.contact(account_id, contact_id).site_account
    assert (site.confirmed, site.locked_until, site.failed_attempts) == (True, None, 0)
    with pytest.raises(ContactInputError, match="failed_attempts"):
        bad = commands.ChangeSiteAccount(account_id, contact_id, True, None, -1)
        world.ledger.change_site_account(bad, world.tick(), world.meta)


@pytest.mark.parametrize("fact", [{"group": str(uuid4())}, {"consent": True}, {"locked": False}])
def test_sync_scopes_refuse_facts_of_the_person(world: World, fact: dict[str, object]) -> None:
    account_id = world.account()
    with pytest.raises(OrganiserEventError, match="not sync scopes"):
        world.event(account_id, scope="segment", segment={"all": [fact]})


def test_a_value_that_merely_reads_participated_is_not_refused(world: World) -> None:
    account_id = world.account()
    segment = {"field": "company", "op": "eq", "value": "participated"}
    world.event(account_id, scope="segment", segment=segment)
