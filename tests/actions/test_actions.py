"""The custom actions as Rasa runs them: tracker in, messages and events out."""


import pytest
from rasa_sdk.events import SlotSet

from actions.assessment import ActionAssessScam, ActionMoneyLost
from actions.checks import ActionCheckNumber
from actions.conversation import ActionSessionStart
from core import replies
from core.catalog import load_catalog
from core.settings import settings
from conftest import only_message, run

SCAM_IDS = sorted(load_catalog().scam_types)
NEXT_STEP_TITLES = ["我已经转账了", "核实一个电话号码", "转人工"]


# --- ActionAssessScam -------------------------------------------------------------


@pytest.mark.parametrize("scam_id", SCAM_IDS)
def test_assess_scam_reply_for_every_type(scam_id, make_tracker, dispatcher, domain):
    scam = load_catalog().scam_types[scam_id]
    expected_hotlines = list(dict.fromkeys("95588" if h == "bank" else h for h in scam.hotlines))

    events = run(ActionAssessScam(), dispatcher, make_tracker("有人打电话给我", f"scam_{scam_id}"), domain)

    message = only_message(dispatcher)
    payload = message["custom"]
    assert payload["type"] == "scam_assessment"
    assert payload["scam_type"] == scam_id
    assert payload["risk"] in ("high", "medium", "low")
    assert payload["hotlines"] == expected_hotlines
    assert [b["title"] for b in message["buttons"]] == NEXT_STEP_TITLES
    text = message["text"]
    assert text.startswith("⚠️") or text.startswith("这有诈骗的可能")
    assert "1." in text
    assert all(f"📞 {number} " in text for number in expected_hotlines)
    assert events == [SlotSet("scam_type", scam_id), SlotSet("risk", payload["risk"])]


def test_assess_scam_uses_configured_bank_hotline(monkeypatch, make_tracker, dispatcher, domain):
    monkeypatch.setenv("BANK_NAME", "建设银行")
    monkeypatch.setenv("BANK_HOTLINE", "95533")

    run(ActionAssessScam(), dispatcher, make_tracker("要我说验证码", "scam_credential_request"), domain)

    message = only_message(dispatcher)
    assert message["custom"]["hotlines"] == ["95533", "110", "96110"]
    assert "95533 建设银行客服热线" in message["text"]
    assert "95588" not in message["text"]


@pytest.mark.parametrize(
    "text, risk",
    [
        ("有人在游戏里低价卖装备给我", "medium"),
        ("卖装备的让我先转账", "high"),
        ("卖家说要去ＡＴＭ操作", "high"),  # full-width letters still match
    ],
)
def test_assess_scam_risk_follows_message(text, risk, make_tracker, dispatcher, domain):
    run(ActionAssessScam(), dispatcher, make_tracker(text, "scam_game_trade"), domain)

    message = only_message(dispatcher)
    assert message["custom"]["risk"] == risk
    assert message["text"].startswith("⚠️ 这是诈骗！" if risk == "high" else "⚠️ 这很可能是诈骗！")


def test_assess_scam_risk_sees_through_zero_width_space(make_tracker, dispatcher, domain):
    run(ActionAssessScam(), dispatcher, make_tracker("卖家让我先转\u200b账", "scam_game_trade"), domain)

    assert only_message(dispatcher)["custom"]["risk"] == "high"


@pytest.mark.parametrize("intent", ["greet", "scam_", "scam_unknown", "", None])
def test_assess_scam_unknown_intent_falls_back(intent, make_tracker, dispatcher, domain):
    events = run(ActionAssessScam(), dispatcher, make_tracker("你好", intent), domain)

    assert only_message(dispatcher)["text"] == replies.not_understood(settings().bank)["text"]
    assert events == []


# --- ActionMoneyLost --------------------------------------------------------------


def test_money_lost_sends_emergency_with_police_and_bank(make_tracker, dispatcher, domain):
    events = run(ActionMoneyLost(), dispatcher, make_tracker("我已经转了五万", "money_lost"), domain)

    message = only_message(dispatcher)
    assert message["custom"]["type"] == "emergency"
    assert {"110", "95588"} <= set(message["custom"]["hotlines"])
    assert "📞 110 " in message["text"] and "📞 95588 " in message["text"]
    assert events == [SlotSet("risk", "high")]


def test_money_lost_code_given_says_change_password_first(make_tracker, dispatcher, domain):
    run(ActionMoneyLost(), dispatcher, make_tracker("验证码已经告诉他了", "money_lost"), domain)

    steps = only_message(dispatcher)["custom"]["steps"]
    assert "修改" in steps[0] and "密码" in steps[0]
    assert any("冻结" in step for step in steps)


def test_money_lost_without_code_starts_with_police(make_tracker, dispatcher, domain):
    run(ActionMoneyLost(), dispatcher, make_tracker("我已经转了五万", "money_lost"), domain)

    assert "110" in only_message(dispatcher)["custom"]["steps"][0]


def test_money_lost_uses_configured_bank(monkeypatch, make_tracker, dispatcher, domain):
    monkeypatch.setenv("BANK_NAME", "建设银行")
    monkeypatch.setenv("BANK_HOTLINE", "95533")

    run(ActionMoneyLost(), dispatcher, make_tracker("钱被转走了", "money_lost"), domain)

    assert "95533" in only_message(dispatcher)["custom"]["hotlines"]


# --- ActionCheckNumber ------------------------------------------------------------


def test_check_number_from_entity(make_tracker, dispatcher, domain):
    tracker = make_tracker("12366是真的吗", "verify_number", entities=[("phone_number", "12366")])

    run(ActionCheckNumber(), dispatcher, tracker, domain)

    payload = only_message(dispatcher)["custom"]
    assert payload["type"] == "number_check"
    assert payload["official"] is True
    assert payload["owner"] == "国家税务总局纳税服务热线"


def test_check_number_area_code_96110_from_text(make_tracker, dispatcher, domain):
    run(ActionCheckNumber(), dispatcher, make_tracker("0731-96110", "verify_number"), domain)

    payload = only_message(dispatcher)["custom"]
    assert payload["official"] is True
    assert payload["owner"] == "全国反诈预警劝阻专线"


@pytest.mark.parametrize("raw", ["+0095588", "95588-123456"])
@pytest.mark.parametrize("as_entity", [True, False], ids=["entity", "text"])
def test_check_number_unofficial_is_not_repeated(raw, as_entity, make_tracker, dispatcher, domain):
    entities = [("phone_number", raw)] if as_entity else []
    tracker = make_tracker(f"{raw}打来的，是真的吗", "verify_number", entities=entities)

    run(ActionCheckNumber(), dispatcher, tracker, domain)

    message = only_message(dispatcher)
    assert message["custom"]["official"] is False
    assert raw not in message["text"]
    assert message["custom"]["number"] not in message["text"]


def test_check_number_without_number_asks_for_one(make_tracker, dispatcher, domain):
    events = run(ActionCheckNumber(), dispatcher, make_tracker("帮我查个号码", "verify_number"), domain)

    message = only_message(dispatcher)
    assert "号码" in message["text"]
    assert message["custom"] == {}
    assert events == []


# --- ActionSessionStart -----------------------------------------------------------


def session_start(make_tracker, dispatcher, domain, slots=None):
    return run(ActionSessionStart(), dispatcher, make_tracker("", None, slots=slots), domain)


def test_session_start_default_bank(make_tracker, dispatcher, domain):
    events = session_start(make_tracker, dispatcher, domain)

    assert events[0]["event"] == "session_started"
    assert SlotSet("bank_name", "工商银行") in events
    assert SlotSet("bank_hotline", "95588") in events
    assert events[-1]["event"] == "action" and events[-1]["name"] == "action_listen"
    assert dispatcher.messages == []


def test_session_start_bank_from_env(monkeypatch, make_tracker, dispatcher, domain):
    monkeypatch.setenv("BANK_NAME", "建设银行")
    monkeypatch.setenv("BANK_HOTLINE", "95533")

    events = session_start(
        make_tracker, dispatcher, domain,
        slots={"bank_name": "工商银行", "bank_hotline": "95588", "scam_type": None},
    )

    slot_events = [e for e in events if e["event"] == "slot"]
    assert slot_events == [SlotSet("bank_name", "建设银行"), SlotSet("bank_hotline", "95533")]


def test_session_start_carries_over_scam_type(make_tracker, dispatcher, domain):
    events = session_start(make_tracker, dispatcher, domain, slots={"scam_type": "tax_refund"})

    assert events[0]["event"] == "session_started"
    assert SlotSet("scam_type", "tax_refund") in events
    assert events[-1]["name"] == "action_listen"
