"""Who holds a uniqueness key: the key-index port, and the refusal when another contact does."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol
from uuid import UUID


class ContactKeyIndex(Protocol):
    """Port: who holds a key digest in a scope. Claims are written with the events.

    The scope is an account (the holder is its contact of that key) or an organiser event
    (the holder is the participant of that key in the event: what an import matches on).
    """

    def find_contact(self, account_id: UUID, digest: str) -> UUID | None: ...
    def find_contacts(self, account_id: UUID, digests: Iterable[str]) -> dict[str, UUID]: ...


class KeyTakenError(Exception):
    """Raised when a contact edit would give it the key another contact holds."""

    def __init__(self, holder_id: UUID) -> None:
        super().__init__(
            f"another contact ({holder_id}) already has this uniqueness key; merge them instead"
        )
        self.holder_id = holder_id
