"""How a field's participant values reach contacts: its sync mode, and the defaults an
account starts with and never stores (decision 0043)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum

# On contacts unless turned off (SPEC §8): a contact without a name cannot be found or sorted.
IDENTITY_NAMES = frozenset({"first_name", "last_name"})


class SyncMode(StrEnum):
    OFF = "off"
    UP = "up"
    UP_AND_PROPAGATE = "up_and_propagate"


def default_mode(name: str, key: Sequence[str]) -> SyncMode:
    return SyncMode.UP if name in key or name in IDENTITY_NAMES else SyncMode.OFF


def chosen_modes(modes: Mapping[str, SyncMode], key: Sequence[str]) -> dict[str, SyncMode]:
    """The modes that differ from their default: what settings record (`off` for a name)."""
    return {name: mode for name, mode in modes.items() if mode is not default_mode(name, key)}
