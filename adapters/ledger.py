"""The ledger wired to real storage: sealing mapper, key ring and ledger recorders."""

from __future__ import annotations

from typing import Any

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import ApplicationRecorder, Mapper
from eventsourcing.popo import POPOFactory
from eventsourcing.postgres import PostgresFactory
from eventsourcing.sqlite import SQLiteFactory

from adapters.keystore import KeyRing
from adapters.mapper import SealingMapper
from adapters.recorders import MemoryLedgerRecorder, PostgresLedgerRecorder, SqliteLedgerRecorder
from adapters.settings import Settings
from domain.application import ContactLedger
from domain.keys import KeyHasher


class SealedContactLedger(ContactLedger):
    name = "ContactLedger"

    def __init__(self, hasher: KeyHasher, keyring: KeyRing, env: dict[str, str]) -> None:
        self.keyring = keyring
        super().__init__(hasher, env=env)
        keyring.bind(self.recorder)  # type: ignore[arg-type]

    def construct_mapper(self) -> Mapper[Any]:
        return SealingMapper(self.construct_transcoder(), self.keyring)

    def construct_recorder(self) -> ApplicationRecorder:
        factory = self.factory
        recorder: Any
        if isinstance(factory, POPOFactory):
            return MemoryLedgerRecorder()
        if isinstance(factory, SQLiteFactory):
            recorder = SqliteLedgerRecorder(factory.datastore)
        elif isinstance(factory, PostgresFactory):
            recorder = PostgresLedgerRecorder(
                factory.datastore, events_table_name=f"{self.name.lower()}_events"
            )
        else:
            raise TypeError(f"unsupported persistence: {type(factory).__name__}")
        recorder.create_table()
        return recorder  # type: ignore[no-any-return]

    def _record(self, processing_event: ProcessingEvent[Any]) -> Any:
        born = {
            event.originator_id
            for event in processing_event.events
            if event.originator_version == 1
        }
        subjects = [
            aggregate_id
            for aggregate_id, aggregate in processing_event.aggregates.items()
            if aggregate_id in born and type(aggregate).holds_personal_data
        ]
        keys = self.keyring.new_keys(subjects)
        processing_event.saved_kwargs["subject_keys"] = keys
        try:
            return super()._record(processing_event)
        except BaseException:
            self.keyring.forget(keys)
            raise


def build_ledger(settings: Settings) -> SealedContactLedger:
    hasher = KeyHasher(settings.key_index_secret)
    keyring = KeyRing(ttl=settings.key_cache_seconds)
    if settings.database.kind == "sqlite":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SealedContactLedger(hasher, keyring, settings.database.eventsourcing_env())
