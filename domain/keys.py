"""The uniqueness key (F3): normalisation and the keyed digest the key index stores.

The index never holds key values, only an HMAC of them under a server secret, so a
leaked index cannot be reversed by hashing candidate emails; erasure deletes its row.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

DEFAULT_KEY = ("email",)


def normalise(field_name: str, value: Any) -> str | None:
    """The comparable form of one key value, or None when it is missing."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    if field_name == "email":
        text = text.strip().lower()
    else:
        text = unicodedata.normalize("NFKC", " ".join(text.split())).casefold()
    return text or None


def key_values(key: Sequence[str], fields: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The normalised key of these field values, or None if any key field is missing."""
    values = tuple(normalise(name, fields.get(name)) for name in key)
    if any(value is None for value in values):
        return None
    return tuple(v for v in values if v is not None)


class KeyHasher:
    """Turns (account, key values) into the digest stored in the key index."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the key-index secret must be at least 16 bytes")
        self._keyed = hmac.new(secret, digestmod=hashlib.sha256)

    def digest(self, account_id: UUID, values: tuple[str, ...]) -> str:
        keyed = self._keyed.copy()  # the secret's padding is computed once, not per digest
        keyed.update("\x1f".join((account_id.hex, *values)).encode())
        return keyed.hexdigest()
