"""Long CLI commands say how far they are when stderr is not a terminal (a log, cron), and
`rebuild` beside a running server says that the server's projector did the work."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from adapters.cli import main
from adapters.progress import ProgressLines
from adapters.projector import Projector
from adapters.settings import Settings
from app import build_system
from tests.support.processes import database_url
from tests.support.sheets import csv_bytes


@pytest.fixture
def run(db_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("LEDGER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", database_url(db_settings.database))
    monkeypatch.setenv("LEDGER_SECRET", db_settings.key_index_secret.decode())

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(main, list(args), obj=build_system)

    loaded = invoke("demo")
    assert loaded.exit_code == 0, loaded.output
    invoke.demo_account = re.search(r"Demo account ([0-9a-f-]+):", loaded.stdout).group(1)  # type: ignore[attr-defined, union-attr]
    return invoke


def finished(stderr: str, label: str, unit: str = "log entries") -> list[str]:
    pattern = rf"^{label}: [\d,]+( of [\d,]+)? {unit}( \(\d+%\))?, [\d,]+/s, done$"
    return [line for line in stderr.splitlines() if re.match(pattern, line)]


def test_rebuild_and_project_print_progress_lines(run: Any) -> None:
    rebuilt = run("rebuild", "grid")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert finished(rebuilt.stderr, "Rebuilding grid")
    assert "(100%)" in finished(rebuilt.stderr, "Rebuilding grid")[0]
    caught_up = run("project", "--once")
    assert len(finished(caught_up.stderr, "Catching up (grid|audit|outbox|reports)")) == 4


def test_replay_export_and_purge_print_progress_lines(run: Any, tmp_path: Path) -> None:
    replayed = run("replay", "--until", "2100-01-01", "--into", str(tmp_path / "then"))
    assert finished(replayed.stderr, "Replaying"), replayed.output
    exported = run("export-history", "--format", "ndjson", "--output", str(tmp_path / "h.ndjson"))
    assert finished(exported.stderr, "Exporting"), exported.output
    purged = run("purge")
    assert finished(purged.stderr, "Purging", "records erased"), purged.output


def test_import_prints_progress_lines(run: Any, tmp_path: Path) -> None:
    account_id = run.demo_account
    sheet = tmp_path / "people.csv"
    sheet.write_bytes(csv_bytes([["E-mail", "Prénom"], ["ada@example.org", "Ada"]]))
    mapping = '{"E-mail": "email", "Prénom": "first_name"}'
    done = run("import", str(sheet), "--account", account_id, "--contacts", "--mapping", mapping)
    assert done.exit_code == 0, done.output
    assert finished(done.stderr, "Importing", "rows"), done.stderr


def test_lines_come_at_most_every_so_often() -> None:
    out = io.StringIO()
    lines = ProgressLines(1000, "Rebuilding grid", "log entries", out, every=0)
    lines.update(250)
    lines.update(250)
    lines.say(last=True)
    said = [re.sub(r", [\d,]+/s", "", line) for line in out.getvalue().splitlines()]
    assert said == [
        "Rebuilding grid: 250 of 1,000 log entries (25%)",
        "Rebuilding grid: 500 of 1,000 log entries (50%)",
        "Rebuilding grid: 500 of 1,000 log entries (50%), done",
    ]
    quiet = io.StringIO()
    slow = ProgressLines(1000, "Rebuilding grid", "log entries", quiet, every=3600)
    slow.update(999)
    assert quiet.getvalue() == ""


def test_rebuild_beside_a_running_server_says_its_projector_did_the_work(
    run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = build_system()  # another process's system on the same database
    real_catch_up = Projector.catch_up

    def server_first(self: Projector, progress: Any = None) -> int:
        """The server's projector takes every batch after the reset, as it does when it
        wakes first: the rebuild then finds every position taken."""
        real_catch_up(server.projectors[self.store.name])
        return real_catch_up(self, progress)

    monkeypatch.setattr(Projector, "catch_up", server_first)
    try:
        head = server.ledger.recorder.max_notification_id()
        rebuilt = run("rebuild", "grid")
    finally:
        server.close()
    assert rebuilt.exit_code == 0, rebuilt.output
    assert rebuilt.stdout.strip() == (
        f"grid: position {head}; 0 log entries applied here and {head} by the projector of "
        "a running `serve` or `project`, which follows the log into it"
    )
