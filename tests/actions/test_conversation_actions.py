"""The issue-4 actions: clarifying questions, follow-ups, links, handoff, ATM entry."""

import sqlite3

import pytest
from rasa_sdk.events import SlotSet

from actions.assessment import ActionAssessAnswers, ActionReadVagueStory, ValidateClarifyForm
from actions.checks import ActionCheckLink
from actions.conversation import ActionFollowUp
from actions.handoff import ActionAtmEntry, ActionHumanHandoff
from core.catalog import load_catalog
from conftest import only_message, run, user_event

QUESTION_SLOTS = ["claimed_identity", "requested_action", "money_gone"]


# --- the clarifying form ----------------------------------------------------------


@pytest.mark.parametrize(
    "slot, answer, expected",
    [
        ("claimed_identity", "公检法", "公检法"),  # a button
        ("claimed_identity", "他说他是派出所的民警", "公检法"),
        ("claimed_identity", "不知道", "skip"),
        ("claimed_identity", "听不清楚说的啥", "skip"),
        ("claimed_identity", "一个男的", "其他"),  # unclear: counted, never asked again
        ("requested_action", "让我把手机上收到的验证码念给他", "告诉验证码或密码"),
        ("requested_action", "跳过", "skip"),
        ("money_gone", "还没有", "no"),
        ("money_gone", "是的", "yes"),
        ("money_gone", "嗯嗯嗯", "skip"),
    ],
)
def test_form_maps_free_text_and_buttons_to_options(slot, answer, expected, make_tracker, dispatcher, domain):
    validate = getattr(ValidateClarifyForm(), f"validate_{slot}")

    assert validate(answer, dispatcher, make_tracker(answer, "x"), domain) == {slot: expected}


@pytest.mark.parametrize("slot", QUESTION_SLOTS)
def test_form_leaves_a_cleared_slot_unanswered(slot, make_tracker, dispatcher, domain):
    validate = getattr(ValidateClarifyForm(), f"validate_{slot}")

    assert validate(None, dispatcher, make_tracker("刚才接了个电话", "report_vague"), domain) == {slot: None}


def test_forget_answers_clears_every_question(make_tracker, dispatcher, domain):
    events = run(ActionReadVagueStory(), dispatcher, make_tracker("刚才接了个电话", "report_vague"), domain)

    assert events == [SlotSet(slot, None) for slot in QUESTION_SLOTS]
    assert dispatcher.messages == []


def assess(make_tracker, dispatcher, domain, answers, texts=("有人打电话",), intent="report_vague"):
    events = [user_event(text, intent) for text in texts]
    tracker = make_tracker(texts[-1], intent, slots=answers, events=events)
    return run(ActionAssessAnswers(), dispatcher, tracker, domain)


def test_answers_police_and_transfer_name_the_type_high(make_tracker, dispatcher, domain):
    events = assess(make_tracker, dispatcher, domain,
                    {"claimed_identity": "公检法", "requested_action": "转账汇款", "money_gone": "no"})

    payload = only_message(dispatcher)["custom"]
    assert payload["type"] == "scam_assessment"
    assert (payload["scam_type"], payload["risk"]) == ("impersonate_police", "high")
    assert SlotSet("scam_type", "impersonate_police") in events
    assert all(SlotSet(slot, None) in events for slot in QUESTION_SLOTS)


def test_all_skipped_is_suspected_fraud_with_general_steps(make_tracker, dispatcher, domain):
    assess(make_tracker, dispatcher, domain,
           {"claimed_identity": "skip", "requested_action": "skip", "money_gone": "skip"})

    message = only_message(dispatcher)
    payload = message["custom"]
    assert payload["scam_type"] == "suspected_fraud"
    assert payload["steps"] == list(load_catalog().suspected_fraud.steps)
    assert "96110" in payload["hotlines"]


def test_signals_in_the_messages_raise_the_risk(make_tracker, dispatcher, domain):
    assess(make_tracker, dispatcher, domain,
           {"claimed_identity": "其他", "requested_action": "skip", "money_gone": "no"},
           texts=("刚才有人打电话", "他让我把钱转到安全账户"))

    payload = only_message(dispatcher)["custom"]
    assert payload["risk"] == "high"


def test_a_confident_scam_intent_names_the_type_the_answers_did_not(make_tracker, dispatcher, domain):
    events = [user_event("有人打电话", "report_vague"),
              user_event("说我网恋对象要我投资", "scam_romance_scam", confidence=0.93)]
    tracker = make_tracker("不知道", "dont_know", events=events,
                           slots={"claimed_identity": "skip", "requested_action": "skip", "money_gone": "skip"})

    run(ActionAssessAnswers(), dispatcher, tracker, domain)

    assert only_message(dispatcher)["custom"]["scam_type"] == "romance_scam"


def test_money_gone_answer_gets_the_emergency_reply(make_tracker, dispatcher, domain):
    assess(make_tracker, dispatcher, domain,
           {"claimed_identity": "税务", "requested_action": "转账汇款", "money_gone": "yes"})

    assert only_message(dispatcher)["custom"]["type"] == "emergency"


# --- follow-ups -------------------------------------------------------------------


@pytest.mark.parametrize(
    "intent, expected",
    [
        ("ask_next_steps", "12366"),
        ("ask_how_to_verify", "自己拨打 12366"),
        ("ask_why_scam", "税务局从不打电话"),
        ("ask_real_case", "真实案例"),
        ("share_warning", "【反诈提醒】"),
    ],
)
def test_follow_ups_answer_for_the_type_named(intent, expected, make_tracker, dispatcher, domain):
    tracker = make_tracker("那我该怎么办", intent, slots={"scam_type": "tax_refund"})

    run(ActionFollowUp(), dispatcher, tracker, domain)

    assert expected in only_message(dispatcher)["text"]


def test_real_case_tells_the_seed_case(make_tracker, dispatcher, domain):
    run(ActionFollowUp(), dispatcher, make_tracker("有案例吗", "ask_real_case", slots={"scam_type": "impersonate_police"}), domain)

    assert load_catalog().scam_types["impersonate_police"].seed_case in only_message(dispatcher)["text"]


def test_real_case_without_a_seed_offers_the_seed_cases(make_tracker, dispatcher, domain):
    run(ActionFollowUp(), dispatcher, make_tracker("有案例吗", "ask_real_case", slots={"scam_type": "game_trade"}), domain)

    buttons = only_message(dispatcher)["buttons"]
    assert len(buttons) == 4
    assert all(b["payload"].startswith('/ask_real_case{"scam_type": "') for b in buttons)


def test_real_case_button_entity_picks_the_case(make_tracker, dispatcher, domain):
    tracker = make_tracker("/ask_real_case", "ask_real_case", entities=[("scam_type", "tax_refund")])

    run(ActionFollowUp(), dispatcher, tracker, domain)

    assert load_catalog().scam_types["tax_refund"].seed_case in only_message(dispatcher)["text"]


def test_follow_up_without_a_type_gives_the_general_advice(make_tracker, dispatcher, domain):
    run(ActionFollowUp(), dispatcher, make_tracker("那我该怎么办", "ask_next_steps"), domain)

    text = only_message(dispatcher)["text"]
    assert load_catalog().suspected_fraud.name in text


def test_share_warning_payload_is_the_forwardable_text(make_tracker, dispatcher, domain):
    run(ActionFollowUp(), dispatcher, make_tracker("发给家人", "share_warning", slots={"scam_type": "fake_loan"}), domain)

    message = only_message(dispatcher)
    assert message["custom"]["type"] == "share_text"
    assert message["custom"]["text"] in message["text"]
    assert "贷款" in message["custom"]["text"]


# --- links ------------------------------------------------------------------------


def test_look_alike_link_is_flagged_and_not_repeated(make_tracker, dispatcher, domain):
    text = "这个链接能点吗 http://chinatax-gov.cn.example.com/refund"

    run(ActionCheckLink(), dispatcher, make_tracker(text, "check_link"), domain)

    message = only_message(dispatcher)
    assert message["custom"]["type"] == "link_check"
    assert message["custom"]["official"] is False
    assert message["custom"]["risk"] == "high"
    assert "example.com" not in message["text"]


def test_official_link_names_its_owner(make_tracker, dispatcher, domain):
    run(ActionCheckLink(), dispatcher, make_tracker("https://www.chinatax.gov.cn 是官网吗", "check_link"), domain)

    message = only_message(dispatcher)
    assert message["custom"]["official"] is True
    assert "税务" in message["text"]


def test_no_link_asks_for_one(make_tracker, dispatcher, domain):
    run(ActionCheckLink(), dispatcher, make_tracker("短信里的网址安全吗", "check_link"), domain)

    assert "链接" in only_message(dispatcher)["text"]


# --- handoff ----------------------------------------------------------------------


def test_handoff_writes_a_record_and_gives_its_reference(tmp_path, monkeypatch, make_tracker, dispatcher, domain):
    db = tmp_path / "rasa.db"
    monkeypatch.setenv("HANDOFF_DB_URL", f"sqlite:///{db}")
    tracker = make_tracker("转人工", "human_handoff", sender="wx-openid-1",
                           slots={"scam_type": "tax_refund", "risk": "high", "atm_id": "ATM-7"})

    events = run(ActionHumanHandoff(), dispatcher, tracker, domain)

    message = only_message(dispatcher)
    reference = message["custom"]["reference"]
    assert reference in message["text"] and "95588" in message["text"]
    assert events == [SlotSet("handoff_reference", reference)]
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT reference, conversation_id, scam_type, risk, atm_id, requested_at FROM handoff_requests"
        ).fetchall()
    assert len(rows) == 1
    assert rows[0][:5] == (reference, "wx-openid-1", "tax_refund", "high", "ATM-7")
    assert rows[0][5]


def test_handoff_reference_reads_as_no_phone_number(tmp_path, monkeypatch, make_tracker, dispatcher, domain):
    monkeypatch.setenv("HANDOFF_DB_URL", f"sqlite:///{tmp_path / 'rasa.db'}")

    run(ActionHumanHandoff(), dispatcher, make_tracker("转人工", "human_handoff"), domain)

    assert not any(ch.isdigit() for ch in only_message(dispatcher)["custom"]["reference"])


def test_handoff_without_a_database_still_gives_the_hotline(monkeypatch, make_tracker, dispatcher, domain):
    monkeypatch.setenv("HANDOFF_DB_URL", "sqlite:////nonexistent-dir/rasa.db")

    events = run(ActionHumanHandoff(), dispatcher, make_tracker("转人工", "human_handoff"), domain)

    message = only_message(dispatcher)
    assert "95588" in message["text"]
    assert message["custom"]["reference"] is None
    assert events == [SlotSet("handoff_reference", None)]


def test_branch_hours_are_configuration(tmp_path, monkeypatch, make_tracker, dispatcher, domain):
    monkeypatch.setenv("HANDOFF_DB_URL", f"sqlite:///{tmp_path / 'rasa.db'}")
    monkeypatch.setenv("BANK_BRANCH_HOURS", "周一至周日九点到五点")

    run(ActionHumanHandoff(), dispatcher, make_tracker("转人工", "human_handoff"), domain)

    assert "周一至周日九点到五点" in only_message(dispatcher)["text"]


# --- ATM entry --------------------------------------------------------------------


ATM_CSV = "atm_id,location,branch\nATM-0001,朝阳支行大厅,朝阳支行\nATM-0042,\"海淀, 自助区\",海淀支行\n"


@pytest.fixture
def atm_list(tmp_path, monkeypatch):
    """The bank's ATM list (ATM_LIST): ATM-0001 and ATM-0042."""
    path = tmp_path / "atms.csv"
    path.write_text(ATM_CSV, encoding="utf-8")
    monkeypatch.setenv("ATM_LIST", str(path))
    return path


def atm_entry(make_tracker, atm_id, slots=None):
    """The widget's ATM entry naming `atm_id` (an entity of the latest message)."""
    return make_tracker(f'/atm_entry{{"atm_id": "{atm_id}"}}', "atm_entry",
                        entities=[("atm_id", atm_id)], slots=slots)


def test_atm_entry_says_stop_first_and_keeps_a_listed_atm(atm_list, make_tracker, dispatcher, domain):
    events = run(ActionAtmEntry(), dispatcher, atm_entry(make_tracker, "ATM-0001"), domain)

    message = only_message(dispatcher)
    assert message["text"].startswith("⚠️") and "停止操作" in message["text"].split("\n")[0]
    assert message["custom"] == {"type": "atm_alert", "atm_id": "ATM-0001", "hotlines": ["110", "96110", "95588"]}
    assert [b["title"] for b in message["buttons"]][0] == "我已经转账了"
    assert events == [SlotSet("atm_id", "ATM-0001")]


def test_atm_entry_keeps_the_id_as_the_list_spells_it(atm_list, make_tracker, dispatcher, domain):
    events = run(ActionAtmEntry(), dispatcher, atm_entry(make_tracker, "atm-0042"), domain)

    assert events == [SlotSet("atm_id", "ATM-0042")]


@pytest.mark.parametrize("forged", ["ATM-999", "ATM-00010", "<script>", "a" * 33, "", 42,
                                    {"nested": [1, 2]}])
def test_an_atm_not_on_the_list_is_not_kept_but_the_alert_is_given(
        forged, atm_list, make_tracker, dispatcher, domain):
    tracker = make_tracker("/atm_entry", "atm_entry", entities=[("atm_id", forged)])

    events = run(ActionAtmEntry(), dispatcher, tracker, domain)

    message = only_message(dispatcher)
    assert "停止操作" in message["text"].split("\n")[0]
    assert message["custom"]["atm_id"] is None
    assert events == [SlotSet("atm_id", None)]


def test_without_an_atm_list_no_atm_id_is_accepted(monkeypatch, make_tracker, dispatcher, domain):
    monkeypatch.delenv("ATM_LIST", raising=False)

    events = run(ActionAtmEntry(), dispatcher, atm_entry(make_tracker, "ATM-0001"), domain)

    assert only_message(dispatcher)["custom"]["atm_id"] is None
    assert events == [SlotSet("atm_id", None)]


def test_saying_one_is_at_an_atm_keeps_the_atm_the_conversation_came_from(
        atm_list, make_tracker, dispatcher, domain):
    tracker = make_tracker("我现在在取款机前面", "atm_entry", slots={"atm_id": "ATM-0042"})

    assert run(ActionAtmEntry(), dispatcher, tracker, domain) == [SlotSet("atm_id", "ATM-0042")]


@pytest.mark.parametrize("bad_slot", ["<script>", "ATM-999", {"nested": [1, 2]}, 42])
def test_a_bad_value_already_in_the_slot_is_dropped(bad_slot, atm_list, make_tracker, dispatcher, domain):
    tracker = make_tracker("我在ATM", "atm_entry", slots={"atm_id": bad_slot})

    assert run(ActionAtmEntry(), dispatcher, tracker, domain) == [SlotSet("atm_id", None)]


def test_the_atm_slot_is_set_by_the_atm_entry_action_only(domain):
    """No entity fills it: `/greet{"atm_id": "..."}` or any message naming an atm_id."""
    assert domain["slots"]["atm_id"]["mappings"] == [{"type": "custom"}]


def test_handoff_stores_null_for_slot_values_no_action_could_have_set(
        tmp_path, monkeypatch, make_tracker, dispatcher, domain):
    db = tmp_path / "rasa.db"
    monkeypatch.setenv("HANDOFF_DB_URL", f"sqlite:///{db}")
    slots = {"scam_type": "<b>", "risk": "' OR 1=1 --", "atm_id": {"nested": [1, 2]}}

    for _ in range(2):
        run(ActionHumanHandoff(), dispatcher, make_tracker("转人工", "human_handoff", slots=slots), domain)

    # Both answered with the one open record's reference, never reference: null.
    references = {m["custom"]["reference"] for m in dispatcher.messages}
    assert len(references) == 1 and None not in references
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT scam_type, risk, atm_id FROM handoff_requests").fetchall()
    assert rows == [(None, None, None)]
