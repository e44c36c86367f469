"""Per-subject keys (crypto-shredding): AES-256-GCM, one key per person-aggregate.

Keys live in the `ledger_subject_keys` table beside the events; shredding deletes them
and remembers the subject in `ledger_shredded_subjects`, after which sealed values read
back as their erased stand-ins. Keys are cached per process for `ttl` seconds, which
bounds how long another process can still open a freshly shredded subject's events.
"""

from __future__ import annotations

import base64
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
AEADS_KEPT = 1_024


class SubjectKeyStore(Protocol):
    def subject_keys(self, subject_ids: Iterable[UUID]) -> tuple[dict[UUID, bytes], set[UUID]]: ...
    def shred_subjects(self, subject_ids: Iterable[UUID], at: datetime) -> None: ...


class MissingSubjectKeyError(Exception):
    """Raised when sealed data names a subject with no key that was never shredded."""

    def __init__(self, subject_id: UUID) -> None:
        super().__init__(f"no key for data subject {subject_id} and it was never shredded")


class TamperedDataError(Exception):
    """Raised when sealed data fails authentication (wrong key, moved or altered bytes)."""


class KeyRing:
    def __init__(self, ttl: float = 60.0, maxsize: int = 20_000) -> None:
        self.ttl = ttl
        self.maxsize = maxsize
        self._store: SubjectKeyStore | None = None
        self._cache: OrderedDict[UUID, tuple[bytes | None, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._aeads: dict[bytes, AESGCM] = {}

    def bind(self, store: SubjectKeyStore) -> None:
        self._store = store

    def new_keys(self, subject_ids: Iterable[UUID]) -> dict[UUID, bytes]:
        """Fresh keys for new subjects, usable at once by this process's mapper."""
        keys = {subject_id: AESGCM.generate_key(bit_length=256) for subject_id in subject_ids}
        with self._lock:
            for subject_id, key in keys.items():
                self._remember(subject_id, key)
        return keys

    def forget(self, subject_ids: Iterable[UUID]) -> None:
        with self._lock:
            for subject_id in subject_ids:
                self._drop_aead(self._cache.pop(subject_id, None))

    def shred(self, subject_ids: Iterable[UUID], at: datetime) -> None:
        ids = list(subject_ids)
        self._bound().shred_subjects(ids, at)
        with self._lock:
            for subject_id in ids:
                self._drop_aead(self._cache.get(subject_id))
                self._remember(subject_id, None)

    def prefetch(self, subject_ids: Iterable[UUID]) -> None:
        """Load the keys of many subjects in one query (projectors read in batches)."""
        now = time.monotonic()
        with self._lock:
            missing = {s for s in subject_ids if (c := self._cache.get(s)) is None or c[1] <= now}
        if not missing:
            return
        keys, shredded = self._bound().subject_keys(missing)
        with self._lock:
            for subject_id in missing:
                if subject_id in keys or subject_id in shredded:  # as `key_for` would
                    self._remember(subject_id, keys.get(subject_id), now)

    def seal(self, subject_id: UUID, aad: bytes, plaintext: bytes) -> str:
        key = self.key_for(subject_id)
        if key is None:
            raise MissingSubjectKeyError(subject_id)
        nonce = os.urandom(NONCE_BYTES)
        return base64.b64encode(nonce + AESGCM(key).encrypt(nonce, plaintext, aad)).decode()

    def open(self, subject_id: UUID, aad: bytes, token: str) -> bytes | None:
        """The plaintext, or None when the subject has been shredded."""
        key = self.key_for(subject_id)
        if key is None:
            return None
        raw = base64.b64decode(token)
        try:
            return self._aead(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad)
        except InvalidTag:
            raise TamperedDataError(f"sealed data of subject {subject_id} failed to open") from None

    def key_for(self, subject_id: UUID) -> bytes | None:
        with self._lock:
            cached = self._cache.get(subject_id)
            if cached is not None and cached[1] > time.monotonic():
                self._cache.move_to_end(subject_id)
                return cached[0]
        keys, shredded = self._bound().subject_keys([subject_id])
        if subject_id not in keys and subject_id not in shredded:
            raise MissingSubjectKeyError(subject_id)
        key = keys.get(subject_id)
        with self._lock:
            self._remember(subject_id, key)
        return key

    def _aead(self, key: bytes) -> AESGCM:
        """A cipher per key, kept for the next events of the same subject."""
        aead = self._aeads.get(key)
        if aead is None:
            if len(self._aeads) >= AEADS_KEPT:
                self._aeads.clear()
            aead = self._aeads[key] = AESGCM(key)
        return aead

    def _drop_aead(self, cached: tuple[bytes | None, float] | None) -> None:
        if cached is not None and cached[0] is not None:
            self._aeads.pop(cached[0], None)

    def _remember(self, subject_id: UUID, key: bytes | None, now: float | None = None) -> None:
        self._cache[subject_id] = (key, (now or time.monotonic()) + self.ttl)
        self._cache.move_to_end(subject_id)
        while len(self._cache) > self.maxsize:
            self._cache.popitem(last=False)

    def _bound(self) -> SubjectKeyStore:
        if self._store is None:
            raise RuntimeError("the key ring is not bound to a key store")
        return self._store
