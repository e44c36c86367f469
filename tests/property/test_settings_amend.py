"""Amending an account's settings changes only what it names: every other field keeps its
effective sync mode, whatever was set before (SPEC §8, `PATCH /v1/settings`)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from domain.accounts import Account, SettingsError
from domain.meta import Meta

AT, META = datetime(2026, 1, 1, tzinfo=UTC), Meta("prop", "admin", "http", "c")
FIELDS = ("email", "first_name", "last_name", "company", "city", "phone_mobile")
modes = st.sampled_from(("off", "up", "up_and_propagate"))
syncs = st.dictionaries(st.sampled_from(FIELDS), modes, max_size=4)
keys = st.lists(st.sampled_from(FIELDS), min_size=1, max_size=2, unique=True).map(tuple)


def _account(key: tuple[str, ...], sync: dict[str, str]) -> Account | None:
    account = Account.open("Org", AT, META)
    try:
        account.change_settings(key, sync, 2, AT, META)
    except SettingsError:  # a key field turned off
        return None
    return account


@given(keys, syncs, st.none() | keys, syncs)
def test_an_amendment_keeps_every_mode_it_does_not_name(
    key: tuple[str, ...],
    sync: dict[str, str],
    new_key: tuple[str, ...] | None,
    change: dict[str, str],
) -> None:
    account = _account(key, sync)
    if account is None:
        return
    before = {name: account.mode_of(name).value for name in FIELDS}
    try:
        account.amend_settings(new_key, change, None, AT, META)
    except SettingsError:
        assert any(change.get(n) == "off" for n in new_key or key)
        return
    after = {name: account.mode_of(name).value for name in FIELDS}
    keyed = set(new_key or ()) - set(change)  # a new key field goes up if it was off
    expected = {
        n: change.get(n, "up" if n in keyed and before[n] == "off" else before[n]) for n in FIELDS
    }
    assert after == expected
    assert account.uniqueness_key == (new_key or key)


@given(keys, syncs)
def test_a_replacement_sets_what_it_names_and_defaults_the_rest(
    key: tuple[str, ...], sync: dict[str, str]
) -> None:
    account = _account(key, sync)
    if account is None:
        assert any(sync.get(n) == "off" for n in key)
        return
    for name in FIELDS:
        default = "up" if name in key or name in ("first_name", "last_name") else "off"
        assert account.mode_of(name).value == sync.get(name, default)
