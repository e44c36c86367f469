"""The token and throttle settings: defaults, and values refused with their name."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.settings import Settings, SettingsError


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    return {"LEDGER_DATA_DIR": str(tmp_path), **values}


def test_defaults_bound_a_revocation_to_five_seconds_and_allow_ten_failures(
    tmp_path: Path,
) -> None:
    settings = Settings.from_env(_env(tmp_path))
    assert settings.token_cache_seconds == 5.0
    assert (settings.auth_failure_limit, settings.auth_failure_window_seconds) == (10, 60.0)


def test_the_settings_are_read_from_the_environment(tmp_path: Path) -> None:
    settings = Settings.from_env(
        _env(
            tmp_path,
            LEDGER_TOKEN_CACHE_SECONDS="0",
            LEDGER_AUTH_FAILURES="0",
            LEDGER_AUTH_WINDOW_SECONDS="300",
        )
    )
    assert settings.token_cache_seconds == 0
    assert (settings.auth_failure_limit, settings.auth_failure_window_seconds) == (0, 300.0)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LEDGER_TOKEN_CACHE_SECONDS", "61"),
        ("LEDGER_TOKEN_CACHE_SECONDS", "nan"),
        ("LEDGER_TOKEN_CACHE_SECONDS", "-1"),
        ("LEDGER_AUTH_FAILURES", "many"),
        ("LEDGER_AUTH_WINDOW_SECONDS", "0"),
    ],
)
def test_unusable_values_are_refused_by_name(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(_env(tmp_path, **{name: value}))
