"""Issue 17: every action answers in the customer's language and keeps it in the
`language` slot, so a button tap or "ok" keeps it (Simplified, Traditional, English)."""

import re

import pytest
from rasa_sdk.events import SlotSet

from actions.assessment import (
    ActionAskClaimedIdentity, ActionAskMoneyGone, ActionAssessAnswers, ActionAssessScam,
    ActionMoneyLost, ActionReadVagueStory, ValidateClarifyForm,
)
from actions.checks import ActionCheckLink, ActionCheckNumber
from actions.common import LANGUAGE_SLOT
from actions.conversation import ActionFollowUp, ActionGreet, ActionNotUnderstood
from actions.handoff import ActionAtmEntry, ActionHumanHandoff
from core.language import ENGLISH, SIMPLIFIED, TRADITIONAL, simplified_only
from conftest import only_message, run, user_event

CHINESE = re.compile(r"[\u4e00-\u9fff]")
POLICE_EN = "Someone called saying they are from the police and I must transfer money to a safe account"
POLICE_TW = "有人打電話說是公安局的，說我涉嫌洗錢，要我把錢轉到安全賬戶"
POLICE_CN = "有人打电话说是公安局的，说我涉嫌洗钱，要我把钱转到安全账户"


def in_language(text, language):
    """Whether a reply's `text` is written in `language` (names of the directory aside)."""
    text = text.replace("工商银行", "")
    if language == ENGLISH:
        return not CHINESE.search(text)
    if language == TRADITIONAL:
        return bool(CHINESE.search(text)) and not simplified_only(text)
    return bool(simplified_only(text))


@pytest.mark.parametrize("text, language", [(POLICE_CN, SIMPLIFIED), (POLICE_TW, TRADITIONAL), (POLICE_EN, ENGLISH)])
def test_assessment_answers_in_the_script_of_the_story(text, language, make_tracker, dispatcher, domain):
    tracker = make_tracker(text, "scam_impersonate_police")

    events = run(ActionAssessScam(), dispatcher, tracker, domain)

    message = only_message(dispatcher)
    assert in_language(message["text"], language)
    assert all(in_language(button["title"], language) for button in message["buttons"])
    assert [b["payload"] for b in message["buttons"]] == ["/money_lost", "/verify_number", "/human_handoff"]
    assert message["custom"]["scam_type"] == "impersonate_police"
    assert all(in_language(step, language) for step in message["custom"]["steps"])
    # Simplified is the default: an empty slot already means it.
    assert (SlotSet(LANGUAGE_SLOT, language) in events) == (language != SIMPLIFIED)


@pytest.mark.parametrize("language", [TRADITIONAL, ENGLISH])
@pytest.mark.parametrize("tap", ["/money_lost", "ok", "1", "👍"])
def test_a_button_tap_or_ok_keeps_the_language(tap, language, make_tracker, dispatcher, domain):
    tracker = make_tracker(tap, "money_lost", slots={LANGUAGE_SLOT: language})

    events = run(ActionMoneyLost(), dispatcher, tracker, domain)

    message = only_message(dispatcher)
    assert in_language(message["text"], language)
    assert message["custom"]["type"] == "emergency"
    assert SlotSet(LANGUAGE_SLOT, language) not in events  # kept, not set again


def test_a_new_script_changes_the_slot(make_tracker, dispatcher, domain):
    tracker = make_tracker("hello", "greet", slots={LANGUAGE_SLOT: TRADITIONAL})

    events = run(ActionGreet(), dispatcher, tracker, domain)

    assert events == [SlotSet(LANGUAGE_SLOT, ENGLISH)]
    assert only_message(dispatcher)["text"].startswith("Hello, I am ICBC's anti-fraud assistant.")


@pytest.mark.parametrize("language", [SIMPLIFIED, TRADITIONAL, ENGLISH])
def test_fallback_in_each_language(language, make_tracker, dispatcher, domain):
    text = {SIMPLIFIED: "嗯嗯嗯嗯", TRADITIONAL: "嗯嗯嗯嗯", ENGLISH: "hmm whatever blah"}[language]
    run(ActionNotUnderstood(), dispatcher, make_tracker(text, "nlu_fallback", slots={LANGUAGE_SLOT: language}), domain)

    reply = only_message(dispatcher)["text"]
    assert in_language(reply, language) and "110" in reply


# --- the clarifying form, in English and Traditional ----------------------------------------


@pytest.mark.parametrize("language, titles", [
    (ENGLISH, ["Police or court", "Tax office", "Social security"]),
    (TRADITIONAL, ["公檢法", "稅務", "社保醫保"]),
])
def test_form_questions_and_buttons_in_the_language(language, titles, make_tracker, dispatcher, domain):
    vague = {ENGLISH: "I got a strange call", TRADITIONAL: "剛才接了個奇怪的電話"}[language]
    run(ActionAskClaimedIdentity(), dispatcher, make_tracker(vague, "report_vague"), domain)

    message = only_message(dispatcher)
    assert in_language(message["text"], language)
    assert [b["title"] for b in message["buttons"][:3]] == titles
    assert all(b["payload"] == b["title"] for b in message["buttons"])


def test_money_gone_question_keeps_the_emergency_button(make_tracker, dispatcher, domain):
    run(ActionAskMoneyGone(), dispatcher, make_tracker("no idea", "dont_know", slots={LANGUAGE_SLOT: ENGLISH}), domain)

    buttons = only_message(dispatcher)["buttons"]
    assert [b["title"] for b in buttons] == ["Not yet", "Yes, already", "I don't know"]
    assert buttons[1]["payload"] == "/money_lost"


@pytest.mark.parametrize("slot, answer, expected", [
    ("claimed_identity", "police", "公检法"),
    ("claimed_identity", "Tax office", "税务"),
    ("claimed_identity", "I don't know", "skip"),
    ("claimed_identity", "稅務", "税务"),
    ("requested_action", "Transfer money", "转账汇款"),
    ("requested_action", "they wanted a code", "告诉验证码或密码"),
    ("money_gone", "no", "no"),
    ("money_gone", "Not yet", "no"),
    ("money_gone", "yes", "yes"),
    ("money_gone", "I don't know", "skip"),
    ("money_gone", "還沒有", "no"),
])
def test_form_maps_english_and_traditional_answers(slot, answer, expected, make_tracker, dispatcher, domain):
    validate = getattr(ValidateClarifyForm(), f"validate_{slot}")

    assert validate(answer, dispatcher, make_tracker(answer, "x"), domain) == {slot: expected}


def test_english_answers_get_an_english_assessment_with_english_reasons(make_tracker, dispatcher, domain):
    texts = ("I got a strange call", "police", "transfer money", "no")
    events = [user_event(text, "report_vague") for text in texts]
    answers = {"claimed_identity": "公检法", "requested_action": "转账汇款", "money_gone": "no",
               LANGUAGE_SLOT: ENGLISH}
    tracker = make_tracker("no", "deny", slots=answers, events=events)

    run(ActionAssessAnswers(), dispatcher, tracker, domain)

    message = only_message(dispatcher)
    assert message["text"].startswith("⚠️ This is a scam! (Police impersonation scam)")
    assert "• They want you to transfer money" in message["text"]
    assert in_language(message["text"], ENGLISH)


def test_a_vague_traditional_story_clears_the_answers_and_keeps_the_language(make_tracker, dispatcher, domain):
    events = run(ActionReadVagueStory(), dispatcher, make_tracker("剛才接了個電話", "report_vague"), domain)

    assert SlotSet(LANGUAGE_SLOT, TRADITIONAL) in events  # the questions that follow are Traditional
    assert events[:3] == [SlotSet(slot, None) for slot in ("claimed_identity", "requested_action", "money_gone")]


# --- checks, follow-ups, handoff, ATM ----------------------------------------------------


@pytest.mark.parametrize("text, language, words", [
    ("Is 12366 the tax office's number?", ENGLISH, "12366 is the official number of the State Taxation Administration"),
    ("12366是稅務局的電話嗎", TRADITIONAL, "12366 是國家稅務總局納稅服務熱線的官方號碼"),
])
def test_number_check_in_the_language(text, language, words, make_tracker, dispatcher, domain):
    run(ActionCheckNumber(), dispatcher, make_tracker(text, "verify_number", entities=[("phone_number", "12366")]), domain)

    assert words in dispatcher.messages[0]["text"]


def test_link_check_in_english(make_tracker, dispatcher, domain):
    text = "They sent me http://chinatax-gov.cn.refund.top/ to get my refund"
    run(ActionCheckLink(), dispatcher, make_tracker(text, "check_link"), domain)

    message = only_message(dispatcher)
    assert message["text"].startswith("⚠️ This link is dangerous.")
    assert "refund.top" not in message["text"] and in_language(message["text"], ENGLISH)


@pytest.mark.parametrize("intent, start", [
    ("ask_why_scam", "Why it is a scam (Fake tax refund scam)"),
    ("ask_how_to_verify", "How to check:"),
    ("share_warning", "You can forward this to your family:"),
    ("ask_next_steps", "Fake tax refund scam: what to do now:"),
])
def test_follow_ups_in_english_after_a_button(intent, start, make_tracker, dispatcher, domain):
    tracker = make_tracker(f"/{intent}", intent, slots={"scam_type": "tax_refund", LANGUAGE_SLOT: ENGLISH})

    run(ActionFollowUp(), dispatcher, tracker, domain)

    message = only_message(dispatcher)
    assert message["text"].startswith(start) and in_language(message["text"], ENGLISH)
    if intent == "share_warning":
        assert message["custom"]["text"].startswith("[Scam alert] Watch out: Fake tax refund scam!")


@pytest.mark.parametrize("language", [TRADITIONAL, ENGLISH])
def test_handoff_and_atm_in_the_language(language, monkeypatch, tmp_path, make_tracker, dispatcher, domain):
    monkeypatch.setenv("HANDOFF_DB_URL", f"sqlite:///{tmp_path}/h.db")
    (tmp_path / "atms.csv").write_text("atm_id,location,branch\nATM-1,大厅,朝阳支行\n", encoding="utf-8")
    monkeypatch.setenv("ATM_LIST", str(tmp_path / "atms.csv"))  # only listed ATMs are named
    run(ActionHumanHandoff(), dispatcher, make_tracker("/human_handoff", "human_handoff",
                                                        slots={LANGUAGE_SLOT: language}), domain)
    run(ActionAtmEntry(), dispatcher, make_tracker('/atm_entry{"atm_id": "ATM-1"}', "atm_entry",
                                                    slots={LANGUAGE_SLOT: language, "atm_id": "ATM-1"}), domain)

    handoff, atm = dispatcher.messages
    assert in_language(handoff["text"], language) and handoff["custom"]["reference"] in handoff["text"]
    assert in_language(atm["text"], language) and atm["custom"]["atm_id"] == "ATM-1"
    if language == ENGLISH:
        assert "branches usually open on working days" in handoff["text"]


def test_quotes_of_a_traditional_message_stay_as_typed(make_tracker, dispatcher, domain):
    """The NLU pipeline hands the actions Simplified text; the user event keeps the
    customer's own characters, and the reasons quote those."""
    from core.text import normalise

    typed = "我是市公安局刑警，你的銀行卡涉嫌洗錢，馬上把錢轉到安全賬戶，不許告訴家人，否則明天逮捕你"
    tracker = make_tracker(normalise(typed), "scam_impersonate_police",
                           events=[user_event(typed, "scam_impersonate_police")])

    events = run(ActionAssessScam(), dispatcher, tracker, domain)

    message = only_message(dispatcher)
    quotes = [reason["quote"] for reason in message["custom"]["reasons"]]
    assert quotes and all(quote in typed for quote in quotes)
    assert any(quote != normalise(quote) for quote in quotes)  # Traditional characters kept
    assert SlotSet(LANGUAGE_SLOT, TRADITIONAL) in events
    assert in_language(message["text"].replace("".join(quotes), ""), TRADITIONAL)


def test_a_channels_language_hint_answers_a_first_message_without_words(make_tracker, dispatcher, domain):
    entry = '/atm_entry{"atm_id": "ATM-1"}'
    event = {**user_event(entry, "atm_entry"), "metadata": {"language": "en"}}
    tracker = make_tracker(entry, "atm_entry", slots={"atm_id": "ATM-1"}, events=[event])

    events = run(ActionAtmEntry(), dispatcher, tracker, domain)

    assert only_message(dispatcher)["text"].startswith("⚠️ If you are using this ATM")
    assert SlotSet(LANGUAGE_SLOT, ENGLISH) in events
    # A language the conversation already has wins over the hint.
    dispatcher.messages.clear()
    kept = make_tracker(entry, "atm_entry", slots={"atm_id": "ATM-1", LANGUAGE_SLOT: TRADITIONAL}, events=[event])
    run(ActionAtmEntry(), dispatcher, kept, domain)
    assert only_message(dispatcher)["text"].startswith("⚠️ 如果您正在")
