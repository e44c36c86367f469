"""A mapper that seals each event's personal attributes with its subject's key.

Event classes name their personal attributes (`personal_fields`); those are taken out of
the stored state, transcoded, and stored as one AES-GCM token bound (as associated data)
to the event's originator id and version, so a token cannot be moved to another event.
Once the subject is shredded, readers get each attribute's erased stand-in instead.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from json import JSONEncoder

# c_make_encoder (the C encoder, None without it) is not in typeshed's json.encoder
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from json.encoder import encode_basestring as quoted  # as the library's encoder quotes text
from typing import Any
from uuid import UUID

from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent, Transcoder, Transcoding
from eventsourcing.utils import get_topic

from adapters.keystore import KeyRing
from domain.personal_data import erased_value

SEALED = "_sealed"
SHARED_KINDS = frozenset({"uuid_hex", "meta"})  # immutable values that repeat across events
SHARED_MAX = 65_536


class LedgerTranscoder(JSONTranscoder):
    """The library's JSON transcoder, faster on what every event carries.

    Decoding: ids and provenance repeat from event to event, so equal ones are decoded
    once and shared (UUIDs and Meta are immutable). Encoding: an event's attributes are
    written one by one, ids and times straight into their tagged form, text, None and
    booleans directly, and each Meta's JSON once (the library's encoder calls back into
    Python for every id, time and Meta an event holds, and starts an encoder per value).
    The JSON is the library's, to the byte; anything else (other types, keys that are not
    plain names) is encoded by the library's encoder.
    """

    def __init__(self) -> None:
        super().__init__()
        self._dumps = _one_shot(self.encoder)
        self._shared: dict[Any, Any] = {}
        self._metas: dict[Any, str] = {}
        self.repeated: frozenset[type] = frozenset()

    def encode(self, obj: Any) -> bytes:
        if type(obj) is not dict:
            return super().encode(obj)
        dumps = self._dumps
        parts = []
        for name, value in obj.items():
            if type(name) is not str or not name.isidentifier():
                return super().encode(obj)
            kind = type(value)
            if kind is UUID:
                parts.append(f'"{name}":{{"_type_":"uuid_hex","_data_":"{value.hex}"}}')
            elif kind is datetime:
                text = value.isoformat()
                parts.append(f'"{name}":{{"_type_":"datetime_iso","_data_":"{text}"}}')
            elif kind is str:
                parts.append(f'"{name}":{quoted(value)}')
            elif value is None:
                parts.append(f'"{name}":null')
            elif kind is bool:
                parts.append(f'"{name}":{"true" if value else "false"}')
            elif kind in self.repeated:
                parts.append(f'"{name}":{self._repeated(value)}')
            else:
                parts.append(f'"{name}":{dumps(value)}')
        return ("{" + ",".join(parts) + "}").encode("utf8")

    def register(self, transcoding: Transcoding) -> None:
        super().register(transcoding)
        if transcoding.name == "meta":  # immutable, one per request: its JSON is kept
            self.repeated = frozenset({*self.repeated, transcoding.type})

    def _repeated(self, value: Any) -> str:
        text = self._metas.get(value)
        if text is None:
            if len(self._metas) >= SHARED_MAX:
                self._metas.clear()
            text = self._metas[value] = self.encoder.encode(value)
        return text

    def _decode_obj(self, d: dict[str, Any]) -> Any:
        if len(d) != 2 or "_type_" not in d or "_data_" not in d:
            return d
        name, data = d["_type_"], d["_data_"]
        if name not in SHARED_KINDS:
            return super()._decode_obj(d)
        key = (name, data) if isinstance(data, str) else (name, *data.items())
        value = self._shared.get(key)
        if value is None:
            value = super()._decode_obj(d)
            if len(self._shared) >= SHARED_MAX:
                self._shared.clear()
            self._shared[key] = value
        return value


def _one_shot(encoder: JSONEncoder) -> Callable[[Any], str]:
    """`encoder.encode`, less the Python it runs per call to set up the C encoder (a third
    of a small dict's time): one C encoder, made once. It keeps no record of the containers
    it is inside (an event's state is a tree; a cycle would end in RecursionError), so it
    is safe to share between threads."""
    if c_make_encoder is None or encoder.indent is not None:
        return encoder.encode
    chunks = c_make_encoder(
        None,
        encoder.default,
        encode_basestring_ascii if encoder.ensure_ascii else quoted,
        None,
        encoder.key_separator,
        encoder.item_separator,
        encoder.sort_keys,
        encoder.skipkeys,
        encoder.allow_nan,
    )

    def dumps(value: Any) -> str:
        return "".join(chunks(value, 0))

    return dumps


class SealingMapper(Mapper[UUID]):
    def __init__(self, transcoder: Transcoder, keyring: KeyRing, **kwargs: Any) -> None:
        super().__init__(transcoder, **kwargs)
        self.keyring = keyring

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        personal = getattr(type(domain_event), "personal_fields", None)
        if not personal:
            return super().to_stored_event(domain_event)
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        secrets = {name: state.pop(name) for name in personal}
        aad = _aad(originator_id, originator_version)
        state[SEALED] = self.keyring.seal(originator_id, aad, self.transcoder.encode(secrets))
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        stored_state = self.transcoder.encode(state)
        if self.compressor:
            stored_state = self.compressor.compress(stored_state)
        if self.cipher:
            stored_state = self.cipher.encrypt(stored_state)
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=get_topic(type(domain_event)),
            state=stored_state,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        domain_event = super().to_domain_event(stored_event)
        state = domain_event.__dict__
        token = state.pop(SEALED, None)
        if token is not None:
            subject = domain_event.originator_id
            plaintext = self.keyring.open(
                subject, _aad(subject, domain_event.originator_version), token
            )
            if plaintext is None:
                _erase(domain_event)
            else:
                state.update(self.transcoder.decode(plaintext))
        return domain_event

    def to_anonymous_event(self, stored_event: StoredEvent) -> Any:
        """The event without its personal data, which is not even decrypted: each personal
        attribute reads as its erased stand-in (for projections that count, not read)."""
        domain_event = super().to_domain_event(stored_event)
        state = domain_event.__dict__
        if state.pop(SEALED, None) is not None:
            _erase(domain_event)
        return domain_event


def _erase(domain_event: Any) -> None:
    """Each personal attribute of the event as its erased stand-in."""
    personal = type(domain_event).personal_fields
    domain_event.__dict__.update({name: erased_value(kind) for name, kind in personal.items()})


def _aad(originator_id: UUID, originator_version: int) -> bytes:
    return f"{originator_id}:{originator_version}".encode()
