"""The scrub is batched (decision 0035): a purge run scrubs when subjects were shredded
since the last scrub and that scrub is `LEDGER_SCRUB_EVERY_HOURS` old; `scrub=True`
(`purge --scrub`) forces it. Both databases."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from uuid import UUID

import pytest

from adapters.settings import Settings, SettingsError
from app import build_system
from domain import commands
from tests.support.backends import backend_settings
from tests.support.world import World


def erase_someone(world: World, account_id: UUID) -> None:
    event_id = world.event(account_id)
    participant = world.register(account_id, event_id, email=f"p{world.now.timestamp()}@x.org")
    contact = world.contact_of(account_id, participant)
    assert contact is not None
    cmd = commands.EraseContact(account_id, contact.id, "request")
    assert world.ledger.erase_contact(cmd, world.tick(), world.meta).detail is not None


def test_a_purge_run_scrubs_at_most_once_per_interval(tmp_path: Path, db_kind: str) -> None:
    with backend_settings(db_kind, tmp_path) as settings:
        world: World
        daily = replace(settings, scrub_every_hours=24.0)
        system = build_system(daily, clock=lambda: world.now)
        world = World(system.ledger)
        try:
            purger = system.purger
            account_id = world.account()
            assert not purger.run().scrubbed  # nothing ever erased
            erase_someone(world, account_id)
            assert purger.run().scrubbed  # the first scrub: at once
            assert not purger.run().scrubbed  # nothing new
            erase_someone(world, account_id)
            world.tick(23 * 3600)
            assert not purger.run().scrubbed  # within the day: waits
            assert purger.run(scrub=True).scrubbed  # unless forced
            erase_someone(world, account_id)
            world.tick(24 * 3600)
            assert purger.run().scrubbed  # a day after the last scrub
            assert not purger.run().scrubbed
            world.tick(48 * 3600)
            assert not purger.run().scrubbed  # a day later, but nothing erased since
        finally:
            system.close()


def test_the_interval_is_read_from_the_environment() -> None:
    env = {"LEDGER_DATA_DIR": "/tmp/never-used", "LEDGER_SECRET": "s" * 32}
    assert Settings.from_env(env).scrub_every_hours == 168  # a week
    assert Settings.from_env({**env, "LEDGER_SCRUB_EVERY_HOURS": "0"}).scrub_every_hours == 0
    for bad in ("-1", "673", "nan", "weekly"):
        with pytest.raises(SettingsError, match="LEDGER_SCRUB_EVERY_HOURS"):
            Settings.from_env({**env, "LEDGER_SCRUB_EVERY_HOURS": bad})


def test_interval_zero_scrubs_after_every_new_erasure(tmp_path: Path, db_kind: str) -> None:
    with backend_settings(db_kind, tmp_path) as settings:
        world: World
        system = build_system(replace(settings, scrub_every_hours=0.0), clock=lambda: world.now)
        world = World(system.ledger)
        try:
            account_id = world.account()
            for _ in range(2):
                erase_someone(world, account_id)
                assert system.purger.run().scrubbed
                assert not system.purger.run().scrubbed
        finally:
            system.close()
