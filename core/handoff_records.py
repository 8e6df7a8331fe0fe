"""Handoff records: who asked for a person, about what, so bank staff can follow up.

Written to the tracker store's own database (SQLite by default, PostgreSQL in the
scale-out profile), in a table of ours beside Rasa's `events`. Hotline staff work through
them in the staff console (staff/): each record is open (待联系) until someone marks it
contacted (已联系) or done (已处理), with a note; every change is kept in
`handoff_status_changes`. A conversation has at most one record that is not done: asking
again gives the same reference. What comes from the conversation's slots is checked
before it is written (`checked_request`): a value that is not a catalog type, a risk
level or a well-formed ATM id is stored as NULL, so no customer-made value reaches the
record and no odd one makes the insert fail.
"""

import dataclasses
import json
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import List, Optional

import sqlalchemy as sa
import yaml

from core.assessment_records import ASSESSMENT_TABLE, EMERGENCY
from core.atms import ATM_ID_PATTERN
from core.catalog import RISK_LEVELS, SUSPECTED_FRAUD, load_catalog
from core.record_engines import engine_with_tables
from core.settings import Settings

logger = logging.getLogger(__name__)

# Letters only: a reference must never look like a phone number to the customer (or to
# the check that every number said is official). No I or O, which read as 1 and 0.
REFERENCE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"

_METADATA = sa.MetaData()
HANDOFF_TABLE = sa.Table(
    "handoff_requests",
    _METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("reference", sa.String(16), nullable=False, unique=True),
    sa.Column("conversation_id", sa.String(255), nullable=False),
    sa.Column("scam_type", sa.String(64)),
    sa.Column("risk", sa.String(16)),
    sa.Column("atm_id", sa.String(32)),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
    # What the queue shows beside the slots: the channel the customer wrote from, and
    # whether money or a code had already gone when they asked.
    sa.Column("channel", sa.String(64)),
    sa.Column("money_gone", sa.Boolean),
    # The latest status change; the whole history is in handoff_status_changes.
    sa.Column("status", sa.String(16), nullable=False, server_default="open"),
    sa.Column("status_changed_at", sa.DateTime(timezone=True)),
    sa.Column("status_changed_by", sa.String(64)),
    sa.Column("status_note", sa.Text),
)
OPEN, CONTACTED, DONE = "open", "contacted", "done"
STATUS_NAMES = {OPEN: "待联系", CONTACTED: "已联系", DONE: "已处理"}
# The columns added after the first release: added to an existing table on first use.
ADDED_COLUMNS = ("channel", "money_gone", "status", "status_changed_at", "status_changed_by", "status_note")
# One record per conversation that is not done: checked by the database, so that two
# requests at once cannot both insert (SQLite and PostgreSQL both have partial indexes).
ONE_OPEN_PER_CONVERSATION = sa.Index(
    "handoff_one_open_per_conversation",
    HANDOFF_TABLE.c.conversation_id,
    unique=True,
    sqlite_where=HANDOFF_TABLE.c.status != DONE,
    postgresql_where=HANDOFF_TABLE.c.status != DONE,
)
STATUS_CHANGES_TABLE = sa.Table(
    "handoff_status_changes",
    _METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("handoff_id", sa.Integer, sa.ForeignKey("handoff_requests.id"), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("staff_user", sa.String(64), nullable=False),
    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
)
NOTE_MAX_CHARS = 2000


@dataclass(frozen=True)
class HandoffRequest:
    conversation_id: str
    scam_type: Optional[str]
    risk: Optional[str]
    atm_id: Optional[str]
    requested_at: datetime
    # None: looked up in the database (the conversation's events and assessment records).
    channel: Optional[str] = None
    money_gone: Optional[bool] = None


def valid_scam_type(value: object) -> bool:
    return isinstance(value, str) and (
        value == SUSPECTED_FRAUD or value in load_catalog().scam_types)


def valid_risk(value: object) -> bool:
    return isinstance(value, str) and value in RISK_LEVELS


def valid_atm_id(value: object) -> bool:
    """The QR codes' id pattern (whether it is on the ATM list was checked when the
    slot was set, actions/handoff.py)."""
    return isinstance(value, str) and bool(ATM_ID_PATTERN.fullmatch(value))


_CHECKS = {"scam_type": valid_scam_type, "risk": valid_risk, "atm_id": valid_atm_id}


def checked_request(request: HandoffRequest) -> HandoffRequest:
    """`request` with every slot value that is not what its column holds set to None."""
    dropped = {
        field: None for field, valid in _CHECKS.items()
        if getattr(request, field) is not None and not valid(getattr(request, field))
    }
    if dropped:
        # The field names only: the values came from a customer and may be anything.
        logger.warning("handoff record for %s: %s not valid, stored as NULL",
                       request.conversation_id, ", ".join(sorted(dropped)))
    return dataclasses.replace(request, **dropped)


def new_reference() -> str:
    return "FZ-" + "".join(secrets.choice(REFERENCE_LETTERS) for _ in range(6))


# Rasa's SQL store, and ours on the same tables (server/runtime/tracker_store.py).
SQL_TRACKER_STORES = ("sql", "server.runtime.tracker_store.cachingsqltrackerstore")


def tracker_store_url(endpoints_file: Path) -> str:
    """The SQLAlchemy URL of the SQL tracker store that endpoints_file configures."""
    config = yaml.safe_load(endpoints_file.read_text(encoding="utf-8")) or {}
    store = {k: os.path.expandvars(str(v)) for k, v in (config.get("tracker_store") or {}).items()}
    if store.get("type", "").lower() not in SQL_TRACKER_STORES:
        raise ValueError(f"{endpoints_file}: handoff records need an SQL tracker store")
    dialect = store.get("dialect", "sqlite")
    if dialect == "sqlite":
        return f"sqlite:///{store.get('db', 'rasa.db')}"
    return str(sa.engine.URL.create(
        dialect,
        username=store.get("username"),
        password=store.get("password"),
        host=store.get("url") or store.get("host"),
        port=int(store["port"]) if store.get("port") else None,
        database=store.get("db"),
    ))


def handoff_db_url(config: Settings) -> str:
    """HANDOFF_DB_URL, else the tracker store of ENDPOINTS (default endpoints.yml)."""
    return config.handoff_db_url or tracker_store_url(config.endpoints_file)


def create_tables(engine: sa.engine.Engine) -> None:
    """The handoff tables, and the columns and index later releases added to them."""
    _METADATA.create_all(engine, checkfirst=True)
    inspector = sa.inspect(engine)
    present = {column["name"] for column in inspector.get_columns(HANDOFF_TABLE.name)}
    for name in ADDED_COLUMNS:
        if name not in present:
            _add_column(engine, HANDOFF_TABLE.c[name])
    if ONE_OPEN_PER_CONVERSATION.name not in {i["name"] for i in inspector.get_indexes(HANDOFF_TABLE.name)}:
        _close_duplicates(engine)
        try:
            ONE_OPEN_PER_CONVERSATION.create(engine)
        except sa.exc.SQLAlchemyError:  # another process created it meanwhile
            if ONE_OPEN_PER_CONVERSATION.name not in {
                    i["name"] for i in sa.inspect(engine).get_indexes(HANDOFF_TABLE.name)}:
                raise


def _add_column(engine: sa.engine.Engine, column: sa.Column) -> None:
    kind = column.type.compile(dialect=engine.dialect)
    default = f" DEFAULT '{column.server_default.arg}'" if column.server_default is not None else ""
    not_null = " NOT NULL" if not column.nullable else ""
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(
                f"ALTER TABLE {HANDOFF_TABLE.name} ADD COLUMN {column.name} {kind}{default}{not_null}"
            ))
    except sa.exc.SQLAlchemyError:  # another process added it meanwhile
        if column.name not in {c["name"] for c in sa.inspect(engine).get_columns(HANDOFF_TABLE.name)}:
            raise


def _close_duplicates(engine: sa.engine.Engine) -> None:
    """Records written before the one-open rule: of several open ones of a conversation,
    the newest stays open and the older ones are closed with a note naming it."""
    table = HANDOFF_TABLE
    with engine.begin() as connection:
        rows = connection.execute(
            sa.select(table.c.id, table.c.conversation_id, table.c.reference)
            .where(table.c.status != DONE)
            .order_by(table.c.conversation_id, table.c.requested_at.desc(), table.c.id.desc())
        ).all()
        newest = {}
        for row in rows:
            if row.conversation_id not in newest:
                newest[row.conversation_id] = row.reference
                continue
            _change(connection, row.id, DONE, f"同一对话已有较新的转人工记录 {newest[row.conversation_id]}", "system")


def open_reference(connection: sa.engine.Connection, conversation_id: str) -> Optional[str]:
    """The reference of the conversation's record that is not done, if there is one."""
    return connection.execute(
        sa.select(HANDOFF_TABLE.c.reference)
        .where(HANDOFF_TABLE.c.conversation_id == conversation_id, HANDOFF_TABLE.c.status != DONE)
    ).scalar()


def latest_input_channels(connection: sa.engine.Connection, conversation_ids: List[str]) -> dict:
    """conversation id -> the channel of its latest stored customer message.

    Read from Rasa's `events` (user events carry `input_channel` in their data), one
    query for all: the newest user event of each conversation, by the sender_id index.
    """
    if not conversation_ids:
        return {}
    events = sa.table("events", sa.column("id"), sa.column("sender_id"), sa.column("type_name"),
                      sa.column("data"))
    newest = (
        sa.select(sa.func.max(events.c.id))
        .where(events.c.sender_id.in_(conversation_ids), events.c.type_name == "user")
        .group_by(events.c.sender_id)
    )
    channels = {}
    for sender_id, data in connection.execute(
        sa.select(events.c.sender_id, events.c.data).where(events.c.id.in_(newest))
    ):
        try:
            channel = json.loads(data).get("input_channel")
        except (TypeError, ValueError, AttributeError):
            continue
        if isinstance(channel, str) and channel:
            channels[sender_id] = channel[:64]
    return channels


def money_gone_in(connection: sa.engine.Connection, conversation_ids: List[str]) -> set:
    """Those of the conversations that got an emergency reply (money or a code gone)."""
    if not conversation_ids:
        return set()
    table = ASSESSMENT_TABLE
    return set(connection.execute(
        sa.select(table.c.conversation_id).distinct()
        .where(table.c.conversation_id.in_(conversation_ids), table.c.kind == EMERGENCY)
    ).scalars())


def _looked_up(engine: sa.engine.Engine, request: HandoffRequest) -> HandoffRequest:
    """The request with channel and money_gone filled in from the database where unset.

    Best effort, each in its own transaction: a missing `events` table (handoff records
    in another database) must not stop the record, and in PostgreSQL a failed statement
    would spoil the transaction it ran in.
    """
    channel, money_gone = request.channel, request.money_gone
    if channel is None:
        try:
            with engine.connect() as connection:
                channel = latest_input_channels(connection, [request.conversation_id]).get(
                    request.conversation_id)
        except sa.exc.SQLAlchemyError:
            logger.info("no events table beside the handoff records: channel unknown")
    if money_gone is None:
        try:
            with engine.connect() as connection:
                money_gone = bool(money_gone_in(connection, [request.conversation_id]))
        except sa.exc.SQLAlchemyError:
            logger.info("no assessment records beside the handoff records")
    return dataclasses.replace(request, channel=channel, money_gone=money_gone)


def record_handoff(url: str, request: HandoffRequest) -> str:
    """Stores the request; returns its reference (retried on the rare collision).

    When the conversation already has a record that is not done, nothing is inserted and
    that record's reference is returned: the customer keeps one reference per case.
    The slot values are checked first (`checked_request`).
    """
    request = checked_request(request)
    engine = engine_with_tables(url, create_tables)
    with engine.connect() as connection:
        existing = open_reference(connection, request.conversation_id)
    if existing:
        return existing
    request = _looked_up(engine, request)
    for _ in range(5):
        reference = new_reference()
        try:
            with engine.begin() as connection:
                connection.execute(HANDOFF_TABLE.insert().values(
                    reference=reference,
                    conversation_id=request.conversation_id,
                    scam_type=request.scam_type,
                    risk=request.risk,
                    atm_id=request.atm_id,
                    requested_at=request.requested_at,
                    channel=request.channel,
                    money_gone=request.money_gone,
                    status=OPEN,
                ))
            return reference
        except sa.exc.IntegrityError:
            # The same reference twice, or a second request of the conversation in the
            # same instant: the latter is answered with the record that won.
            with engine.connect() as connection:
                existing = open_reference(connection, request.conversation_id)
            if existing:
                return existing
            continue
    raise RuntimeError("could not find a free handoff reference")


class StatusChangeRefused(ValueError):
    """A change the record's state does not allow; the message is Chinese, for staff."""


def _change(connection: sa.engine.Connection, handoff_id: int, status: str, note: str,
            staff_user: str) -> None:
    changed_at = now()
    connection.execute(
        HANDOFF_TABLE.update().where(HANDOFF_TABLE.c.id == handoff_id).values(
            status=status, status_changed_at=changed_at, status_changed_by=staff_user,
            status_note=note,
        )
    )
    connection.execute(STATUS_CHANGES_TABLE.insert().values(
        handoff_id=handoff_id, status=status, note=note, staff_user=staff_user, changed_at=changed_at,
    ))


def change_status(
    engine: sa.engine.Engine, reference: str, status: str, note: str, staff_user: str
) -> None:
    """Marks the record contacted or done, with a note, as `staff_user`.

    LookupError when there is no such reference; StatusChangeRefused for a status that
    is not contacted/done, or a record that is already done (a new request in that
    conversation makes a new record instead).
    """
    if status not in (CONTACTED, DONE):
        raise StatusChangeRefused("状态只能改为“已联系”或“已处理”")
    with engine.begin() as connection:
        row = connection.execute(
            sa.select(HANDOFF_TABLE.c.id, HANDOFF_TABLE.c.status)
            .where(HANDOFF_TABLE.c.reference == reference)
            .with_for_update()
        ).first()
        if row is None:
            raise LookupError(reference)
        if row.status == DONE:
            raise StatusChangeRefused(f"转人工记录 {reference} 已处理，不能再修改")
        _change(connection, row.id, status, note, staff_user)


def now() -> datetime:
    return datetime.now(timezone.utc)
