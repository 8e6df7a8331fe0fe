"""Issue 4 over HTTP: clarifying questions, interruptions, follow-ups, checks, handoff."""

import sqlite3

from tests.e2e.test_reply_contract import BANK, _assert_only_listed_numbers, _split


def payloads(messages):
    return _split(messages)[1]


def test_vague_story_three_questions_one_skipped_then_assessment(assistant):
    sender = "form-happy"
    first = assistant.say(sender, "刚才接了个奇怪的电话，我有点怕")
    assert "对方说自己是哪里的" in first[0]["text"]
    second = assistant.say(sender, "他说他是派出所的")  # free text, not a button
    assert "对方让您做什么" in second[0]["text"]
    third = assistant.say(sender, "不知道")  # skipped
    assert "已经给出去了吗" in third[0]["text"]
    final = assistant.say(sender, "还没有")

    payload = payloads(final)[0]
    assert payload["type"] == "scam_assessment"
    assert payload["scam_type"] == "impersonate_police"
    assert payload["risk"] == "high"
    _assert_only_listed_numbers(final)

    # The conversation remembers the type for follow-ups.
    why = assistant.say(sender, "为什么说是诈骗")
    assert "冒充公检法诈骗" in why[0]["text"]
    verify = assistant.say(sender, "我怎么核实")
    assert "110" in verify[0]["text"] or "96110" in verify[0]["text"]
    case = assistant.say(sender, "有没有真实案例")
    assert "真实案例" in case[0]["text"]


def test_buttons_alone_give_suspected_fraud_when_nothing_fits(assistant):
    sender = "form-buttons"
    assistant.say(sender, "收到一条短信不知道真假")
    assistant.say(sender, "其他")
    assistant.say(sender, "点链接填信息")
    final = assistant.say(sender, "还没有")

    payload = payloads(final)[0]
    assert payload["type"] == "scam_assessment"
    assert payload["scam_type"] == "suspected_fraud"
    assert payload["risk"] in ("medium", "high")


def test_money_gone_interrupts_the_questions(assistant):
    sender = "form-interrupted"
    assistant.say(sender, "有人给我打电话，说不清怎么回事")
    assistant.say(sender, "税务")
    interrupted = assistant.say(sender, "我已经转了五万")

    payload = payloads(interrupted)[0]
    assert payload["type"] == "emergency"
    assert payload["hotlines"][0] == "110" and BANK.hotline in payload["hotlines"]
    # The form is over: the next message is understood on its own.
    after = assistant.say(sender, "12366是真的吗")
    assert payloads(after)[0]["type"] == "number_check"


def test_code_given_away_says_change_password_first(assistant):
    messages = assistant.say("code-given", "验证码已经告诉他了")
    payload = payloads(messages)[0]
    assert payload["type"] == "emergency"
    assert "密码" in payload["steps"][0]


def test_unofficial_number_is_flagged_and_not_repeated(assistant):
    messages = assistant.say("number-bad", "0095588打来的电话，是真的吗")
    payload = payloads(messages)[0]
    assert payload["type"] == "number_check" and payload["official"] is False
    assert "0095588" not in messages[0]["text"]
    _assert_only_listed_numbers(messages)


def test_link_check_over_http(assistant):
    messages = assistant.say("link", "这个链接能点吗 http://chinatax-gov.cn.example.com/tui")
    payload = payloads(messages)[0]
    assert payload["type"] == "link_check"
    assert payload["official"] is False and payload["risk"] == "high"


def test_handoff_is_recorded_with_the_conversation(assistant):
    sender = "handoff-after-assessment"
    assistant.say(sender, "税务局说退税")
    messages = assistant.say(sender, "转人工")

    payload = payloads(messages)[0]
    assert payload["type"] == "handoff"
    assert payload["reference"] in messages[0]["text"]
    with sqlite3.connect(assistant.tracker_db) as db:
        row = db.execute(
            "SELECT conversation_id, scam_type, risk FROM handoff_requests WHERE reference = ?",
            (payload["reference"],),
        ).fetchone()
    assert row == (sender, "tax_refund", "high")


def test_atm_entry_first_then_the_atm_reaches_the_handoff_record(assistant):
    sender = "atm-qr"
    messages = assistant.say(sender, '/atm_entry{"atm_id": "ATM-0042"}')
    text = messages[0]["text"]
    assert "停止操作" in text.split("\n")[0]
    assert payloads(messages)[0] == {
        "type": "atm_alert", "atm_id": "ATM-0042", "hotlines": ["110", "96110", BANK.hotline]}

    reference = payloads(assistant.say(sender, "/human_handoff"))[0]["reference"]
    with sqlite3.connect(assistant.tracker_db) as db:
        atm = db.execute("SELECT atm_id FROM handoff_requests WHERE reference = ?", (reference,)).fetchone()
    assert atm == ("ATM-0042",)


def test_share_warning_is_forwardable(assistant):
    sender = "share"
    assistant.say(sender, "公安说我涉嫌洗钱要转到安全账户")
    messages = assistant.say(sender, "帮我写段话发给家里人提个醒")
    payload = payloads(messages)[0]
    assert payload["type"] == "share_text"
    assert "冒充公检法" in payload["text"]
