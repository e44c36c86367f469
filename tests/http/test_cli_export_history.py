"""`contact-ledger export-history` through click's runner against a SQLite store."""

from __future__ import annotations

import json
import re
from pathlib import Path
from uuid import UUID

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from adapters.cli import main
from adapters.history import export, writers
from adapters.history.records import UnexportableValueError
from app import build_system


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LEDGER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(main, list(args), obj=build_system)

    return invoke


@pytest.fixture
def account_id(run) -> str:  # type: ignore[no-untyped-def]
    created = run("accounts", "create", "Salon Expo")
    assert created.exit_code == 0, created.output
    return str(UUID(created.stdout.strip()))


def _head() -> int:
    system = build_system()
    try:
        return system.ledger.recorder.max_notification_id() or 0
    finally:
        system.close()


def test_ndjson_goes_to_stdout_by_default(run, account_id: str) -> None:  # type: ignore[no-untyped-def]
    result = run("export-history", "--format", "ndjson", "--account", account_id)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["event_type"] for r in records] == ["Account.Opened"]
    assert records[0]["account_id"] == account_id
    assert "1 events exported to stdout" in result.stderr


def test_parquet_without_pyarrow_says_how_to_install_it(  # type: ignore[no-untyped-def]
    run, account_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writers, "parquet_available", lambda: False)  # a serve-only set-up
    path = tmp_path / "history.parquet"
    result = run("export-history", "--format", "parquet", "--output", str(path))
    assert result.exit_code == 2
    assert "pip install -e '.[parquet]'" in result.output
    assert "Traceback" not in result.output
    assert not path.exists()


def test_parquet_is_written_whole_to_the_output(run, account_id: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run("accounts", "create", "Congress")
    path = tmp_path / "history.parquet"
    result = run("export-history", "--format", "parquet", "--output", str(path), "--after", "1")
    assert result.exit_code == 0, result.output
    table = pq.read_table(path)
    assert table.column("position").to_pylist() == [2] == [_head()]
    assert not list(tmp_path.glob("*.partial"))


ERRORS = [
    (("--format", "csv"), "'csv' is not one of 'ndjson', 'parquet'"),
    (("--output", "out.ndjson"), "Missing option '--format'"),
    (("--format", "parquet"), "--format parquet needs --output PATH"),
    (("--format", "ndjson", "--until", "2025-13-01"), "not an ISO 8601 date or time"),
    (("--format", "ndjson", "--until", "yesterday"), "not an ISO 8601 date or time"),
    (("--format", "ndjson", "--after", "-1"), "-1 is not in the range x>=0"),
    (("--format", "ndjson", "--account", "nope"), "'nope' is not a valid UUID"),
    (("--format", "ndjson", "--account", str(UUID(int=7))), f"no account {UUID(int=7)}"),
    (("--format", "ndjson", "--output", "missing/out.ndjson"), "no directory"),
]


@pytest.mark.parametrize(("args", "message"), ERRORS, ids=[e[1][:24] for e in ERRORS])
def test_bad_input_is_refused_readably_and_writes_nothing(  # type: ignore[no-untyped-def]
    run, account_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    before = _outputs(tmp_path)
    result = run("export-history", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert isinstance(result.exception, SystemExit)  # a message, not a traceback
    assert result.stdout == ""
    assert _outputs(tmp_path) == before


def _outputs(directory: Path) -> list[Path]:
    """Every file but the store's own."""
    return sorted(p for p in directory.rglob("*") if not p.name.startswith("ledger.sqlite"))


def test_a_failed_export_leaves_the_earlier_file_untouched(  # type: ignore[no-untyped-def]
    run, account_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "history.ndjson"
    path.write_text("the earlier export\n")

    def unexportable(*_: object) -> None:
        raise UnexportableValueError("no JSON form for a value of type Widget")

    monkeypatch.setattr(export, "record_of", unexportable)
    result = run("export-history", "--format", "ndjson", "--output", str(path))
    assert result.exit_code == 1
    assert f"export failed ({path} not written): no JSON form" in result.output
    assert isinstance(result.exception, SystemExit)
    assert path.read_text() == "the earlier export\n"
    assert sorted(p.name for p in tmp_path.glob("*history*")) == ["history.ndjson"]


def test_progress_lines_not_a_bar_when_stderr_is_not_a_terminal(run, account_id: str) -> None:  # type: ignore[no-untyped-def]
    result = run("export-history", "--format", "ndjson")
    assert result.exit_code == 0, result.output
    assert re.search(r"^Exporting: 1 of 1 log entries \(100%\), .*done$", result.stderr, re.M)
    assert "\r" not in result.stderr  # no bar redrawn over itself
    assert all(json.loads(line) for line in result.stdout.splitlines())  # stdout: the export
