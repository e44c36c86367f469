"""After the purge, no plaintext of an erased person is left in the database (F12).

SQLite: the bytes of the database file and its WAL. PostgreSQL: every row of every table
of the schema, as text. Also the person's sealing keys: gone from the storage too.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from adapters.settings import Settings
from app import ContactLedgerSystem, build_system
from domain import commands
from domain.segments import fold_text
from tests.support.backends import _dsn, backend_settings
from tests.support.world import T0, World

PERSON = {
    "email": "zephyrine.quetzal@example.org",
    "first_name": "Zéphyrine",
    "last_name": "Quetzalcoatl-Dubois",
    "phone": "+33 6 12 34 56 78",
    "company": "Ondulations Célestes",
}
NOTE = "Secret-tamarind: wants the blue stand"
FORM = {"message": "Secret-kumquat question", "page": "https://example.org/?u=secret-fig"}
NEEDLES = (
    [v.encode() for v in [*PERSON.values(), NOTE, *FORM.values()]]
    + [v.casefold().encode() for v in PERSON.values()]
    + [fold_text(v).encode() for v in PERSON.values()]  # the grid's unaccented copies
    + [b"zephyrine.quetzal", "Zéphyrine".encode("unicode_escape")]
)


def erased_person(system: ContactLedgerSystem) -> list[bytes]:
    """Register the person in two events, edit her, delete her, purge: her keys."""
    world = World(system.ledger)
    world.now = T0
    sync = {"company": "up_and_propagate", "first_name": "up", "last_name": "up", "phone": "up"}
    account_id = world.account()
    phone = commands.DefineField(account_id, "phone", "phone", "Phone")
    system.ledger.define_field(phone, world.tick(), world.meta)
    settings = commands.ChangeSettings(account_id, ("email",), sync, 2)
    system.ledger.change_settings(settings, world.tick(), world.meta)
    events = [world.event(account_id), world.event(account_id)]
    ids = [world.register(account_id, e, **PERSON) for e in events]
    world.register(account_id, events[0], email="someone.else@example.org", last_name="Other")
    world.edit(account_id, events[0], ids[0], company="Ondulations Célestes SA")
    contact = world.contact_of(account_id, ids[0])
    assert contact is not None
    note = commands.AddNote(account_id, contact.id, NOTE)
    system.ledger.add_note(note, world.tick(), world.meta)
    form = commands.SubmitForm(account_id, "request", {"email": PERSON["email"]}, **FORM)
    system.ledger.submit_form(form, world.tick(), world.meta)
    reset = commands.RequestPasswordReset(account_id, contact.id)
    system.ledger.request_password_reset(reset, world.tick(), world.meta)
    keys = [system.ledger.keyring.key_for(i) for i in (*ids, contact.id)]
    system.projector.catch_up()
    delete = commands.DeleteContact(account_id, contact.id)
    system.ledger.delete_contact(delete, world.tick(), world.meta)
    report = system.purger.run(world.now + timedelta(days=100))
    assert report.contacts == 1
    assert system.ledger.contact(account_id, contact.id).erased
    return [k for k in keys if k is not None]


def assert_sqlite_files_hold_none_of(tmp_path: Path, needles: list[bytes]) -> None:
    """The bytes of the database file and its WAL contain none of the needles."""
    files = sorted(tmp_path.glob("ledger.sqlite*"))
    assert files
    for path in files:
        raw = path.read_bytes()
        for needle in needles:
            assert needle not in raw, (path.name, needle[:12])


def assert_postgres_tables_hold_none_of(
    settings: Settings, needles: list[bytes], keys: list[bytes]
) -> None:
    """No row of any table of the schema, as text, contains a needle or a key (hex)."""
    schema = settings.database.schema
    with psycopg.connect(_dsn()) as connection:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (schema,),
            )
        ]
        assert "rm_contacts" in tables and "ledger_subject_keys" in tables
        for table in tables:
            rows = connection.execute(f'SELECT t::text FROM "{schema}"."{table}" t').fetchall()
            text = "\n".join(r[0] for r in rows).encode()
            for needle in needles:
                assert needle not in text, (table, needle)
            for key in keys:
                assert key.hex().encode() not in text, table


def test_sqlite_files_hold_nothing_of_an_erased_person(tmp_path: Path) -> None:
    with backend_settings("sqlite", tmp_path) as settings:
        system = build_system(settings, clock=lambda: T0)
        keys = erased_person(system)
        assert_sqlite_files_hold_none_of(tmp_path, [*NEEDLES, *keys])
        system.close()


def test_postgres_tables_hold_nothing_of_an_erased_person(
    tmp_path: Path, require_postgres: None
) -> None:
    with backend_settings("postgres", tmp_path) as settings:
        system = build_system(settings, clock=lambda: T0)
        keys = erased_person(system)
        assert_postgres_tables_hold_none_of(settings, NEEDLES, keys)
        system.close()


@pytest.mark.parametrize("kind", ["sqlite"])
def test_the_scan_would_find_a_person_who_is_not_erased(tmp_path: Path, kind: str) -> None:
    """The scan has teeth: without the purge, the person is found in the files."""
    with backend_settings(kind, tmp_path) as settings:
        system = build_system(settings, clock=lambda: T0)
        world = World(system.ledger)
        account_id = world.account(sync={"first_name": "up"})
        world.register(account_id, world.event(account_id), email=PERSON["email"])
        system.projector.catch_up()
        raw = b"".join(p.read_bytes() for p in tmp_path.glob("ledger.sqlite*"))
        assert PERSON["email"].encode() in raw
        system.close()
