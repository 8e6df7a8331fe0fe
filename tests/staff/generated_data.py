"""Generated conversations for the staff console's tests and bench/staff_report.py.

Writes what the assistant writes, in the same tables: Rasa's `events` (with event JSON of
realistic size, user events carrying `input_channel`, bot events their custom payload),
the assessment records the actions keep, and handoff records. Returns the ground truth
the report must match.
"""

import json
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Dict, List, Optional, Set, Tuple

import sqlalchemy as sa

from core import assessment_records, handoff_records
from core.assessment_records import ASSESSMENT, EMERGENCY, AssessmentSummary, insert_summaries
from core.catalog import load_catalog
from core.handoff_records import CONTACTED, DONE, HANDOFF_TABLE, OPEN, new_reference

# Rasa 3.6's SQLTrackerStore.SQLEvent, column for column, with its sender_id index.
EVENTS_METADATA = sa.MetaData()
EVENTS = sa.Table(
    "events",
    EVENTS_METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("type_name", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)

CHANNELS = (("widget", 0.55), ("wechat", 0.35), ("rest", 0.10))
ATMS = [f"ATM-{n:03d}" for n in range(1, 41)]
BRANCHES = ["朝阳支行", "海淀支行", "西城支行", "东城支行", "丰台支行"]
FLAGS = ["asks_transfer", "asks_code", "claims_authority", "urgency", "secrecy", "link_download",
         "safe_account", "upfront_fee"]
STORIES = ["税务局打电话说我有退税，让我去ATM操作", "自称公安说我涉嫌洗钱，要转到安全账户",
           "网上认识的老师带我炒股稳赚", "客服说要给我理赔，让我开屏幕共享", "有人让我刷单返佣金"]
RANKING = [{"name": f"scam_{n}", "confidence": 0.01} for n in range(9)]


def atm_branch(atm_id: str) -> str:
    return BRANCHES[int(atm_id[-3:]) % len(BRANCHES)]


def atm_list_csv() -> str:
    """The ATM_LIST the generated ATMs belong to (atm_id,location,branch)."""
    lines = ["atm_id,location,branch"]
    lines += [f"{atm},{atm_branch(atm)}大厅,{atm_branch(atm)}" for atm in ATMS]
    return "\n".join(lines) + "\n"


@dataclass
class Generated:
    """The ground truth: every assessment summary, and each conversation's customer
    message times."""

    summaries: List[AssessmentSummary] = field(default_factory=list)
    user_times: Dict[str, List[float]] = field(default_factory=dict)
    events: int = 0
    handoffs: List[Tuple[str, str, datetime]] = field(default_factory=list)  # reference, conversation, when

    def conversations_between(self, start: float, end: float) -> Set[str]:
        return {sender for sender, times in self.user_times.items() if any(start <= t < end for t in times)}

    def emergencies_between(self, start: float, end: float) -> Set[str]:
        return {s.conversation_id for s in self.summaries
                if s.kind == EMERGENCY and start <= s.assessed_at < end}

    def assessment_counts(self, start: float, end: float, key) -> Counter:
        return Counter(key(s) for s in self.summaries if s.kind == ASSESSMENT and start <= s.assessed_at < end)


def _user_event(sender: str, at: float, text: str, intent: str, channel: str) -> dict:
    data = {
        "event": "user", "timestamp": at, "metadata": {}, "text": text,
        "parse_data": {"intent": {"name": intent, "confidence": 0.93}, "entities": [], "text": text,
                       "message_id": uuid.uuid4().hex, "metadata": {}, "intent_ranking": RANKING},
        "input_channel": channel, "message_id": uuid.uuid4().hex,
    }
    return dict(sender_id=sender, type_name="user", timestamp=at, intent_name=intent, action_name=None,
                data=json.dumps(data))


def _action_event(sender: str, at: float, name: str) -> dict:
    data = {"event": "action", "timestamp": at, "name": name, "policy": "RulePolicy", "confidence": 1.0,
            "action_text": None, "hide_rule_turn": False}
    return dict(sender_id=sender, type_name="action", timestamp=at, intent_name=None, action_name=name,
                data=json.dumps(data))


def _bot_event(sender: str, at: float, text: str, custom: dict) -> dict:
    data = {"event": "bot", "timestamp": at, "metadata": {"utter_action": None}, "text": text,
            "data": {"elements": None, "quick_replies": None, "buttons": [{"title": "转人工", "payload": "/human_handoff"}],
                     "attachment": None, "image": None, "custom": custom}}
    return dict(sender_id=sender, type_name="bot", timestamp=at, intent_name=None, action_name=None,
                data=json.dumps(data))


def _slot_event(sender: str, at: float, name: str, value) -> dict:
    return dict(sender_id=sender, type_name="slot", timestamp=at, intent_name=None, action_name=name,
                data=json.dumps({"event": "slot", "timestamp": at, "name": name, "value": value}))


def generate(
    events_engine: sa.engine.Engine,
    records_engine: sa.engine.Engine,
    *,
    target_events: int,
    handoffs: int,
    end: float,
    days: int,
    seed: int = 16,
    sender_prefix: str = "gen-",
    batch: int = 20_000,
) -> Generated:
    """Conversations spread over the `days` before `end` until `target_events` events are
    stored, their assessment records, and `handoffs` handoff records (about a third each
    open, contacted and done)."""
    rng = random.Random(seed)
    catalog = load_catalog()
    scam_types = list(catalog.scam_types.values())
    EVENTS_METADATA.create_all(events_engine, checkfirst=True)
    handoff_records.create_tables(records_engine)
    assessment_records.create_tables(records_engine)
    truth = Generated()
    pending_events: List[dict] = []
    pending_summaries: List[AssessmentSummary] = []

    def flush() -> None:
        if pending_events:
            with events_engine.begin() as connection:
                connection.execute(EVENTS.insert(), pending_events)
            pending_events.clear()
        if pending_summaries:
            with records_engine.begin() as connection:
                insert_summaries(connection, pending_summaries)
            pending_summaries.clear()

    last_type: Dict[str, str] = {}
    number = 0
    while truth.events < target_events:
        sender = f"{sender_prefix}{number:07d}"
        number += 1
        channel = rng.choices([c for c, _ in CHANNELS], [w for _, w in CHANNELS])[0]
        atm_id = rng.choice(ATMS) if channel == "widget" and rng.random() < 0.3 else None
        at = end - rng.random() * days * 86_400
        rows = [_action_event(sender, at, "action_session_start"),
                dict(sender_id=sender, type_name="session_started", timestamp=at, intent_name=None,
                     action_name=None, data=json.dumps({"event": "session_started", "timestamp": at})),
                _action_event(sender, at, "action_listen")]
        times = truth.user_times.setdefault(sender, [])
        scam = rng.choice(scam_types)
        for turn in range(rng.choice((1, 1, 2, 2, 3, 4))):
            at += rng.uniform(5, 90)
            if at >= end:
                break
            emergency = turn > 0 and rng.random() < 0.25
            times.append(at)
            text = "我已经转账了" if emergency else rng.choice(STORIES) + f"（第{turn + 1}次）"
            intent = "money_lost" if emergency else f"scam_{scam.id}"
            action = "action_money_lost" if emergency else "action_assess_scam"
            risk = "high" if emergency else rng.choice(("high", "high", "medium", "low"))
            flags = () if emergency else tuple(rng.sample(FLAGS, rng.choice((0, 1, 2, 3))))
            custom = ({"type": "emergency", "hotlines": ["110", "96110"], "steps": ["立即拨打110"]} if emergency
                      else {"type": "scam_assessment", "scam_type": scam.id, "risk": risk, "scam_name": scam.name,
                            "hotlines": list(scam.hotlines), "steps": list(scam.steps),
                            "reasons": [{"flag": f, "quote": "……"} for f in flags]})
            bot_text = (catalog.money_lost.verdict if emergency else f"这是诈骗（{scam.name}）\n{scam.verdict}\n"
                        + "\n".join(scam.steps))
            rows += [_user_event(sender, at, text, intent, channel), _action_event(sender, at + 0.1, action),
                     _bot_event(sender, at + 0.2, bot_text, custom), _slot_event(sender, at + 0.2, "risk", risk)]
            if not emergency:
                rows.append(_slot_event(sender, at + 0.2, "scam_type", scam.id))
            rows.append(_action_event(sender, at + 0.3, "action_listen"))
            summary = AssessmentSummary(
                conversation_id=sender, assessed_at=at + 0.2, kind=EMERGENCY if emergency else ASSESSMENT,
                scam_type=scam.id, risk=risk, channel=channel, atm_id=atm_id,
                branch=atm_branch(atm_id) if atm_id else None, flags=flags)
            pending_summaries.append(summary)
            truth.summaries.append(summary)
            last_type[sender] = scam.id
        truth.events += len(rows)
        pending_events.extend(rows)
        if len(pending_events) >= batch:
            flush()
    flush()

    senders = sorted(truth.user_times)
    statuses = (OPEN, CONTACTED, DONE)
    references: Set[str] = set()
    rows = []
    for index, sender in enumerate(rng.sample(senders, min(handoffs, len(senders)))):
        times = truth.user_times[sender] or [end - 3600]
        when = datetime.fromtimestamp(times[-1] + 1, timezone.utc)
        reference = new_reference()
        while reference in references:  # random references: a rare repeat is drawn again
            reference = new_reference()
        references.add(reference)
        status = statuses[index % 3]
        rows.append(dict(reference=reference, conversation_id=sender, scam_type=last_type.get(sender),
                         risk="high", atm_id=None, requested_at=when, channel=None, money_gone=None,
                         status=status, status_changed_by=None if status == OPEN else "gen"))
        truth.handoffs.append((reference, sender, when))
    if rows:
        with records_engine.begin() as connection:
            connection.execute(HANDOFF_TABLE.insert(), rows)
    return truth


def bank_day(moment: float, zone) -> date:
    return datetime.fromtimestamp(moment, zone).date()


def day_bounds(first: date, last: date, zone) -> Tuple[float, float]:
    start = datetime.combine(first, datetime.min.time(), zone).timestamp()
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone).timestamp()
    return start, end


def optional(value: Optional[str]) -> str:
    return value or ""
