"""What the console reads, written where the assistant writes it: assessment records from
the actions, handoff records with one open record per conversation, the ATM list, and
retention of all of it."""

import asyncio
import logging
import os
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from core.settings import settings
import sqlalchemy as sa
import yaml
from rasa_sdk.executor import CollectingDispatcher

from actions.assessment import ActionAssessAnswers, ActionAssessScam, ActionMoneyLost
from core import assessment_records, handoff_records
from core.assessment_records import ASSESSMENT_TABLE, FLAG_TABLE, summary_of_reply
from core.atms import InputError, find_atm, parse_atm_csv
from core.handoff_records import (
    DONE,
    HANDOFF_TABLE,
    STATUS_CHANGES_TABLE,
    HandoffRequest,
    StatusChangeRefused,
    change_status,
    record_handoff,
)
from staff import audit
from staff.tables import AUDIT, create_tables as create_staff_tables
from tests.staff.generated_data import EVENTS, EVENTS_METADATA, _user_event
from tools import retention

DOMAIN = yaml.safe_load(open("domain.yml", encoding="utf-8"))


@pytest.fixture
def db_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'rasa.db'}"
    monkeypatch.setenv("HANDOFF_DB_URL", url)
    monkeypatch.delenv("ATM_LIST", raising=False)
    return url


def rows(url, table):
    engine = sa.create_engine(url, future=True)
    try:
        with engine.connect() as connection:
            ordered = sa.select(table).order_by(*(table.primary_key.columns or table.c))
            return [dict(row._mapping) for row in connection.execute(ordered)]
    finally:
        engine.dispose()


def user_event(text, intent, channel="widget"):
    return {"event": "user", "text": text, "input_channel": channel,
            "parse_data": {"intent": {"name": intent, "confidence": 1.0}, "entities": []}}


def run_action(action, tracker):
    """Runs the action, then waits for the rows it queued (written off the reply path)."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    assessment_records.wait_for_writes()
    return dispatcher, events


# --- assessment records ----------------------------------------------------------------


def test_an_assessment_writes_a_row_with_channel_atm_and_branch(db_url, tmp_path, monkeypatch, make_tracker):
    atm_list = tmp_path / "atms.csv"
    atm_list.write_text("atm_id,location,branch\nATM-7,大厅,朝阳支行\n", encoding="utf-8")
    monkeypatch.setenv("ATM_LIST", str(atm_list))
    tracker = make_tracker("税务局说给我退税", "scam_tax_refund", sender="conv-1", slots={"atm_id": "atm-7"},
                           events=[user_event("税务局说给我退税", "scam_tax_refund", "wechat")])

    dispatcher, _ = run_action(ActionAssessScam(), tracker)

    assert dispatcher.messages[-1]["custom"]["type"] == "scam_assessment"
    [row] = rows(db_url, ASSESSMENT_TABLE)
    assert row["conversation_id"] == "conv-1" and row["kind"] == "assessment"
    assert (row["scam_type"], row["risk"], row["channel"]) == ("tax_refund", "high", "wechat")
    assert (row["atm_id"], row["branch"]) == ("atm-7", "朝阳支行")
    assert abs(row["assessed_at"] - time.time()) < 60


def test_money_gone_writes_an_emergency_row(db_url, make_tracker):
    tracker = make_tracker("我已经转账了", "money_lost", sender="conv-2", slots={"scam_type": "impersonate_police"},
                           events=[user_event("我已经转账了", "money_lost")])
    run_action(ActionMoneyLost(), tracker)
    tracker = make_tracker("已经转了", "inform", sender="conv-3", slots={"money_gone": "yes"})
    run_action(ActionAssessAnswers(), tracker)

    found = [(r["conversation_id"], r["kind"], r["scam_type"], r["risk"]) for r in rows(db_url, ASSESSMENT_TABLE)]
    assert found == [("conv-2", "emergency", "impersonate_police", "high"), ("conv-3", "emergency", None, "high")]


def test_a_failed_record_never_costs_the_reply(monkeypatch, make_tracker, caplog):
    monkeypatch.setenv("HANDOFF_DB_URL", "sqlite:////nonexistent-dir/rasa.db")
    with caplog.at_level(logging.ERROR):
        dispatcher, events = run_action(ActionAssessScam(), make_tracker("税务局退税", "scam_tax_refund"))
    assert "税务" in dispatcher.messages[0]["text"] and events
    assert "assessment record for test-user not written" in caplog.text


def test_a_locked_database_holds_up_neither_the_reply_nor_the_row(db_url, monkeypatch, make_tracker, caplog):
    # A short busy wait, so that the writer meets the lock, pauses and tries again.
    monkeypatch.setattr("core.record_engines.SQLITE_BUSY_SECONDS", 0.1)
    monkeypatch.setattr(assessment_records, "_RETRY_PAUSE_SECONDS", 0.2)
    monkeypatch.setattr(assessment_records, "_WRITE_ATTEMPTS", 1000)
    assessment_records.record_assessment(db_url, assessment_records.AssessmentSummary(
        "earlier", time.time(), "assessment", "tax_refund", "high", "widget", None, None))
    holder = sa.create_engine(db_url, future=True, connect_args={"isolation_level": None}).connect()
    holder.exec_driver_sql("BEGIN EXCLUSIVE")  # as the Rasa server's tracker write under load
    try:
        with caplog.at_level(logging.WARNING):
            dispatcher = CollectingDispatcher()
            asyncio.run(ActionAssessScam().run(
                dispatcher, make_tracker("税务局退税", "scam_tax_refund", sender="locked"), DOMAIN))
            assert dispatcher.messages[-1]["custom"]["type"] == "scam_assessment"
            deadline = time.monotonic() + 30
            while "locked: database busy, attempt 2" not in caplog.text:
                assert time.monotonic() < deadline, caplog.text
                time.sleep(0.05)
    finally:
        holder.exec_driver_sql("ROLLBACK")
        holder.close()
    assessment_records.wait_for_writes()
    assert [r["conversation_id"] for r in rows(db_url, ASSESSMENT_TABLE)] == ["earlier", "locked"]
    assert "not written" not in caplog.text


def test_rows_beyond_the_waiting_limit_are_dropped_with_a_log_line(db_url, monkeypatch, make_tracker, caplog):
    full = threading.BoundedSemaphore(1)
    full.acquire()
    monkeypatch.setattr(assessment_records, "_waiting", full)
    with caplog.at_level(logging.ERROR):
        dispatcher, _ = run_action(ActionAssessScam(), make_tracker("税务局退税", "scam_tax_refund", sender="full"))
    assert dispatcher.messages[-1]["custom"]["type"] == "scam_assessment"
    assert "assessment record for full not written: 10000 rows already waiting" in caplog.text


def test_the_red_flags_of_a_verdict_are_kept_and_foreign_values_are_not(make_tracker):
    tracker = make_tracker("x", "scam_tax_refund", slots={"atm_id": "<script>"},
                           events=[user_event("x", "scam_tax_refund", "<b>channel</b>")])
    payload = {"type": "scam_assessment", "scam_type": "tax_refund", "risk": "extreme",
               "reasons": [{"flag": "asks_code", "quote": "验证码"}, {"flag": "asks_code"},
                           {"flag": "<script>"}, "not a dict", {"flag": "urgency"}]}
    summary = summary_of_reply(tracker, [{"text": "…", "custom": payload}])
    assert summary.flags == ("asks_code", "urgency")
    assert (summary.risk, summary.channel, summary.atm_id) == (None, None, None)
    assert summary_of_reply(tracker, [{"text": "你好", "custom": {}}]) is None


def test_flags_are_stored_one_row_each(db_url):
    summary = assessment_records.AssessmentSummary("c", 1_800_000_000.0, "assessment", "tax_refund", "high",
                                                   "widget", None, None, ("asks_code", "urgency"))
    assessment_records.record_assessment(db_url, summary)
    assert [(r["flag"], r["assessed_at"]) for r in rows(db_url, FLAG_TABLE)] == [
        ("asks_code", 1_800_000_000.0), ("urgency", 1_800_000_000.0)]


# --- handoff records ---------------------------------------------------------------------


def request(conversation="conv", **changes):
    values = dict(conversation_id=conversation, scam_type="tax_refund", risk="high", atm_id=None,
                  requested_at=datetime.now(timezone.utc))
    return HandoffRequest(**{**values, **changes})


def test_a_conversation_has_one_open_record(db_url):
    first = record_handoff(db_url, request())
    assert record_handoff(db_url, request()) == first
    assert len(rows(db_url, HANDOFF_TABLE)) == 1
    engine = sa.create_engine(db_url, future=True)
    change_status(engine, first, "contacted", "已联系", "zhang")
    assert record_handoff(db_url, request()) == first  # contacted is still open
    change_status(engine, first, DONE, "已处理", "zhang")
    second = record_handoff(db_url, request())
    assert second != first and len(rows(db_url, HANDOFF_TABLE)) == 2
    assert [(r["status"], r["staff_user"]) for r in rows(db_url, STATUS_CHANGES_TABLE)] == [
        ("contacted", "zhang"), ("done", "zhang")]


def test_two_requests_at_once_make_one_record(db_url):
    record_handoff(db_url, request("warm-up"))  # tables created before the race
    references, barrier = [], threading.Barrier(4)

    def ask():
        barrier.wait()
        references.append(record_handoff(db_url, request("race")))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(references)) == 1
    assert sum(r["conversation_id"] == "race" for r in rows(db_url, HANDOFF_TABLE)) == 1


def test_channel_and_money_gone_come_from_the_conversation(db_url):
    engine = sa.create_engine(db_url, future=True)
    EVENTS_METADATA.create_all(engine)
    with engine.begin() as connection:
        connection.execute(EVENTS.insert(), [_user_event("conv", 1.0, "我被骗了", "money_lost", "wechat")])
    assessment_records.record_assessment(db_url, assessment_records.AssessmentSummary(
        "conv", time.time(), "emergency", None, "high", "wechat", None, None))
    record_handoff(db_url, request())
    [row] = rows(db_url, HANDOFF_TABLE)
    assert (row["channel"], row["money_gone"], row["status"]) == ("wechat", True, "open")


def test_status_changes_that_make_no_sense_are_refused(db_url):
    engine = sa.create_engine(db_url, future=True)
    reference = record_handoff(db_url, request())
    with pytest.raises(StatusChangeRefused, match="只能改为"):
        change_status(engine, reference, "open", "x", "zhang")
    with pytest.raises(LookupError):
        change_status(engine, "FZ-ZZZZZZ", DONE, "x", "zhang")
    change_status(engine, reference, DONE, "x", "zhang")
    with pytest.raises(StatusChangeRefused, match="已处理"):
        change_status(engine, reference, DONE, "x", "zhang")


def test_a_table_of_the_first_release_is_upgraded_in_place(db_url):
    engine = sa.create_engine(db_url, future=True)
    with engine.begin() as connection:
        connection.execute(sa.text(
            "CREATE TABLE handoff_requests (id INTEGER PRIMARY KEY, reference VARCHAR(16) NOT NULL UNIQUE,"
            " conversation_id VARCHAR(255) NOT NULL, scam_type VARCHAR(64), risk VARCHAR(16),"
            " atm_id VARCHAR(32), requested_at DATETIME NOT NULL)"))
        for number, (reference, day) in enumerate((("FZ-AAAAAA", 1), ("FZ-BBBBBB", 2), ("FZ-CCCCCC", 3))):
            connection.execute(sa.text(
                "INSERT INTO handoff_requests (reference, conversation_id, requested_at) VALUES (:r, :c, :t)"),
                {"r": reference, "c": "same" if number < 2 else "other", "t": f"2026-12-0{day} 10:00:00"})

    assert record_handoff(db_url, request("same")) == "FZ-BBBBBB"  # the newest stays open
    by_reference = {r["reference"]: r for r in rows(db_url, HANDOFF_TABLE)}
    assert by_reference["FZ-AAAAAA"]["status"] == DONE
    assert "FZ-BBBBBB" in by_reference["FZ-AAAAAA"]["status_note"]
    assert by_reference["FZ-BBBBBB"]["status"] == by_reference["FZ-CCCCCC"]["status"] == "open"
    assert len(by_reference) == 3


# --- the ATM list ------------------------------------------------------------------------


def test_the_atm_list_has_an_optional_branch(tmp_path, monkeypatch):
    assert parse_atm_csv("atm_id,branch,location\nA1,朝阳支行,大厅\nA2,,\n")[0].branch == "朝阳支行"
    with pytest.raises(InputError, match="网点"):
        parse_atm_csv("atm_id,branch\nA1," + "长" * 61 + "\n")
    listed = tmp_path / "atms.csv"
    listed.write_text("atm_id,branch\nATM-9,海淀支行\n", encoding="utf-8")
    monkeypatch.setenv("ATM_LIST", str(listed))
    settings.cache_clear()  # read once per process, as at a start-up
    assert find_atm("atm-9").branch == "海淀支行" and find_atm("ATM-1") is None
    listed.write_text("atm_id,branch\nATM-9,西城支行\n", encoding="utf-8")
    later = time.time() + 5
    os.utime(listed, (later, later))
    assert find_atm("ATM-9").branch == "西城支行"  # a new list counts without a restart
    monkeypatch.setenv("ATM_LIST", str(tmp_path / "missing.csv"))
    settings.cache_clear()
    with pytest.raises(InputError, match="ATM_LIST"):
        find_atm("ATM-9")


def test_a_broken_atm_list_still_records_the_assessment(db_url, monkeypatch, make_tracker):
    monkeypatch.setenv("ATM_LIST", "/nonexistent/atms.csv")
    run_action(ActionAssessScam(), make_tracker("税务局退税", "scam_tax_refund", slots={"atm_id": "ATM-1"}))
    [row] = rows(db_url, ASSESSMENT_TABLE)
    assert (row["atm_id"], row["branch"]) == ("ATM-1", None)


# --- retention ---------------------------------------------------------------------------


def test_retention_purges_the_new_tables(db_url, monkeypatch):
    engine = sa.create_engine(db_url, future=True)
    EVENTS_METADATA.create_all(engine)
    create_staff_tables(engine)
    day = 86_400
    now = time.time()
    for age, conversation in ((40, "old"), (2, "new")):
        assessment_records.record_assessment(db_url, assessment_records.AssessmentSummary(
            conversation, now - age * day, "assessment", "tax_refund", "high", "widget", None, None, ("urgency",)))
        reference = record_handoff(db_url, request(conversation,
                                                   requested_at=datetime.now(timezone.utc) - timedelta(days=age)))
        change_status(engine, reference, "contacted", "note", "zhang")
    audit.record(engine, "zhang", audit.VIEW_REPORT, None, audit.ALLOWED, None, now=now - 200 * day)
    audit.record(engine, "zhang", audit.VIEW_REPORT, None, audit.ALLOWED, None, now=now - 100 * day)

    url = sa.engine.make_url(db_url)
    counts = retention.purge(url, url, now - 30 * day, dry_run=False, audit_cutoff=now - 180 * day)

    assert (counts.handoffs, counts.assessments, counts.audit_entries) == (1, 1, 1)
    assert [r["conversation_id"] for r in rows(db_url, ASSESSMENT_TABLE)] == ["new"]
    assert len(rows(db_url, FLAG_TABLE)) == 1 and len(rows(db_url, STATUS_CHANGES_TABLE)) == 1
    assert len(rows(db_url, AUDIT)) == 1


def test_tables_exist_for_a_fresh_database(db_url):
    engine = sa.create_engine(db_url, future=True)
    handoff_records.create_tables(engine)
    assessment_records.create_tables(engine)
    assert {"handoff_requests", "handoff_status_changes", "assessment_records", "assessment_flags"} <= set(
        sa.inspect(engine).get_table_names())


def test_a_genuine_notice_is_counted_as_such(make_tracker):
    payload = {"type": "scam_assessment", "scam_type": None, "risk": "low", "reasons": [],
               "genuine_signs": [{"sign": "official_app", "label": "…", "quote": "…"}]}
    summary = summary_of_reply(make_tracker("x", "genuine_notice"), [{"custom": payload}])
    assert (summary.kind, summary.scam_type, summary.risk) == ("assessment", "genuine_notice", "low")


def test_red_flags_are_named_by_their_label(tmp_path, monkeypatch):
    from staff import names

    flags = tmp_path / "red_flags.yml"
    flags.write_text("aliases: {nb: x}\nflags:\n  code_or_password:\n    label: 向您要验证码、密码：银行从不要。\n"
                     "    weight: 3\n", encoding="utf-8")
    monkeypatch.setattr(names, "RED_FLAGS_FILE", flags)
    names.flag_names.cache_clear()
    try:
        assert names.flag_name("code_or_password") == "向您要验证码、密码"
        assert names.flag_name("unknown_flag") == "unknown_flag"
    finally:
        names.flag_names.cache_clear()
