"""A conversation with markup in every field a customer (or a channel) can fill, and the
records made from it, to show the console escapes all of them."""

import json
from datetime import datetime, timezone

import sqlalchemy as sa

from core.assessment_records import AssessmentSummary, insert_summaries
from core.handoff_records import HandoffRequest, record_handoff
from tests.staff.generated_data import EVENTS, EVENTS_METADATA

SCRIPT = '<script>alert("fz")</script>'
CONVERSATION = f'{SCRIPT}"><img src=x onerror=alert(1)>'
# A spreadsheet formula: the CSV must not hand it to Excel as one.
FORMULA = '=HYPERLINK("http://evil.example","点我")'


def insert_hostile_conversation(engine: sa.engine.Engine, records_url: str, assessed_at: float) -> str:
    """Events and assessment records (at `assessed_at`) and a handoff record (now) full of
    markup; returns the handoff reference."""
    EVENTS_METADATA.create_all(engine, checkfirst=True)
    now = assessed_at
    user = {"event": "user", "timestamp": now, "text": f"{SCRIPT}<img src=x onerror=alert(2)>",
            "parse_data": {"intent": {"name": "human_handoff"}}, "input_channel": f"<b>{SCRIPT}</b>"}
    bots = [
        {"type": "scam_assessment", "scam_type": SCRIPT, "risk": SCRIPT},
        {"type": "handoff", "reference": SCRIPT},
        {"type": "atm_alert", "atm_id": SCRIPT},
    ]
    rows = [dict(sender_id=CONVERSATION, type_name="user", timestamp=now, intent_name="human_handoff",
                 action_name=None, data=json.dumps(user))]
    rows += [dict(sender_id=CONVERSATION, type_name="bot", timestamp=now + n, intent_name=None, action_name=None,
                  data=json.dumps({"event": "bot", "text": f"<i>{SCRIPT}</i>", "data": {"custom": payload}}))
             for n, payload in enumerate(bots, start=1)]
    with engine.begin() as connection:
        connection.execute(EVENTS.insert(), rows)
        insert_summaries(connection, [AssessmentSummary(
            conversation_id=CONVERSATION, assessed_at=assessed_at, kind="assessment", scam_type=SCRIPT,
            risk=SCRIPT, channel=FORMULA, atm_id=SCRIPT, branch=SCRIPT, flags=(SCRIPT, FORMULA))])
    return record_handoff(records_url, HandoffRequest(
        conversation_id=CONVERSATION, scam_type=SCRIPT, risk=SCRIPT, atm_id=SCRIPT,
        requested_at=datetime.now(timezone.utc)))
