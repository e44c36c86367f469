"""The ledger wired to real storage: sealing mapper, key ring and ledger recorders."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import ApplicationRecorder, Transcoder
from eventsourcing.popo import POPOFactory
from eventsourcing.postgres import PostgresFactory
from eventsourcing.sqlite import SQLiteFactory
from eventsourcing.utils import Environment, EnvType

from adapters.group_commit import GroupCommit
from adapters.hot_contacts import HotAggregates
from adapters.keystore import KeyRing
from adapters.mapper import LedgerTranscoder, SealingMapper
from adapters.recorders import MemoryLedgerRecorder, PostgresLedgerRecorder, SqliteLedgerRecorder
from adapters.settings import Settings
from adapters.sql.engine import create_private_file
from domain.accounts import Account
from domain.aggregate import LedgerAggregate
from domain.application import ContactLedger, Outcome
from domain.claims import SubjectShred
from domain.commands import EraseContact, EraseParticipant
from domain.keys import KeyHasher
from domain.meta import Meta
from domain.organiser_events import OrganiserEvent


class SettledCache:
    """Accounts and organiser events change rarely and are read by every command.

    Each process keeps them for `ttl` seconds. A command that modifies a stale copy loses
    its optimistic-concurrency race, the cache is cleared and the command re-runs; a
    command that only reads one may see settings up to `ttl` seconds old.
    """

    KINDS = (Account, OrganiserEvent)

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._items: dict[UUID, tuple[LedgerAggregate, float]] = {}
        self._lock = threading.Lock()

    def get(self, aggregate_id: UUID) -> LedgerAggregate | None:
        """A shared instance: callers must not modify it (the unit of work checks)."""
        with self._lock:
            item = self._items.get(aggregate_id)
        if item is None or item[1] < time.monotonic():
            return None
        return item[0]

    def put(self, aggregate: LedgerAggregate) -> None:
        if isinstance(aggregate, self.KINDS) and self.ttl > 0 and not aggregate.pending_events:
            with self._lock:
                self._items[aggregate.id] = (copy.deepcopy(aggregate), time.monotonic() + self.ttl)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class SealedContactLedger(ContactLedger):
    name = "ContactLedger"
    mapper: SealingMapper  # what construct_mapper makes: its events are the domain's

    def __init__(
        self, hasher: KeyHasher, keyring: KeyRing, env: dict[str, str], settled_ttl: float = 2.0
    ) -> None:
        self.keyring = keyring
        self.settled = SettledCache(ttl=settled_ttl)
        self.hot = HotAggregates()  # long histories, fast-forwarded (decision 0049)
        # Told (account id, erased aggregate ids) after each erasure that erased something:
        # copies kept outside the log (stored HTTP answers) forget the person too.
        self.erasure_listeners: list[Callable[[UUID, set[UUID]], object]] = []
        super().__init__(hasher, env=env)
        keyring.bind(self.recorder)  # type: ignore[arg-type]

    def load(self, aggregate_id: UUID, for_update: bool = True) -> LedgerAggregate:
        if not for_update:
            cached = self.settled.get(aggregate_id)
            if cached is not None:
                return cached
        aggregate = self._fast_forwarded(aggregate_id)
        if aggregate is None:
            aggregate = super().load(aggregate_id, for_update)
            self.hot.keep(aggregate)
        self.settled.put(aggregate)
        return aggregate

    def load_many(self, aggregate_ids: Iterable[UUID]) -> dict[UUID, LedgerAggregate]:
        """Several aggregates from one query (keys prefetched in one more); hot ones
        fast-forwarded from memory instead."""
        loaded: dict[UUID, Any] = {}
        cold = []
        for aggregate_id in aggregate_ids:
            hot = self._fast_forwarded(aggregate_id)
            if hot is None:
                cold.append(aggregate_id)
            else:
                loaded[aggregate_id] = hot
        if not cold:
            return loaded
        self.keyring.prefetch(cold)
        for stored in self.recorder.select_events_of(cold):  # type: ignore[attr-defined]
            event = self.mapper.to_domain_event(stored)
            loaded[event.originator_id] = event.mutate(loaded.get(event.originator_id))
        for aggregate_id in cold:
            if aggregate_id in loaded:
                self.hot.keep(loaded[aggregate_id])
        return loaded

    def _fast_forwarded(self, aggregate_id: UUID) -> LedgerAggregate | None:
        """A copy of the kept aggregate with the events recorded since (one query), or
        None if it is not kept."""
        aggregate = self.hot.take(aggregate_id)
        if aggregate is None:
            return None
        version = aggregate.version
        for event in self.events.get(aggregate_id, gt=version):
            # the library's EventStore.get types its events as DomainEventProtocol, no mutate
            aggregate = event.mutate(aggregate)  # type: ignore[attr-defined]
        if aggregate.version != version:
            self.hot.keep(aggregate)
        return aggregate

    def history_of(self, aggregate_ids: Iterable[UUID]) -> list[Any]:
        """Every event of these aggregates, oldest first (erased values as stand-ins)."""
        ids = list(aggregate_ids)
        self.keyring.prefetch(ids)
        events = [self.mapper.to_domain_event(s) for s in self.recorder.select_events_of(ids)]  # type: ignore[attr-defined]
        return sorted(
            events, key=lambda e: (e.timestamp, str(e.originator_id), e.originator_version)
        )

    def erase_contact(self, cmd: EraseContact, at: datetime, meta: Meta) -> Outcome:
        outcome = super().erase_contact(cmd, at, meta)
        if outcome.detail is not None:
            detail = outcome.detail
            erased = {outcome.id, *detail["participant_ids"], *detail["merged_ids"]}
            self._tell_erased(cmd.account_id, erased)
        return outcome

    def erase_participant(self, cmd: EraseParticipant, at: datetime, meta: Meta) -> Outcome:
        outcome = super().erase_participant(cmd, at, meta)
        if outcome.detail is not None:
            self._tell_erased(cmd.account_id, {outcome.id})
        return outcome

    def _tell_erased(self, account_id: UUID, erased: set[UUID]) -> None:
        self.hot.forget(erased)
        for listener in self.erasure_listeners:
            listener(account_id, erased)

    def committed(self, aggregates: list[LedgerAggregate]) -> None:
        for aggregate in aggregates:
            self.settled.put(aggregate)
            self.hot.keep(aggregate)

    def conflicted(self) -> None:
        self.settled.clear()

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        # Only our settings: the library would otherwise merge os.environ, where a stray
        # POSTGRES_ENABLE_DB_FUNCTIONS or IS_SNAPSHOTTING_ENABLED (unsealed snapshots!)
        # would change how personal data is stored.
        return Environment(name, dict(env or {}))

    def construct_transcoder(self) -> Transcoder:
        transcoder = LedgerTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def construct_mapper(self) -> SealingMapper:
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
        subjects = born_subjects(processing_event.events, processing_event.aggregates)
        keys = self.keyring.new_keys(subjects)
        processing_event.saved_kwargs["subject_keys"] = keys
        try:
            recordings = super()._record(processing_event)
        except BaseException:
            self.keyring.forget(keys)
            raise
        claims = processing_event.saved_kwargs.get("key_claims") or ()
        shredded = [c.subject_id for c in claims if isinstance(c, SubjectShred)]
        self.keyring.forget(shredded)
        self.hot.forget(shredded)
        return recordings


def born_subjects(events: list[Any], aggregates: Mapping[UUID, Any]) -> list[UUID]:
    """The aggregates these events create that hold personal data: each gets its key."""
    born = {event.originator_id for event in events if event.originator_version == 1}
    return [
        aggregate_id
        for aggregate_id, aggregate in aggregates.items()
        if aggregate_id in born and type(aggregate).holds_personal_data
    ]


def build_ledger(settings: Settings) -> SealedContactLedger:
    hasher = KeyHasher(settings.key_index_secret)
    keyring = KeyRing(ttl=settings.key_cache_seconds)
    if settings.database.kind == "sqlite":
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # an existing one stays
        create_private_file(settings.database.path)
    ledger = SealedContactLedger(
        hasher, keyring, settings.database.eventsourcing_env(), settings.settled_cache_seconds
    )
    ledger.runner = GroupCommit(ledger)
    return ledger
