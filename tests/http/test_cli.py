"""The command line, through click's runner against a SQLite store."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from uuid import UUID

import pytest
from click.testing import CliRunner

from adapters.cli import main
from adapters.clock import utc_now
from app import build_system
from domain.commands import CreateOrganiserEvent
from domain.meta import Meta
from tests.support.sheets import csv_bytes, xlsx_bytes

META = Meta("tester", "admin", "cli", "test")


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LEDGER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    runner = CliRunner()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(main, list(args), obj=build_system)

    return invoke


def test_accounts_and_tokens_are_created(run) -> None:  # type: ignore[no-untyped-def]
    created = run("accounts", "create", "Salon Expo")
    assert created.exit_code == 0, created.output
    account_id = UUID(created.output.strip())
    token = run("tokens", "create", "--account", str(account_id), "--role", "editor")
    assert token.exit_code == 0, token.output
    assert token.output.startswith("clt_")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("tokens", "create", "--account", "nope", "--role", "admin"), "must be an account id"),
        (
            (
                "tokens",
                "create",
                "--account",
                "00000000-0000-0000-0000-000000000000",
                "--role",
                "admin",
            ),
            "no account",
        ),
        (("accounts", "create", "  "), "1 to 200 characters"),
    ],
)
def test_bad_input_gets_a_readable_message(run, args: tuple[str, ...], message: str) -> None:  # type: ignore[no-untyped-def]
    result = run(*args)
    assert result.exit_code != 0
    assert message in result.output


def test_an_unknown_role_is_refused(run) -> None:  # type: ignore[no-untyped-def]
    account_id = run("accounts", "create", "Org").output.strip()
    result = run("tokens", "create", "--account", account_id, "--role", "root")
    assert result.exit_code != 0
    assert "role must be one of" in result.output


def test_demo_loads_a_multi_event_dataset(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run("demo")
    assert result.exit_code == 0, result.output
    assert "participants in 3 events" in result.output
    assert (tmp_path / "demo-admin-token").read_text().startswith("clt_")
    email, password = (tmp_path / "demo-sign-in").read_text().split()
    assert f"sign in at /sign-in as {email} with the password {password}" in result.output


def test_project_and_rebuild_fill_the_read_models(run) -> None:  # type: ignore[no-untyped-def]
    assert run("demo").exit_code == 0
    caught_up = run("project", "--once")
    assert caught_up.exit_code == 0, caught_up.output
    assert "log entries applied" in caught_up.output
    status = run("project", "--status")
    assert "lag 0" in status.output
    rebuilt = run("rebuild", "grid")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert run("rebuild", "nonsense").exit_code != 0


# --- import -------------------------------------------------------------------------


def _account(run) -> str:  # type: ignore[no-untyped-def]
    return str(run("accounts", "create", "Salon Expo").output.strip())


def test_import_of_contacts_with_the_suggested_mapping(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    account_id = _account(run)
    people = tmp_path / "people.csv"
    people.write_bytes(
        csv_bytes([["E-mail", "Prénom"], ["ada@example.org", "Ada"], ["bad", "X"]], ";")
    )
    report = tmp_path / "report.csv"
    args = ("import", str(people), "--account", account_id, "--contacts", "--mapping", "auto")
    result = run(*args, "--report", str(report))
    assert result.exit_code == 0, result.output
    assert "1 created, 0 updated, 0 unchanged, 1 skipped" in result.output
    assert "row 3: field 'email': is not an email address" in result.output
    assert report.read_text().splitlines()[1].startswith("2,created,")
    again = run(*args)
    assert "0 created, 0 updated, 1 unchanged, 1 skipped" in again.output


def test_import_into_an_event_with_an_explicit_mapping(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    account_id = _account(run)
    system = build_system()
    try:
        cmd = CreateOrganiserEvent(UUID(account_id), "Salon", "event")
        event_id = system.ledger.create_organiser_event(cmd, utc_now(), META).id
    finally:
        system.close()
    sheet = tmp_path / "salon.xlsx"
    sheet.write_bytes(xlsx_bytes([["Courriel", "Nom"], ["ada@example.org", "Lovelace"]]))
    mapping = json.dumps({"Courriel": "email", "Nom": "last_name"})
    result = run("import", str(sheet), "--account", account_id, "--event", str(event_id),
                 "--mapping", mapping, "--status", "waiting_list")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "1 created" in result.output


def test_import_without_a_mapping_shows_the_columns_and_a_suggestion(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    people = tmp_path / "people.xlsx"
    people.write_bytes(xlsx_bytes([["E-mail", "Société"], ["ada@example.org", "Acme"]]))
    result = run("import", str(people), "--account", _account(run), "--contacts")
    assert result.exit_code == 2
    assert '"E-mail": "email"' in result.output and '"Société": "company"' in result.output


@pytest.mark.parametrize(
    ("sheets", "extra", "mapping", "message"),
    [
        ([[["email"]], [["email"]]], ("--contacts",), {"email": "email"}, "2 sheets"),
        ([[["Nom"], ["Ada"]]], ("--contacts",), {"Nom": "last_name"}, "identifier column"),
        ([[["email"]]], ("--contacts", "--event", str(UUID(int=1))), {}, "exactly one"),
        ([[["email"]]], ("--event", str(UUID(int=1))), {"email": "email"}, "event"),
    ],
    ids=["two-sheets", "no-identifier", "event-and-contacts", "unknown-event"],
)
def test_import_refusals_are_readable(  # type: ignore[no-untyped-def]
    run, tmp_path: Path, sheets: list, extra: tuple[str, ...], mapping: dict, message: str
) -> None:
    people = tmp_path / "people.xlsx"
    people.write_bytes(xlsx_bytes(*sheets))
    account_id = _account(run)
    result = run(
        "import", str(people), "--account", account_id, *extra, "--mapping", json.dumps(mapping)
    )
    assert result.exit_code != 0
    assert message in result.output


def test_replay_builds_the_read_side_of_a_past_time(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("demo").exit_code == 0
    copy = tmp_path / "copy"
    replayed = run("replay", "--until", "2024-06-01", "--into", str(copy))
    assert replayed.exit_code == 0, replayed.output
    assert "read models as of 2024-06-01T00:00:00+00:00" in replayed.output
    with sqlite3.connect(copy / "read-models.sqlite") as then:
        events = then.execute("SELECT name FROM rm_events ORDER BY name").fetchall()
        (participants,) = then.execute("SELECT count(*) FROM rm_participants").fetchone()
    assert len(events) == 3 and participants == 110  # the 2025 edition's came later
    live = tmp_path / "ledger.sqlite"
    refused = run("replay", "--until", "2024-06-01", "--into", f"sqlite:///{live}")
    assert refused.exit_code == 1 and "another database" in refused.output
    (tmp_path / "file").write_text("")
    not_a_folder = run("replay", "--until", "2024-06-01", "--into", str(tmp_path / "file"))
    assert not_a_folder.exit_code == 1 and "is a file" in not_a_folder.output
    bad_time = run("replay", "--until", "last summer", "--into", str(copy))
    assert bad_time.exit_code == 2 and "--until" in bad_time.output


@pytest.mark.parametrize(
    ("given", "meant"),
    [
        ("2027-03-04", "2027-03-04T00:00:00+00:00"),
        ("2026-12-24T13:46:01.093512+00:00", "2026-12-24T13:46:01.093512+00:00"),
        ("2026-12-24T14:46:01.5+01:00", "2026-12-24T13:46:01.500000+00:00"),
        ("2026-12-24 13:46", "2026-12-24T13:46:00+00:00"),
    ],
)
def test_time_options_take_dates_and_times_with_or_without_offsets(  # type: ignore[no-untyped-def]
    run, given: str, meant: str
) -> None:
    purged = run("purge", "--as-of", given)
    assert purged.exit_code == 0, purged.output
    assert f"purge as of {meant}:" in purged.output
    account_id = run("accounts", "create", "Salon").output.strip()
    later = "2099" + given[4:]  # an expiry must be in the future
    token = run("tokens", "create", "--account", account_id, "--role", "admin",
                "--expires-at", later)  # fmt: skip
    assert token.exit_code == 0, token.output
    exported = run("export-history", "--format", "ndjson", "--until", given)
    assert exported.exit_code == 0, exported.output
    refused = run("purge", "--as-of", "next tuesday")
    assert refused.exit_code == 2
    assert "'next tuesday' is not an ISO 8601 date or time" in refused.output


def test_a_back_office_user_is_created_with_a_password_from_stdin(run) -> None:  # type: ignore[no-untyped-def]
    account_id = run("accounts", "create", "Salon Expo").output.strip()
    args = ("users", "create", "--account", account_id, "--role", "editor")
    made = CliRunner().invoke(
        main, [*args, "--email", "Eve@Example.org", "--password-stdin"],
        input="a long enough password\n", obj=build_system,
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert "signs in as eve@example.org" in made.output
    assert "a long enough password" not in made.output
    again = CliRunner().invoke(
        main, [*args, "--email", "eve@example.org", "--password-stdin"],
        input="another long password\n", obj=build_system,
    )  # fmt: skip
    assert again.exit_code == 2
    assert "a user with this e-mail address exists already" in again.output


def test_a_short_password_or_an_unknown_account_is_refused_readably(run) -> None:  # type: ignore[no-untyped-def]
    account_id = run("accounts", "create", "Salon Expo").output.strip()
    for account, message in ((account_id, "password must be 12"), (str(UUID(int=1)), "no account")):
        made = CliRunner().invoke(
            main, ["users", "create", "--account", account, "--role", "admin", "--email",
                   "a@b.org", "--password-stdin"], input="short\n", obj=build_system,
        )  # fmt: skip
        assert made.exit_code == 2, made.output
        assert message in made.output
