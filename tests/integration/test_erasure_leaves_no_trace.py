"""After the scrub, no plaintext of an erased person is left in the database (F12).

SQLite: the bytes of the database file and its WAL. PostgreSQL: every row of every table
of the schema, as text, and the bytes of every relation file of the schema (tables, their
indexes, TOAST tables and their indexes) under the server's data directory: dead rows and
index keys included. Also the person's sealing keys: gone from the storage too. Both ways
of erasing: the purge after the restore window, and erasure on request over HTTP.
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
from tests.http.conftest import Api, running_api
from tests.http.test_routes import an_event, ok
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
    assert report.contacts == 1 and report.scrubbed  # the first erasure: scrubbed at once
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


def relation_files(settings: Settings) -> dict[str, list[Path]]:
    """Every relation of the schema (tables, indexes, sequences, TOAST tables and their
    indexes) and its files (segments of 1 GB each), after a CHECKPOINT wrote the pages out.
    Reading them needs the server's files on this machine (the tests run as root): if they
    cannot be read, this fails; it does not skip."""
    with psycopg.connect(_dsn(), autocommit=True) as connection:
        connection.execute("CHECKPOINT")
        root = Path(str(connection.execute("SHOW data_directory").fetchone()[0]))  # type: ignore[index]
        found = connection.execute(RELATIONS, (settings.database.schema,)).fetchall()
    files: dict[str, list[Path]] = {}
    for name, relative in found:
        if relative is None:  # a relation without storage (e.g. a partitioned parent)
            continue
        main = root / relative
        files[name] = [main, *sorted(main.parent.glob(main.name + ".[0-9]*"))]
    return files


RELATIONS = """
WITH mine AS (
    SELECT oid, relname, reltoastrelid FROM pg_class
     WHERE relnamespace = %s::regnamespace AND relkind IN ('r', 'i', 'm', 'S'))
SELECT relname, pg_relation_filepath(oid) FROM mine
UNION ALL
SELECT relname || ' (TOAST)', pg_relation_filepath(reltoastrelid) FROM mine
 WHERE reltoastrelid <> 0
UNION ALL
SELECT m.relname || ' (TOAST index)', pg_relation_filepath(i.indexrelid)
  FROM mine m JOIN pg_index i ON i.indrelid = m.reltoastrelid
 WHERE m.reltoastrelid <> 0
"""


def postgres_file_hits(settings: Settings, needles: list[bytes]) -> dict[str, list[bytes]]:
    """The needles found in each relation's files (read whole: they are small here)."""
    files = relation_files(settings)
    assert {"rm_contacts", "rm_contacts_pkey", "ledger_subject_keys"} <= files.keys()
    assert any(name.endswith("(TOAST)") for name in files)
    hits: dict[str, list[bytes]] = {}
    for name, paths in files.items():
        raw = b"".join(path.read_bytes() for path in paths)
        found = [needle[:16] for needle in needles if needle in raw]
        if found:
            hits[name] = found
    return hits


def test_postgres_files_hold_nothing_of_a_purged_person(
    tmp_path: Path, require_postgres: None
) -> None:
    with backend_settings("postgres", tmp_path) as settings:
        system = build_system(settings, clock=lambda: T0)
        try:
            keys = erased_person(system)
            assert postgres_file_hits(settings, [*NEEDLES, *keys]) == {}
        finally:
            system.close()


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


# --- erasure on request, over HTTP ----------------------------------------------------

VISITOR = {
    "email": "ottoline.wimbleford@example.net",
    "first_name": "Ottoline",
    "last_name": "Wimbleford-Quaxley",
    "company": "Quaxley Gramophones",
}
VISITOR_NEEDLES = [v.encode() for v in VISITOR.values()] + [
    v.casefold().encode() for v in VISITOR.values()
]


def erased_over_http(api: Api) -> None:
    """Register the visitor and edit her, both with an Idempotency-Key (answers stored),
    then erase her on request, and wait until the grid shows it."""
    event_id = an_event(api)
    body = {"fields": VISITOR, "status": "registered", "source": "api"}
    path = f"/v1/events/{event_id}/participants"
    participant = ok(api.call("POST", path, headers={"Idempotency-Key": "r1"}, json=body), 201)
    contact_id = ok(api.call("GET", f"{path}/{participant['id']}"))["contact_id"]
    edit = {"fields": {"company": "Quaxley Gramophones Ltd"}}
    edited = api.call("PATCH", f"/v1/contacts/{contact_id}", headers={"Idempotency-Key": "e1"},
                      json=edit)  # fmt: skip
    assert "Quaxley" in ok(edited)["fields"]["company"]
    erased = api.call("POST", f"/v1/contacts/{contact_id}/erase", "compliance")
    assert ok(erased)["participants_erased"] == 1
    after = {"after": erased.headers["X-Position"]}
    assert ok(api.call("GET", "/v1/contacts", "analyst", params=after))["items"] == []


def hits_in_files(api: Api, tmp_path: Path, needles: list[bytes]) -> dict[str, list[bytes]]:
    settings = api.system.settings
    if settings.database.kind == "postgres":
        return postgres_file_hits(settings, needles)
    hits: dict[str, list[bytes]] = {}
    for path in sorted(tmp_path.glob("ledger.sqlite*")):
        raw = path.read_bytes()
        hits[path.name] = [n[:16] for n in needles if n in raw]
    return {name: found for name, found in hits.items() if found}


def test_files_hold_nothing_of_a_person_erased_over_http_once_scrubbed(
    tmp_path: Path, db_kind: str
) -> None:
    with running_api(db_kind, tmp_path) as api:
        erased_over_http(api)
        assert api.system.purger.run().scrubbed  # nothing due, but an erasure to scrub
        assert not api.system.purger.run().scrubbed  # nothing new since
        assert hits_in_files(api, tmp_path, VISITOR_NEEDLES) == {}


def test_the_files_keep_an_erased_person_until_the_scrub(tmp_path: Path, db_kind: str) -> None:
    """The file scan has teeth: blanked rows still leave their bytes behind (PostgreSQL's
    dead rows and index keys, SQLite's WAL) until the scrub."""
    with running_api(db_kind, tmp_path) as api:
        erased_over_http(api)
        for projector in api.system.projectors.values():
            projector.catch_up()
        hits = hits_in_files(api, tmp_path, VISITOR_NEEDLES)
        assert VISITOR["email"].encode()[:16] in {n for found in hits.values() for n in found}
