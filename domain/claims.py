"""What a unit of work asks of the key index and the subject keys, saved with its events.

A key entry's scope is an account (its holder: a contact) or an organiser event (its
holder: a participant of it). The recorders apply the claims in order, in the transaction
that inserts the events (adapters/recorders.py), so they commit or fail together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


@dataclass(frozen=True)
class KeyChange:
    scope_id: UUID
    digest: str
    holder_id: UUID


class KeyClaim(KeyChange):
    """The key must be free: if another holds it, the save fails (IntegrityError)."""


class KeyOffer(KeyChange):
    """The key is taken only if free: the first live holder keeps it."""


class KeyRelease(KeyChange):
    """The key is given up, if this holder still has it."""


@dataclass(frozen=True)
class SubjectShred:
    """A data subject's key is destroyed: its sealed personal data can no longer be read."""

    account_id: UUID
    at: datetime
    subject_id: UUID


Claim = KeyClaim | KeyOffer | KeyRelease | SubjectShred
