"""The history export on SQLite and PostgreSQL: every event once, in log order, with its
account; `--account`, `--after` and `--until` cut as promised; an erased person's data
never leaves in either format while the facts about her do."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from adapters.history import accounts
from adapters.history.export import HistoryRequest
from adapters.ledger import SealedContactLedger
from domain import commands
from domain.accounts import Account
from tests.support.history_export import exported, ndjson_records, parquet_as_json
from tests.support.world import T0, World

ZEPHYRINE = {
    "email": "zephyrine.quetzal@example.org",
    "first_name": "Zéphyrine",
    "last_name": "Quetzalcoatl-Dubois",
    "company": "Ondulations Célestes",
}
NOTE = "Secret-tamarind: wants the blue stand"
NEEDLES = [*ZEPHYRINE.values(), "Ondulations Célestes SA", NOTE, "zephyrine.quetzal"]
BOB = {"email": "bob.bystander@example.org", "last_name": "Bystander"}


@dataclass
class Log:
    """Two accounts; what happened before `middle` and after it; one erased person."""

    world: World
    expo: UUID
    congress: UUID
    salon: UUID  # an organiser event of expo
    zephyrine: UUID  # her participant in the salon; her contact is erased
    middle: int  # log position between the two halves
    backdated_at: Any  # the time of an edit recorded late with an old time


@pytest.fixture
def ledger(db_ledger: SealedContactLedger) -> SealedContactLedger:
    return db_ledger


@pytest.fixture
def log(ledger: SealedContactLedger) -> Log:
    world = World(ledger)
    sync = {"company": "up_and_propagate", "first_name": "up", "last_name": "up"}
    expo, congress = world.account(sync=sync), world.account()
    salon, forum = world.event(expo), world.event(expo)
    hall = world.event(congress)
    zephyrine = world.register(expo, salon, **ZEPHYRINE)
    world.register(expo, forum, **ZEPHYRINE)
    bob = world.register(expo, salon, **BOB)
    carol = world.register(congress, hall, email="carol@example.org")
    middle = world.position()
    # After the middle: events of aggregates created before it, most without account_id.
    world.edit(expo, salon, zephyrine, company="Ondulations Célestes SA")
    world.status(expo, salon, bob, "attended")
    world.status(congress, hall, carol, "attended")
    contact = world.contact_of(expo, zephyrine)
    assert contact is not None
    ledger.add_note(commands.AddNote(expo, contact.id, NOTE), world.tick(), world.meta)
    ledger.erase_contact(commands.EraseContact(expo, contact.id), world.tick(), world.meta)
    backdated_at = T0 + timedelta(seconds=2)
    world.edit(congress, hall, carol, at=backdated_at, company="Late")
    return Log(world, expo, congress, salon, zephyrine, middle, backdated_at)


def owners(ledger: SealedContactLedger) -> dict[UUID, UUID]:
    """Each aggregate's account, from the aggregates themselves (not the export's way)."""
    found = {}
    for n in ledger.recorder.select_notifications(start=1, limit=100_000):
        aggregate: Any = ledger.repository.get(n.originator_id)
        found[n.originator_id] = (
            aggregate.id if isinstance(aggregate, Account) else aggregate.account_id
        )
    return found


def test_every_event_is_exported_once_in_log_order_with_its_account(
    ledger: SealedContactLedger, log: Log
) -> None:
    records = ndjson_records(ledger)
    stored = ledger.recorder.select_notifications(start=1, limit=100_000)
    assert [(r["position"], r["aggregate_id"], r["version"]) for r in records] == [
        (n.id, str(n.originator_id), n.originator_version) for n in stored
    ]
    assert [r["event_type"] for r in records] == [n.topic.split(":")[1] for n in stored]
    owner = owners(ledger)
    assert [r["account_id"] for r in records] == [str(owner[n.originator_id]) for n in stored]
    later = [r for r in records if r["aggregate_type"] == "Participant" and r["version"] > 1]
    assert {r["account_id"] for r in later} == {str(log.expo), str(log.congress)}


def test_a_record_carries_time_provenance_and_a_json_payload(
    ledger: SealedContactLedger, log: Log
) -> None:
    status = next(
        r for r in ndjson_records(ledger) if r["event_type"] == "Participant.StatusChanged"
    )
    assert status["aggregate_type"] == "Participant"
    assert status["at"].endswith("+00:00")
    meta = log.world.meta
    assert (status["actor"], status["role"], status["origin"]) == (meta.actor, meta.role, "http")
    assert (status["correlation_id"], status["causation_id"]) == (meta.correlation_id, None)
    assert status["payload"] == {"status": "attended", "previous": "registered"}
    assert status["erased"] is False


def test_the_account_filter_keeps_exactly_that_accounts_events(
    ledger: SealedContactLedger, log: Log
) -> None:
    everything = ndjson_records(ledger)
    for account_id in (log.expo, log.congress):
        mine = ndjson_records(ledger, account_id=account_id)
        assert mine == [r for r in everything if r["account_id"] == str(account_id)]
        assert mine
    assert len(ndjson_records(ledger, account_id=log.expo)) + len(
        ndjson_records(ledger, account_id=log.congress)
    ) == len(everything)


def test_after_exports_the_rest_with_the_accounts_of_older_aggregates(
    ledger: SealedContactLedger, log: Log
) -> None:
    everything = ndjson_records(ledger)
    raw, report = exported(ledger, HistoryRequest(after=log.middle))
    rest = [json.loads(line) for line in raw.splitlines()]
    assert rest == [r for r in everything if r["position"] > log.middle]
    assert report.lookups > 0  # aggregates created before the cut were looked up


def test_accounts_stay_right_when_the_resolver_remembers_one_aggregate(
    ledger: SealedContactLedger, log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    everything = ndjson_records(ledger)
    monkeypatch.setattr(accounts, "KEPT", 1)
    assert ndjson_records(ledger) == everything


def test_until_cuts_the_log_at_the_first_later_event(ledger: SealedContactLedger, log: Log) -> None:
    everything = ndjson_records(ledger)
    cut = everything[log.middle - 1]["at"]
    until = ndjson_records(ledger, until=T0.fromisoformat(cut))
    assert until == everything[: len(until)]
    assert until[-1]["at"] == cut and everything[len(until)]["at"] > cut
    backdated = everything[-1]  # earlier than the cut, but after it in the log
    assert backdated["at"] == log.backdated_at.isoformat() < cut
    assert backdated not in until


def test_an_erased_person_leaves_no_plaintext_in_either_format(
    ledger: SealedContactLedger, log: Log
) -> None:
    ndjson, _ = exported(ledger)
    parquet, _ = exported(ledger, fmt="parquet")
    decoded = json.dumps(parquet_as_json(parquet), ensure_ascii=False).encode()
    for needle in NEEDLES:
        for form in {needle, needle.casefold()}:
            for output in (ndjson, parquet, decoded):
                assert form.encode() not in output, form
    for output in (ndjson, decoded):  # the search would find a person who is not erased
        assert BOB["email"].encode() in output


def test_the_facts_about_an_erased_person_stay(ledger: SealedContactLedger, log: Log) -> None:
    hers = [r for r in ndjson_records(ledger) if r["aggregate_id"] == str(log.zephyrine)]
    assert {r["erased"] for r in hers} == {True}
    registered = hers[0]
    assert registered["event_type"] == "Participant.Registered"
    assert registered["payload"]["organiser_event_id"] == str(log.salon)
    assert registered["payload"]["status"] == "registered"
    assert registered["payload"]["fields"] == {}
    assert registered["account_id"] == str(log.expo)
    assert [r["event_type"] for r in hers][-1] == "Participant.Erased"


def test_parquet_reads_back_as_the_ndjson_records(ledger: SealedContactLedger, log: Log) -> None:
    parquet, _ = exported(ledger, fmt="parquet")
    assert parquet_as_json(parquet) == ndjson_records(ledger)
    schema = pq.read_schema(pa.BufferReader(parquet))
    assert schema.field("position").type == pa.int64()
    assert schema.field("version").type == pa.int64()
    assert schema.field("at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("erased").type == pa.bool_()
    assert schema.field("payload").type == pa.string()


def test_an_empty_selection_is_a_valid_empty_file(ledger: SealedContactLedger, log: Log) -> None:
    head = log.world.position()
    ndjson, _ = exported(ledger, HistoryRequest(after=head))
    parquet, _ = exported(ledger, HistoryRequest(after=head), fmt="parquet")
    assert ndjson == b""
    assert pq.read_table(pa.BufferReader(parquet)).num_rows == 0
