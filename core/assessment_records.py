"""Assessment records: one small row per verdict the assistant gave, for the bank's report.

The action server writes a row after each assessment reply (a scam type and risk) and
each emergency reply (money or a code already gone), from one writer thread after the
reply has gone (record_reply), in the tracker store's database
beside Rasa's `events` and the handoff records. The staff console's trend report reads
these rows with SQL aggregates (staff/report_queries.py) instead of loading trackers:
the verdict, the channel and the ATM are scattered over several events of a conversation,
and pulling them out of `events.data` JSON for a month of traffic would take minutes.

Nothing the customer typed is stored here: ids, a risk level, a channel name and the
red-flag ids of the verdict. Retention (tools/retention.py) purges rows with the same cutoff
as conversations. docs/staff.md describes the tables.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, Optional, Sequence, Tuple

import sqlalchemy as sa

from core.atms import ATM_ID_PATTERN, InputError, find_atm
from core.record_engines import engine_with_tables

logger = logging.getLogger(__name__)

ASSESSMENT = "assessment"
EMERGENCY = "emergency"
# The scam_type of a verdict that the message looks like a genuine notice (no scam type,
# risk low, its genuine signs listed): counted apart from the scams.
GENUINE_NOTICE = "genuine_notice"
# The reply payload types (core/replies.py) that make a row, and the kind they make.
KIND_BY_PAYLOAD = {"scam_assessment": ASSESSMENT, "emergency": EMERGENCY}
# Ids from our own code (scam types, flags, channel names): anything else is not stored.
_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
RISKS = ("low", "medium", "high")

_METADATA = sa.MetaData()
ASSESSMENT_TABLE = sa.Table(
    "assessment_records",
    _METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
    # Epoch seconds, as Rasa's events.timestamp: one range filter for both tables.
    sa.Column("assessed_at", sa.Float, nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("scam_type", sa.String(64)),
    sa.Column("risk", sa.String(16)),
    sa.Column("channel", sa.String(64)),
    sa.Column("atm_id", sa.String(32)),
    # The ATM's branch from ATM_LIST when the row was written: where it stood that day.
    sa.Column("branch", sa.String(60)),
)
# One row per red flag of a verdict. assessed_at is repeated so that the report's
# "flags seen most" and the purge filter on it without a join.
FLAG_TABLE = sa.Table(
    "assessment_flags",
    _METADATA,
    sa.Column("assessment_id", sa.Integer, sa.ForeignKey("assessment_records.id"), nullable=False),
    sa.Column("assessed_at", sa.Float, nullable=False),
    sa.Column("flag", sa.String(64), nullable=False),
    sa.Index("assessment_flags_by_time", "assessed_at", "flag"),
    sa.Index("assessment_flags_by_record", "assessment_id"),
)
TABLES = (ASSESSMENT_TABLE, FLAG_TABLE)


@dataclass(frozen=True)
class AssessmentSummary:
    conversation_id: str
    assessed_at: float
    kind: str  # ASSESSMENT or EMERGENCY
    scam_type: Optional[str]
    risk: Optional[str]
    channel: Optional[str]
    atm_id: Optional[str]
    branch: Optional[str]
    flags: Tuple[str, ...] = ()


def _id_or_none(value: Any) -> Optional[str]:
    return value if isinstance(value, str) and _ID.fullmatch(value) else None


def flags_of(payload: Dict[str, Any]) -> Tuple[str, ...]:
    """The flag ids of a verdict's `reasons: [{"flag": id, "quote": ...}]`, in order, once each."""
    reasons = payload.get("reasons")
    flags = []
    for reason in reasons if isinstance(reasons, list) else ():
        flag = _id_or_none(reason.get("flag")) if isinstance(reason, dict) else None
        if flag and flag not in flags:
            flags.append(flag)
    return tuple(flags)


def _branch_of(atm_id: Optional[str]) -> Optional[str]:
    try:
        atm = find_atm(atm_id)
    except InputError as error:  # a bad ATM_LIST must not cost the row
        logger.warning("ATM_LIST unreadable, branch not recorded: %s", error)
        return None
    return (atm.branch or None) if atm else None


def summary_of_reply(tracker: Any, messages: Sequence[Dict[str, Any]]) -> Optional[AssessmentSummary]:
    """The row for the latest verdict among `messages` (a dispatcher's), or None.

    `tracker` is the action's rasa_sdk Tracker (sender_id, get_slot,
    get_latest_input_channel); it is not imported here, core/ stays free of Rasa.
    """
    for message in reversed(messages):
        payload = message.get("custom") or message.get("json_message") or {}
        kind = KIND_BY_PAYLOAD.get(payload.get("type")) if isinstance(payload, dict) else None
        if kind:
            break
    else:
        return None
    atm_id = tracker.get_slot("atm_id")
    atm_id = atm_id if isinstance(atm_id, str) and ATM_ID_PATTERN.fullmatch(atm_id) else None
    # An emergency payload names no type: the one assessed earlier in the conversation.
    scam_type = payload.get("scam_type") if kind == ASSESSMENT else tracker.get_slot("scam_type")
    if kind == ASSESSMENT and scam_type is None and "genuine_signs" in payload:
        scam_type = GENUINE_NOTICE
    risk = payload.get("risk") if kind == ASSESSMENT else "high"
    return AssessmentSummary(
        conversation_id=str(tracker.sender_id)[:255],
        assessed_at=time.time(),
        kind=kind,
        scam_type=_id_or_none(scam_type),
        risk=risk if risk in RISKS else None,
        channel=_id_or_none(tracker.get_latest_input_channel()),
        atm_id=atm_id,
        branch=_branch_of(atm_id),
        flags=flags_of(payload),
    )


def create_tables(engine: sa.engine.Engine) -> None:
    _METADATA.create_all(engine, checkfirst=True)


def record_assessment(url: str, summary: AssessmentSummary) -> None:
    with engine_with_tables(url, create_tables).begin() as connection:
        insert_summaries(connection, [summary])


def insert_summaries(connection: sa.engine.Connection, summaries: Iterable[AssessmentSummary]) -> None:
    """Rows and their flags, in the caller's transaction (also used by the benchmark)."""
    for summary in summaries:
        assessment_id = connection.execute(ASSESSMENT_TABLE.insert().values(
            conversation_id=summary.conversation_id,
            assessed_at=summary.assessed_at,
            kind=summary.kind,
            scam_type=summary.scam_type,
            risk=summary.risk,
            channel=summary.channel,
            atm_id=summary.atm_id,
            branch=summary.branch,
        )).inserted_primary_key[0]
        if summary.flags:
            connection.execute(FLAG_TABLE.insert(), [
                {"assessment_id": assessment_id, "assessed_at": summary.assessed_at, "flag": flag}
                for flag in summary.flags
            ])


# The rows are written by one thread, in order, off the reply path: the customer's verdict
# never waits for a database lock. On SQLite the Rasa server's tracker writes hold that
# lock too, and under a flood of turns a row waited past the busy timeout and was lost
# (docs/security.md); here a locked database is tried again after a pause.
_WRITE_ATTEMPTS = 4
_RETRY_PAUSE_SECONDS = 1.0
# Rows waiting beyond this are dropped with a log line rather than held in memory.
MAX_WAITING_ROWS = 10_000
_writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="assessment-records")
_waiting = threading.BoundedSemaphore(MAX_WAITING_ROWS)


def _write(url: str, summary: AssessmentSummary) -> None:
    try:
        for attempt in range(1, _WRITE_ATTEMPTS + 1):
            try:
                record_assessment(url, summary)
                return
            except sa.exc.OperationalError:
                if attempt == _WRITE_ATTEMPTS:
                    raise
                logger.warning("assessment record for %s: database busy, attempt %d of %d",
                               summary.conversation_id, attempt, _WRITE_ATTEMPTS)
                time.sleep(_RETRY_PAUSE_SECONDS * attempt)
    except Exception:  # the customer has the verdict; staff see the log
        logger.exception("assessment record for %s not written", summary.conversation_id)
    finally:
        _waiting.release()


def record_reply(db_url: Callable[[], str], tracker: Any, messages: Sequence[Dict[str, Any]]) -> None:
    """Queues the row of the verdict the action just sent, if any, and returns at once.
    Never raises: the row is for the bank's statistics, and a failure must never cost the
    customer the reply."""
    try:
        summary = summary_of_reply(tracker, messages)
        if summary is None:
            return
        if not _waiting.acquire(blocking=False):
            logger.error("assessment record for %s not written: %d rows already waiting",
                         summary.conversation_id, MAX_WAITING_ROWS)
            return
        try:
            _writer.submit(_write, db_url(), summary)
        except BaseException:
            _waiting.release()
            raise
    except Exception:
        logger.exception("assessment record for %s not written", getattr(tracker, "sender_id", "?"))


def wait_for_writes(timeout: float = 60.0) -> None:
    """Returns once every row queued before the call has been written or given up on."""
    _writer.submit(lambda: None).result(timeout)
