from __future__ import annotations

from pathlib import Path

import pytest

from adapters.settings import Database, Settings, SettingsError


def test_database_urls_select_the_backend() -> None:
    assert Database.from_url("memory://").kind == "memory"
    assert Database.from_url("sqlite:///./data/x.sqlite").path == "./data/x.sqlite"
    pg = Database.from_url("postgresql://me:s%40cret@db.local:6543/ledger?schema=prod")
    assert (pg.kind, pg.user, pg.password, pg.host, pg.port, pg.name, pg.schema) == (
        "postgres",
        "me",
        "s@cret",
        "db.local",
        6543,
        "ledger",
        "prod",
    )


@pytest.mark.parametrize("url", ["mysql://x", "sqlite://"])
def test_unsupported_urls_are_refused_clearly(url: str) -> None:
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        Database.from_url(url)


def test_a_secret_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    first = Settings.from_env({"LEDGER_DATA_DIR": str(tmp_path)})
    again = Settings.from_env({"LEDGER_DATA_DIR": str(tmp_path)})
    assert first.key_index_secret == again.key_index_secret
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    assert first.database.path == str(tmp_path / "ledger.sqlite")


def test_a_short_or_malformed_setting_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="at least 32"):
        Settings.from_env({"LEDGER_DATA_DIR": str(tmp_path), "LEDGER_SECRET": "short"})
    with pytest.raises(SettingsError, match="must be a number"):
        Settings.from_env({"LEDGER_DATA_DIR": str(tmp_path), "LEDGER_READ_WAIT_SECONDS": "soon"})


def test_postgresql_needs_an_explicit_shared_secret(tmp_path: Path) -> None:
    env = {"LEDGER_DATA_DIR": str(tmp_path), "DATABASE_URL": "postgresql://u@h/db"}
    with pytest.raises(SettingsError, match="LEDGER_SECRET is required"):
        Settings.from_env(env)
    assert Settings.from_env({**env, "LEDGER_SECRET": "s" * 32}).key_index_secret == b"s" * 32


def test_special_characters_survive_into_the_sqlalchemy_url() -> None:
    url = Database.from_url("postgresql://me:p%40ss%2Fw@h:5432/db").sqlalchemy_url()
    assert url == "postgresql+psycopg://me:p%40ss%2Fw@h:5432/db"


@pytest.mark.parametrize("hours", ["0", "-1", "nan", "inf", "9000"])
def test_idempotency_hours_must_be_a_sensible_positive_number(tmp_path: Path, hours: str) -> None:
    env = {"LEDGER_DATA_DIR": str(tmp_path), "LEDGER_IDEMPOTENCY_HOURS": hours}
    with pytest.raises(SettingsError, match="LEDGER_IDEMPOTENCY_HOURS"):
        Settings.from_env(env)


def test_idempotency_hours_default_to_a_day(tmp_path: Path) -> None:
    assert Settings.from_env({"LEDGER_DATA_DIR": str(tmp_path)}).idempotency_hours == 24.0
    env = {"LEDGER_DATA_DIR": str(tmp_path), "LEDGER_IDEMPOTENCY_HOURS": "1.5"}
    assert Settings.from_env(env).idempotency_hours == 1.5


@pytest.mark.parametrize("seconds", ["-1", "nan", "31"])
def test_the_feed_wait_is_from_0_to_30_seconds(tmp_path: Path, seconds: str) -> None:
    env = {"LEDGER_DATA_DIR": str(tmp_path), "LEDGER_FEED_WAIT_SECONDS": seconds}
    with pytest.raises(SettingsError, match="LEDGER_FEED_WAIT_SECONDS"):
        Settings.from_env(env)
    assert Settings.from_env({"LEDGER_DATA_DIR": str(tmp_path)}).feed_wait_seconds == 30.0
