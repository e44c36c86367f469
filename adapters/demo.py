"""A realistic demo: one organiser, two editions of a trade show and an exhibitors' club."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from domain.application import ContactLedger
from domain.commands import (
    BackfillSync,
    ChangeParticipantFields,
    ChangeParticipantStatus,
    ChangeSettings,
    ChangeSync,
    CreateOrganiserEvent,
    DefineField,
    RegisterParticipant,
)
from domain.meta import Meta, Origin

FIRST = [
    "Camille",
    "Léa",
    "Hugo",
    "Chloé",
    "Louis",
    "Inès",
    "Jules",
    "Manon",
    "Lucas",
    "Zoé",
    "Gabriel",
    "Élodie",
    "Arthur",
    "Sarah",
    "Nathan",
    "Clémence",
    "Théo",
    "Anaïs",
    "Raphaël",
    "Margaux",
    "Noé",
    "Juliette",
    "Maël",
    "Océane",
    "Baptiste",
    "Amélie",
    "Étienne",
    "Lina",
]
LAST = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
]
COMPANIES = [
    "Atelier Lumière",
    "Bois & Co",
    "Cimes Conseil",
    "Delta Logistique",
    "Éole Énergie",
    "Fromagerie Alpine",
    "Groupe Horizon",
    "Innov'Santé",
    "Juste Bio",
    "Kappa Systèmes",
]
JOBS = [
    "Directrice commerciale",
    "Chef de projet",
    "Acheteur",
    "Responsable marketing",
    "Ingénieure",
    "Gérant",
    "Chargée de communication",
    "Consultant",
]
SECTORS = ["agrifood", "energy", "health", "industry", "services"]


@dataclass(frozen=True)
class DemoAccount:
    account_id: UUID
    event_ids: dict[str, UUID]
    participants: int


def load_demo(ledger: ContactLedger, now: datetime, seed: int = 2024) -> DemoAccount:
    """Load the dataset into a new account; returns its id."""
    rng = random.Random(seed)
    meta = Meta("demo-loader", "admin", Origin.CLI.value, str(uuid4()))
    start = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)
    account_id = ledger.open_account("Salon Expo Organisation", start, meta).id
    ledger.change_settings(ChangeSettings(account_id, ("email",), {}, 2), start, meta)
    ledger.define_field(
        DefineField(account_id, "sector", "single_choice", "Sector", tuple(SECTORS), "company"),
        start,
        meta,
    )
    ledger.change_settings(
        ChangeSettings(
            account_id,
            ("email",),
            {
                "first_name": "up",
                "last_name": "up",
                "company": "up_and_propagate",
                "job_title": "up",
                "phone_mobile": "up_and_propagate",
                "sector": "up",
            },
            2,
        ),
        start,
        meta,
    )
    events = {
        name: ledger.create_organiser_event(
            CreateOrganiserEvent(account_id, name, kind, starts), start, meta
        ).id
        for name, kind, starts in (
            ("Salon Expo 2024", "event", date(2024, 3, 12)),
            ("Salon Expo 2025", "event", date(2025, 3, 11)),
            ("Club des exposants", "community", None),
        )
    }
    ledger.define_field(
        DefineField(
            account_id, "stand_number", "text", "Stand", (), None, None, events["Salon Expo 2025"]
        ),
        start,
        meta,
    )
    people = [_person(rng, i) for i in range(160)]
    ledger.change_sync(ChangeSync(account_id, events["Salon Expo 2024"], True), start, meta)
    count = _edition(
        ledger,
        rng,
        account_id,
        events["Salon Expo 2024"],
        people[:110],
        start + timedelta(days=20),
        meta,
        returning=False,
    )
    later = start + timedelta(days=400)
    count += _edition(
        ledger, rng, account_id, events["Salon Expo 2025"], people[50:], later, meta, returning=True
    )
    ledger.change_sync(ChangeSync(account_id, events["Salon Expo 2025"], True), later, meta)
    ledger.backfill_sync(BackfillSync(account_id, events["Salon Expo 2025"]), later, meta)
    club = events["Club des exposants"]
    ledger.change_sync(
        ChangeSync(account_id, club, True, "segment", {"field": "company", "op": "not_empty"}),
        later,
        meta,
    )
    count += _edition(
        ledger, rng, account_id, club, people[::4], later + timedelta(days=5), meta, returning=True
    )
    return DemoAccount(account_id, events, count)


def _person(rng: random.Random, index: int) -> dict[str, Any]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    person: dict[str, Any] = {
        "email": f"{_ascii(first)}.{_ascii(last)}{index}@example.org",
        "first_name": first,
        "last_name": last,
        "language": rng.choice(["fr", "fr", "fr", "en", "de"]),
    }
    if rng.random() < 0.8:
        person["company"] = rng.choice(COMPANIES)
        person["job_title"] = rng.choice(JOBS)
        person["sector"] = rng.choice(SECTORS)
    if rng.random() < 0.6:
        pairs = " ".join(str(rng.randint(10, 99)) for _ in range(4))
        person["phone_mobile"] = f"+33 6 {pairs}"
    return person


def _edition(
    ledger: ContactLedger,
    rng: random.Random,
    account_id: UUID,
    event_id: UUID,
    people: list[dict[str, Any]],
    at: datetime,
    meta: Meta,
    returning: bool,
) -> int:
    commands = []
    for person in people:
        fields = dict(person)
        if returning and rng.random() < 0.15:
            fields["email"] = fields["email"].upper()  # same person, other spelling of the key
        if returning and "company" in fields and rng.random() < 0.2:
            fields["company"] = rng.choice(COMPANIES)  # moved jobs since last edition
        status = rng.choice(["registered"] * 6 + ["waiting_list", "unregistered", "open"])
        commands.append(RegisterParticipant(account_id, event_id, fields, status, "import"))
    outcomes = ledger.register_participants(commands, at, meta)
    for outcome, cmd in zip(outcomes, commands, strict=True):
        if cmd.status == "registered" and rng.random() < 0.7:
            ledger.change_participant_status(
                ChangeParticipantStatus(account_id, event_id, outcome.id, "attended"),
                at + timedelta(days=60),
                meta,
            )
        elif rng.random() < 0.05:
            ledger.change_participant_fields(
                ChangeParticipantFields(account_id, event_id, outcome.id, {"city": "Lyon"}),
                at + timedelta(days=3),
                meta,
            )
    return len(commands)


def _ascii(name: str) -> str:
    table = str.maketrans("éèëêïîôöàâçÉ", "eeeeiiooaacE")
    return name.translate(table).lower().replace("'", "")
