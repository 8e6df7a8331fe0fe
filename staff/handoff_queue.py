"""The hotline's queries: open handoff requests, one record with its history, and the
conversation as stored (masked by the channels before it was ever written)."""

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Tuple

import sqlalchemy as sa

from core.handoff_records import (
    DONE,
    HANDOFF_TABLE,
    REFERENCE_LETTERS,
    STATUS_CHANGES_TABLE,
    latest_input_channels,
    money_gone_in,
)
from staff.database import Databases, has_events

QUEUE_LIMIT = 200
TRANSCRIPT_LIMIT = 500
REFERENCE_PATTERN = re.compile(f"FZ-[{REFERENCE_LETTERS}]{{6}}")


def normalise_reference(raw: str) -> Optional[str]:
    """`FZ-ABCDEF` from what staff type or a customer reads out (fz abcdef, ＦＺ－…), or None."""
    text = "".join(chr(ord(ch) - 0xFEE0) if "\uff01" <= ch <= "\uff5e" else ch for ch in raw or "")
    letters = re.sub(r"[\s\-_]", "", text).upper()
    candidate = f"FZ-{letters[2:]}" if letters.startswith("FZ") else ""
    return candidate if REFERENCE_PATTERN.fullmatch(candidate) else None


def _utc(moment: Optional[datetime]) -> Optional[datetime]:
    # SQLite gives back naive datetimes; they were written in UTC.
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


@dataclass(frozen=True)
class HandoffEntry:
    reference: str
    conversation_id: str
    requested_at: datetime
    channel: Optional[str]
    scam_type: Optional[str]
    risk: Optional[str]
    atm_id: Optional[str]
    money_gone: Optional[bool]
    status: str
    status_changed_at: Optional[datetime]
    status_changed_by: Optional[str]
    status_note: Optional[str]


@dataclass(frozen=True)
class StatusChange:
    status: str
    note: str
    staff_user: str
    changed_at: datetime


def _entries(databases: Databases, rows: List[Any]) -> List[HandoffEntry]:
    """Rows with what became known after the request: the channel from the stored
    conversation when the record has none, and money gone since."""
    conversations = [row.conversation_id for row in rows]
    with databases.records.connect() as connection:
        gone_since = money_gone_in(connection, conversations)
    unknown = [row.conversation_id for row in rows if not row.channel]
    channels: Dict[str, str] = {}
    if unknown and has_events(databases.events):
        with databases.events.connect() as connection:
            channels = latest_input_channels(connection, unknown)
    return [
        HandoffEntry(
            reference=row.reference,
            conversation_id=row.conversation_id,
            requested_at=_utc(row.requested_at),
            channel=row.channel or channels.get(row.conversation_id),
            scam_type=row.scam_type,
            risk=row.risk,
            atm_id=row.atm_id,
            money_gone=True if row.conversation_id in gone_since else row.money_gone,
            status=row.status,
            status_changed_at=_utc(row.status_changed_at),
            status_changed_by=row.status_changed_by,
            status_note=row.status_note,
        )
        for row in rows
    ]


def open_handoffs(databases: Databases, limit: int = QUEUE_LIMIT) -> Tuple[List[HandoffEntry], int]:
    """The newest `limit` records not yet done, newest first, and how many are open."""
    table = HANDOFF_TABLE
    with databases.records.connect() as connection:
        rows = connection.execute(
            sa.select(table).where(table.c.status != DONE)
            .order_by(table.c.requested_at.desc(), table.c.id.desc()).limit(limit)
        ).all()
        total = connection.execute(
            sa.select(sa.func.count()).select_from(table).where(table.c.status != DONE)
        ).scalar_one()
    return _entries(databases, rows), total


def find_handoff(databases: Databases, reference: str) -> Optional[Tuple[HandoffEntry, List[StatusChange]]]:
    table, changes = HANDOFF_TABLE, STATUS_CHANGES_TABLE
    with databases.records.connect() as connection:
        row = connection.execute(sa.select(table).where(table.c.reference == reference)).first()
        if row is None:
            return None
        history = connection.execute(
            sa.select(changes).where(changes.c.handoff_id == row.id).order_by(changes.c.id)
        ).all()
    return _entries(databases, [row])[0], [
        StatusChange(h.status, h.note, h.staff_user, _utc(h.changed_at)) for h in history
    ]


@dataclass(frozen=True)
class Turn:
    speaker: str  # "user" or "bot"
    at: datetime
    text: str
    payload: Dict[str, Any]  # the bot's custom payload (verdict, emergency, handoff...)
    channel: Optional[str] = None
    # The customer sent a screenshot or photo: `text` is what was read in it (masked);
    # the picture itself was never stored (server/channels/image.py).
    from_image: bool = False


EVENTS = sa.table("events", sa.column("id"), sa.column("sender_id"), sa.column("type_name"),
                  sa.column("timestamp"), sa.column("data"))


def transcript(databases: Databases, conversation_id: str,
               limit: int = TRANSCRIPT_LIMIT) -> Tuple[List[Turn], bool]:
    """The customer's and the bot's messages, oldest first, and whether older ones were
    left out. One conversation's rows, by Rasa's sender_id index."""
    if not has_events(databases.events):
        return [], False
    with databases.events.connect() as connection:
        rows = connection.execute(
            sa.select(EVENTS.c.type_name, EVENTS.c.timestamp, EVENTS.c.data)
            .where(EVENTS.c.sender_id == conversation_id, EVENTS.c.type_name.in_(("user", "bot")))
            .order_by(EVENTS.c.id.desc()).limit(limit + 1)
        ).all()
    truncated = len(rows) > limit
    turns = []
    for row in reversed(rows[:limit]):
        try:
            data = json.loads(row.data or "{}")
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        payload = (data.get("data") or {}).get("custom") if row.type_name == "bot" else None
        turns.append(Turn(
            speaker=row.type_name,
            at=datetime.fromtimestamp(row.timestamp or 0, timezone.utc),
            text=str(data.get("text") or ""),
            payload=payload if isinstance(payload, dict) else {},
            channel=data.get("input_channel") if row.type_name == "user" else None,
            from_image=row.type_name == "user" and isinstance(data.get("metadata"), dict)
            and bool(data["metadata"].get("from_image")),
        ))
    return turns, truncated
