"""Spaced repetition per concept with the `fsrs` library (FSRS, the scheduler Anki uses).

Each concept (``softmax_ce.exp``) has one card. Its id is derived from the concept's
name, so it is the same on every machine; its state is the library's own card, wrapped
in our versioned record, so a future library or format can be told apart and migrated:

    {"format": 1, "library": "fsrs", "card": Card.to_dict()}

Outcomes map to ratings: revealed or wrong → Again, right after hints or tries → Hard,
right first time → Good; a skipped question is not a review. All times are UTC.
Fuzzing (a small random spread of long intervals) is on, except where `fuzz` is False
(the tests, or DLSTEPS_FUZZ=0).
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime

from fsrs import Card, Rating, Scheduler

RECORD_FORMAT = 1
OUTCOMES = ("right", "after_help", "wrong", "revealed", "skipped")
RATINGS = {"right": Rating.Good, "after_help": Rating.Hard, "wrong": Rating.Again, "revealed": Rating.Again}


class RecordError(ValueError):
    """A card record this program cannot read (another format or library)."""


def rating(outcome: str) -> Rating | None:
    """The FSRS rating for an outcome; None for a skipped question (not a review)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    return RATINGS.get(outcome)


def card_id(concept: str) -> int:
    """A stable id for the concept's card: the first 6 bytes of its SHA-256 (fits int64 and JSON)."""
    return int.from_bytes(hashlib.sha256(concept.encode()).digest()[:6], "big")


def fuzz_default() -> bool:
    """Fuzzing unless the environment says DLSTEPS_FUZZ=0."""
    return os.environ.get("DLSTEPS_FUZZ", "1") != "0"


def scheduler(fuzz: bool = True) -> Scheduler:
    """The library's scheduler with its default parameters."""
    return Scheduler(enable_fuzzing=fuzz)


def wrap(card: Card) -> dict:
    """Our versioned record around the library's card."""
    return {"format": RECORD_FORMAT, "library": "fsrs", "card": card.to_dict()}


def unwrap(record: dict) -> Card:
    """The library's card inside our record; RecordError for a format we do not know."""
    if not isinstance(record, dict) or record.get("format") != RECORD_FORMAT or record.get("library") != "fsrs":
        raise RecordError(f"card record of an unknown format: {str(record)[:80]}")
    return Card.from_dict(record["card"])


def review(record: dict | None, concept: str, outcome: str, now: datetime, fuzz: bool = True) -> dict | None:
    """The concept's record after a review with `outcome` at `now` (a new card when
    `record` is None); None for a skipped question (nothing changes)."""
    grade = rating(outcome)
    if grade is None:
        return None
    card = unwrap(record) if record is not None else Card(card_id=card_id(concept), due=now)
    card, _log = scheduler(fuzz).review_card(card, grade, review_datetime=now.astimezone(UTC))
    return wrap(card)


def due(record: dict) -> datetime:
    """When the concept is due next (UTC)."""
    return unwrap(record).due.astimezone(UTC)
