"""Which fields go up to contacts by default (SPEC §8): the uniqueness key's fields and the
identity names, unless turned off explicitly; amending settings changes only what it names."""

from __future__ import annotations

from uuid import UUID

import pytest

from domain import commands
from domain.accounts import SettingsError
from tests.support.world import World

ADA = {"email": "ada@example.org", "first_name": "Ada", "last_name": "Lovelace", "city": "Paris"}


def _contact_fields(world: World, account_id: UUID) -> dict[str, object]:
    contact = world.contact_of(
        account_id, world.register(account_id, world.event(account_id), **ADA)
    )
    assert contact is not None
    return dict(contact.fields)


def _amend(world: World, account_id: UUID, **changes: object) -> None:
    cmd = commands.AmendSettings(account_id, **changes)  # type: ignore[arg-type]
    world.ledger.amend_settings(cmd, world.tick(), world.meta)


def test_names_go_up_to_contacts_unless_turned_off(world: World) -> None:
    only_company = world.account(sync={"company": "up"})
    assert _contact_fields(world, only_company) == {
        "email": "ada@example.org",
        "first_name": "Ada",
        "last_name": "Lovelace",
    }
    no_names = world.account(sync={"first_name": "off", "last_name": "off"})
    assert _contact_fields(world, no_names) == {"email": "ada@example.org"}


def test_a_key_field_cannot_be_turned_off(world: World) -> None:
    account_id = world.account()
    before = world.position()
    off = commands.ChangeSettings(account_id, ("email",), {"email": "off"}, 2)
    with pytest.raises(SettingsError, match="uniqueness key"):
        world.ledger.change_settings(off, world.tick(), world.meta)
    assert world.facts_since(before) == []


def test_amending_settings_changes_only_what_it_names(world: World) -> None:
    account_id = world.account(sync={"first_name": "off", "company": "up_and_propagate"})
    _amend(world, account_id, sync={"city": "up"})
    account = world.ledger.account(account_id)
    assert account.effective_sync == {
        "city": "up",
        "company": "up_and_propagate",
        "email": "up",
        "first_name": "off",
        "last_name": "up",
    }
    _amend(world, account_id, restore_window_months=6)
    assert world.ledger.account(account_id).effective_sync == account.effective_sync
    _amend(world, account_id, uniqueness_key=("phone_mobile",))
    moved = world.ledger.account(account_id)
    assert moved.effective_sync == {**account.effective_sync, "phone_mobile": "up"}
    assert (moved.uniqueness_key, moved.restore_window_months) == (("phone_mobile",), 6)


def test_settings_that_change_nothing_record_nothing(world: World) -> None:
    account_id = world.account(sync={"company": "up"})
    before = world.position()
    same = {"company": "up", "email": "up", "first_name": "up", "city": "off"}
    world.ledger.change_settings(
        commands.ChangeSettings(account_id, ("email",), same, 2), world.tick(), world.meta
    )
    _amend(world, account_id, sync={"last_name": "up"}, restore_window_months=2)
    assert world.facts_since(before) == []


def test_only_the_key_going_up_is_flagged(world: World) -> None:
    named = world.ledger.account(world.account(sync={"company": "up"}))
    assert not named.only_key_goes_up
    bare = world.ledger.account(world.account(sync={"first_name": "off", "last_name": "off"}))
    assert bare.only_key_goes_up
