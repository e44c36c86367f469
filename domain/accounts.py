"""The account (tenant): uniqueness key, sync modes, account fields, restore window (F1, F2)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from domain.aggregate import LedgerAggregate
from domain.fields import (
    IDENTITY_FIELDS,
    FieldCatalogue,
    FieldDefinition,
    FieldDefinitionError,
    UnknownFieldError,
)
from domain.keys import DEFAULT_KEY
from domain.meta import Meta
from domain.saved_views import SavedView, SavedViewNotFoundError
from domain.sync_modes import IDENTITY_NAMES, SyncMode, chosen_modes, default_mode

DEFAULT_RESTORE_WINDOW_MONTHS = 2
MAX_KEY_FIELDS = 5


class KeyChangeRefusedError(Exception):
    """Raised when the uniqueness key would change while contacts exist."""

    def __init__(self) -> None:
        super().__init__(
            "the uniqueness key cannot change once contacts exist; "
            "changing it would silently split or merge people (re-key explicitly instead)"
        )


class SettingsError(ValueError):
    """Raised when account settings are not valid; says which and why."""


class FieldAlreadyDefinedError(Exception):
    """Raised when a field name is already taken by another definition."""

    def __init__(self, name: str) -> None:
        super().__init__(f"field {name!r} is already defined differently")
        self.name = name


class GroupError(ValueError):
    """Raised when a group name is not valid."""


class GroupNameTakenError(Exception):
    """Raised when another group of the account has this name (case-insensitively)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"a group named {name!r} already exists")


class Account(LedgerAggregate):
    def __init__(self) -> None:
        self.name = ""
        self.uniqueness_key: tuple[str, ...] = DEFAULT_KEY
        self.sync: dict[str, SyncMode] = {}
        self.restore_window_months = DEFAULT_RESTORE_WINDOW_MONTHS
        self.field_definitions: dict[str, FieldDefinition] = {}
        self.organiser_event_ids: list[UUID] = []
        self.has_contacts = False
        self.views: dict[UUID, SavedView] = {}
        self.groups: dict[UUID, str] = {}

    @classmethod
    def open(cls, name: str, at: datetime, meta: Meta) -> Account:
        if not name.strip() or len(name) > 200:
            raise SettingsError("an account name is 1 to 200 characters")
        return cls._create(cls.Opened, id=uuid4(), timestamp=at, meta=meta, name=name.strip())

    @property
    def catalogue(self) -> FieldCatalogue:
        """Identity fields and account fields: what a contact can hold."""
        return FieldCatalogue({**IDENTITY_FIELDS, **self.field_definitions})

    def mode_of(self, field_name: str) -> SyncMode:
        """The mode chosen, else the default (derived here, never stored: decision 0043)."""
        chosen = self.sync.get(field_name)
        return default_mode(field_name, self.uniqueness_key) if chosen is None else chosen

    @property
    def effective_sync(self) -> dict[str, str]:
        """The mode of every field that is not simply off: chosen, key fields, names."""
        names = sorted({*self.sync, *self.uniqueness_key, *IDENTITY_NAMES})
        return {name: self.mode_of(name).value for name in names}

    @property
    def up_fields(self) -> frozenset[str]:
        """Fields whose participant values go up to the contact (key fields always do)."""
        return frozenset(n for n, mode in self.effective_sync.items() if mode != SyncMode.OFF)

    @property
    def only_key_goes_up(self) -> bool:
        """Contacts would hold nothing but their key (no name, no other field)."""
        return self.up_fields <= set(self.uniqueness_key)

    @property
    def propagated_fields(self) -> frozenset[str]:
        return frozenset(n for n, m in self.sync.items() if m is SyncMode.UP_AND_PROPAGATE)

    def change_settings(
        self,
        uniqueness_key: Sequence[str],
        sync: Mapping[str, str],
        restore_window_months: int,
        at: datetime,
        meta: Meta,
    ) -> None:
        key = self._checked_key(uniqueness_key)
        modes = chosen_modes(self._checked_sync(sync, key), key)
        if not 1 <= restore_window_months <= 24:
            raise SettingsError("restore_window_months must be between 1 and 24")
        if (key, modes, restore_window_months) == (
            self.uniqueness_key,
            chosen_modes(self.sync, self.uniqueness_key),
            self.restore_window_months,
        ):
            return
        if key != self.uniqueness_key and self.has_contacts:
            raise KeyChangeRefusedError()
        self.record(
            self.SettingsChanged,
            at,
            meta,
            uniqueness_key=list(key),
            sync={name: mode.value for name, mode in sorted(modes.items())},
            restore_window_months=restore_window_months,
        )

    def amend_settings(
        self,
        uniqueness_key: Sequence[str] | None,
        sync: Mapping[str, str] | None,
        restore_window_months: int | None,
        at: datetime,
        meta: Meta,
    ) -> None:
        """Change only what is given: every field not named in `sync` keeps its mode (a
        field that joins the key goes up, unless `sync` turns it off: refused)."""
        key = self.uniqueness_key if uniqueness_key is None else tuple(uniqueness_key)
        kept = {n: m for n, m in self.effective_sync.items() if not (n in key and m == "off")}
        window = (
            self.restore_window_months if restore_window_months is None else restore_window_months
        )
        self.change_settings(key, {**kept, **(sync or {})}, window, at, meta)

    def define_field(self, definition: FieldDefinition, at: datetime, meta: Meta) -> None:
        if definition.name in IDENTITY_FIELDS:
            raise FieldAlreadyDefinedError(definition.name)
        existing = self.field_definitions.get(definition.name)
        if existing == definition:
            return
        if existing is not None:
            raise FieldAlreadyDefinedError(definition.name)
        self.record(self.FieldDefined, at, meta, definition=definition.as_dict())

    def add_organiser_event(self, organiser_event_id: UUID, at: datetime, meta: Meta) -> None:
        self.record(self.OrganiserEventAdded, at, meta, organiser_event_id=organiser_event_id)

    def note_first_contact(self, at: datetime, meta: Meta) -> None:
        """Record, once, that contacts exist: from then on the key is fixed."""
        if not self.has_contacts:
            self.record(self.ContactsStarted, at, meta)

    def save_view(self, view: SavedView, at: datetime, meta: Meta) -> None:
        """Save (or replace) a view of a grid; saving it unchanged records nothing."""
        if self.views.get(view.view_id) != view:
            self.record(self.ViewSaved, at, meta, view=view.as_dict())

    def delete_view(self, view_id: UUID, at: datetime, meta: Meta) -> None:
        if view_id not in self.views:
            raise SavedViewNotFoundError(view_id)
        self.record(self.ViewDeleted, at, meta, view_id=view_id)

    def create_group(self, name: str, at: datetime, meta: Meta) -> UUID:
        """A new group of contacts (F8); names are unique within the account."""
        name = name.strip()
        if not name or len(name) > 200 or "\x00" in name:
            raise GroupError("a group name is 1 to 200 characters")
        if any(other.casefold() == name.casefold() for other in self.groups.values()):
            raise GroupNameTakenError(name)
        group_id = uuid4()
        self.record(self.GroupCreated, at, meta, group_id=group_id, name=name)
        return group_id

    def _checked_key(self, uniqueness_key: Sequence[str]) -> tuple[str, ...]:
        key = tuple(uniqueness_key)
        if not key or len(key) > MAX_KEY_FIELDS or len(set(key)) != len(key):
            raise SettingsError(
                f"uniqueness_key must list 1 to {MAX_KEY_FIELDS} distinct field names"
            )
        for name in key:
            if name not in self.catalogue:
                raise UnknownFieldError(name)
        return key

    def _checked_sync(self, sync: Mapping[str, str], key: tuple[str, ...]) -> dict[str, SyncMode]:
        modes = {}
        for name, mode in sync.items():
            if name not in self.catalogue:
                raise UnknownFieldError(name)
            try:
                modes[name] = SyncMode(mode)
            except ValueError:
                raise SettingsError(
                    f"sync mode of {name!r} must be off, up or up_and_propagate"
                ) from None
            if name in key and modes[name] is SyncMode.OFF:
                raise SettingsError(
                    f"{name!r} is in the uniqueness key: its values always go up to the contact "
                    "(up or up_and_propagate), it cannot be off"
                )
        return modes

    class Opened(LedgerAggregate.Created):
        name: str

        def apply(self, account: Account) -> None:
            account.name = self.name

    class SettingsChanged(LedgerAggregate.Event):
        uniqueness_key: list[str]
        sync: dict[str, str]
        restore_window_months: int

        def apply(self, account: Account) -> None:
            account.uniqueness_key = tuple(self.uniqueness_key)
            account.sync = {name: SyncMode(mode) for name, mode in self.sync.items()}
            account.restore_window_months = self.restore_window_months

    class FieldDefined(LedgerAggregate.Event):
        definition: dict[str, Any]

        def apply(self, account: Account) -> None:
            definition = FieldDefinition.from_dict(self.definition)
            account.field_definitions[definition.name] = definition

    class OrganiserEventAdded(LedgerAggregate.Event):
        organiser_event_id: UUID

        def apply(self, account: Account) -> None:
            account.organiser_event_ids.append(self.organiser_event_id)

    class ContactsStarted(LedgerAggregate.Event):
        def apply(self, account: Account) -> None:
            account.has_contacts = True

    class ViewSaved(LedgerAggregate.Event):
        """A saved grid view (its filter may name field values: organiser data, not sealed)."""

        view: dict[str, Any]

        def apply(self, account: Account) -> None:
            view = SavedView.from_dict(self.view)
            account.views[view.view_id] = view

    class ViewDeleted(LedgerAggregate.Event):
        view_id: UUID

        def apply(self, account: Account) -> None:
            account.views.pop(self.view_id, None)

    class GroupCreated(LedgerAggregate.Event):
        """A group of contacts (its name is organiser data, not personal)."""

        group_id: UUID
        name: str

        def apply(self, account: Account) -> None:
            account.groups[self.group_id] = self.name


__all__ = [
    "Account",
    "FieldAlreadyDefinedError",
    "FieldDefinitionError",
    "GroupError",
    "GroupNameTakenError",
    "KeyChangeRefusedError",
    "SettingsError",
]
