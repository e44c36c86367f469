"""The command line, through click's runner against a SQLite store."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import pytest
from click.testing import CliRunner

from adapters.cli import main
from app import build_system


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
