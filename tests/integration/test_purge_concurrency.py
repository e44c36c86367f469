"""Two purges at once, beside a restore: each due contact is erased exactly once."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

from app import build_system
from domain import commands
from tests.support.backends import backend_settings
from tests.support.world import T0, World


def test_two_purges_at_once_erase_each_contact_once(db_kind: str, tmp_path: Path) -> None:
    with backend_settings(db_kind, tmp_path) as settings:
        system = build_system(settings, clock=lambda: T0)
        world = World(system.ledger)
        account_id = world.account()
        event_id = world.event(account_id)
        contacts = []
        for n in range(12):
            participant = world.register(account_id, event_id, email=f"p{n}@example.org")
            contact = world.contact_of(account_id, participant)
            assert contact is not None
            contacts.append(contact.id)
            delete = commands.DeleteContact(account_id, contact.id)
            system.ledger.delete_contact(delete, world.tick(), world.meta)
        kept = contacts[0]  # restored before the purges: must survive them
        restore = commands.RestoreContact(account_id, kept)
        system.ledger.restore_contact(restore, world.tick(), world.meta)
        due = world.now + timedelta(days=70)
        errors: list[BaseException] = []
        reported: list[int] = []

        def purge() -> None:
            try:
                reported.append(system.purger.run(due).contacts)
            except BaseException as error:  # reported below
                errors.append(error)

        threads = [threading.Thread(target=purge) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert sum(reported) == len(contacts) - 1  # each erasure counted by one purge only
        erased = [
            e
            for e in system.ledger.history_of(contacts)
            if type(e).__qualname__ == "Contact.Erased"
        ]
        assert sorted(e.originator_id for e in erased) == sorted(contacts[1:])  # once each
        assert not system.ledger.contact(account_id, kept).erased
        assert system.purger.run(due).contacts == 0
        system.close()
