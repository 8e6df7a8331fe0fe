"""The three levels of a verdict over HTTP, with the reasons quoted from the message
(issue: read what customers really send). The real Rasa server and action server."""

import pytest

from core.directory import official_directory
from core.numbers import unlisted_numbers
from core.settings import settings

BANK_CODE_SMS = "【工商银行】您正在进行手机银行登录，验证码为[验证码]，5分钟内有效，任何人索要都是诈骗。这是真的吗"
LONG_SCAM = (
    "帮我看看这条：【京东客服中心】尊敬的用户，您好！您在我平台开通的“京东金条百万保障”学生会员服务"
    "将于今日24时起每月自动扣费八百元，如需关闭，请添加专员QQ并下载“云会议”APP，开启屏幕共享，"
    "按专员指导操作，在备用金页面把额度转到指定账户完成注销验证，注销后资金原路退回。"
    "逾期未办理将影响您的征信，请勿告知他人，以免影响注销进度。"
)
SHORT_STORY = "公安说我涉嫌洗钱要转到安全账户"
AGENCY_NUMBER = "12366是税务局的电话吗"


def payload(messages, kind="scam_assessment"):
    (found,) = [m["custom"] for m in messages if (m.get("custom") or {}).get("type") == kind]
    return found


def test_a_genuine_notice_is_low_with_why_and_never_called_safe(assistant):
    messages = assistant.say("verdict-low", BANK_CODE_SMS)
    card = payload(messages)
    assert card["risk"] == "low" and card["scam_type"] is None and card["reasons"] == []
    assert {sign["sign"] for sign in card["genuine_signs"]} >= {"official_sender"}
    text = "\n".join(m.get("text") or "" for m in messages)
    assert "看起来像正常的通知" in text and "官方App" in text
    assert "诈骗！" not in text and "安全" not in text.replace("安全账户", "")


def test_a_long_pasted_scam_is_named_with_the_words_that_give_it_away(assistant):
    messages = assistant.say("verdict-long", LONG_SCAM)
    card = payload(messages)
    assert card["risk"] in ("high", "medium")
    assert card["scam_type"] in ("fake_customer_service", "fake_credit_report", "credential_request")
    flags = {reason["flag"] for reason in card["reasons"]}
    assert flags & {"remote_control", "money_to_account", "account_cancellation"}
    for reason in card["reasons"]:
        assert reason["quote"] and reason["quote"].replace("×", "") and len(reason["quote"]) <= 40
        # The quote is the customer's own words (digits of unknown numbers masked).
        assert reason["quote"].replace("×", "")[:4] in LONG_SCAM.replace(",", "，")
    text = "\n".join(m.get("text") or "" for m in messages)
    assert "没太明白" not in text and card["reasons"][0]["quote"] in text


def test_a_short_story_is_high_with_its_type(assistant):
    card = payload(assistant.say("verdict-high", SHORT_STORY))
    assert (card["risk"], card["scam_type"]) == ("high", "impersonate_police")
    assert "money_to_account" in {reason["flag"] for reason in card["reasons"]}


def test_a_number_question_naming_an_agency_gets_the_number_check(assistant):
    messages = assistant.say("verdict-number", AGENCY_NUMBER)
    check = payload(messages, "number_check")
    assert check["official"] is True and check["number"] == "12366"
    assert not [m for m in messages if (m.get("custom") or {}).get("type") == "scam_assessment"]


@pytest.mark.parametrize("text", [BANK_CODE_SMS, LONG_SCAM, SHORT_STORY, AGENCY_NUMBER])
def test_every_level_says_only_official_numbers(assistant, text):
    directory = official_directory(settings().bank)
    for message in assistant.say(f"verdict-numbers-{len(text)}", text):
        assert unlisted_numbers(message.get("text") or "", directory) == []
