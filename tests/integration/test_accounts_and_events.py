"""Account settings, field definitions and event sync activation (F1, F2, F4)."""

from __future__ import annotations

import pytest

from domain import commands
from domain.accounts import FieldAlreadyDefinedError, KeyChangeRefusedError, SettingsError
from domain.application import InvalidInputError
from domain.fields import FieldDefinitionError, UnknownFieldError
from domain.organiser_events import LocalFieldClashError, OrganiserEventError
from domain.unit_of_work import NotFoundError
from tests.support.world import World


def test_a_new_account_keys_contacts_by_email(world: World) -> None:
    account = world.ledger.account(world.ledger.open_account("Org", world.tick(), world.meta).id)
    assert account.uniqueness_key == ("email",)
    assert account.restore_window_months == 2


def test_changing_nothing_records_nothing(world: World) -> None:
    account_id = world.account(sync={"company": "up"})
    before = world.position()
    cmd = commands.ChangeSettings(account_id, ("email",), {"company": "up", "city": "off"}, 2)
    world.ledger.change_settings(cmd, world.tick(), world.meta)
    assert world.facts_since(before) == []


def test_the_key_can_change_until_contacts_exist(world: World) -> None:
    account_id = world.account()
    wider = commands.ChangeSettings(account_id, ("email", "first_name", "last_name"), {}, 2)
    world.ledger.change_settings(wider, world.tick(), world.meta)
    event_id = world.event(account_id)
    world.register(account_id, event_id, email="ada@example.org", first_name="Ada", last_name="L")
    back = commands.ChangeSettings(account_id, ("email",), {}, 2)
    before = world.position()
    with pytest.raises(KeyChangeRefusedError, match="once contacts exist"):
        world.ledger.change_settings(back, world.tick(), world.meta)
    assert world.facts_since(before) == []


@pytest.mark.parametrize(
    ("key", "sync", "window", "error"),
    [
        ((), {}, 2, SettingsError),
        (("email", "email"), {}, 2, SettingsError),
        (("shoe_size",), {}, 2, UnknownFieldError),
        (("email",), {"shoe_size": "up"}, 2, UnknownFieldError),
        (("email",), {"company": "sideways"}, 2, SettingsError),
        (("email",), {}, 0, SettingsError),
    ],
)
def test_refuses_invalid_settings(
    world: World, key: tuple[str, ...], sync: dict[str, str], window: int, error: type
) -> None:
    account_id = world.account()
    with pytest.raises(error):
        world.ledger.change_settings(
            commands.ChangeSettings(account_id, key, sync, window), world.tick(), world.meta
        )


def test_account_fields_are_defined_once_and_usable_as_keys_and_sync(world: World) -> None:
    account_id = world.account()
    field = commands.DefineField(account_id, "customer_no", "text", "Customer number")
    world.ledger.define_field(field, world.tick(), world.meta)
    world.ledger.define_field(field, world.tick(), world.meta)  # same definition: no-op
    clash = commands.DefineField(account_id, "customer_no", "number", "Customer number")
    with pytest.raises(FieldAlreadyDefinedError):
        world.ledger.define_field(clash, world.tick(), world.meta)
    with pytest.raises(FieldAlreadyDefinedError):
        world.ledger.define_field(
            commands.DefineField(account_id, "email", "text", "E"), world.tick(), world.meta
        )
    cmd = commands.ChangeSettings(account_id, ("customer_no",), {"customer_no": "up"}, 2)
    world.ledger.change_settings(cmd, world.tick(), world.meta)
    assert world.ledger.account(account_id).uniqueness_key == ("customer_no",)


def test_refuses_an_unknown_field_type(world: World) -> None:
    account_id = world.account()
    with pytest.raises(InvalidInputError, match="type must be one of"):
        world.ledger.define_field(
            commands.DefineField(account_id, "x", "colour", "X"), world.tick(), world.meta
        )
    with pytest.raises(FieldDefinitionError):
        world.ledger.define_field(
            commands.DefineField(account_id, "x", "single_choice", "X"), world.tick(), world.meta
        )


def test_event_local_fields_cannot_shadow_account_fields(world: World) -> None:
    account_id = world.account()
    event_id = world.event(account_id)
    local = commands.DefineField(account_id, "stand", "text", "Stand", organiser_event_id=event_id)
    world.ledger.define_field(local, world.tick(), world.meta)
    assert "stand" in world.ledger.organiser_event(account_id, event_id).local_fields
    shadow = commands.DefineField(account_id, "company", "text", "C", organiser_event_id=event_id)
    with pytest.raises(LocalFieldClashError):
        world.ledger.define_field(shadow, world.tick(), world.meta)


def test_events_belong_to_one_account(world: World) -> None:
    mine, theirs = world.account(), world.account()
    event_id = world.event(theirs)
    with pytest.raises(NotFoundError, match="event"):
        world.ledger.organiser_event(mine, event_id)
    with pytest.raises(NotFoundError):
        world.register(mine, event_id, email="ada@example.org")


@pytest.mark.parametrize(
    ("kind", "scope", "segment", "message"),
    [
        ("party", "all", None, "kind must be"),
        ("event", "some", None, "scope must be"),
        ("event", "segment", None, "needs a segment"),
        ("event", "all", {"field": "x", "op": "empty"}, "only given with scope"),
        ("event", "segment", {"field": "x", "op": "like"}, "segment: unknown op"),
    ],
)
def test_refuses_invalid_events_and_activations(
    world: World, kind: str, scope: str, segment: dict[str, str] | None, message: str
) -> None:
    account_id = world.account()
    with pytest.raises(OrganiserEventError, match=message):
        event_id = world.event(account_id, sync=False, kind=kind)
        world.sync(account_id, event_id, True, scope, segment)
