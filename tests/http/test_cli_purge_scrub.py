"""`contact-ledger purge [--scrub]`: says whether the storage was scrubbed (decision 0035)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from adapters.cli import main
from app import build_system


def test_purge_scrubs_only_when_due_or_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    runner = CliRunner()
    plain = runner.invoke(main, ["purge"], obj=build_system)
    assert plain.exit_code == 0, plain.output
    assert "storage not scrubbed" in plain.output  # nothing was ever erased
    forced = runner.invoke(main, ["purge", "--scrub"], obj=build_system)
    assert forced.exit_code == 0, forced.output
    assert "storage scrubbed" in forced.output and "not scrubbed" not in forced.output
    refused = runner.invoke(main, ["purge", "--scrub=yes"], obj=build_system)
    assert refused.exit_code == 2 and "--scrub" in refused.output
