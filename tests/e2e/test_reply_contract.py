"""The reply contract over HTTP, for each of the 16 scam types and the other turns."""

import pytest

from core.catalog import load_catalog
from core.directory import official_directory, resolve_hotlines
from core.numbers import unlisted_numbers
from core.settings import settings

BANK = settings().bank
DIRECTORY = official_directory(BANK)
NEXT_STEPS = ["我已经转账了", "核实一个电话号码", "转人工"]

# Customer messages written for this test, not taken from the training data.
FIRST_MESSAGES = {
    "tax_refund": "税务局说退税",
    "impersonate_police": "公安说我涉嫌洗钱要转到安全账户",
    "impersonate_social_security": "社保局的人打电话说我养老金账户异常，要我去银行操作",
    "credential_request": "有人冒充银行的说我网银要升级，让我把短信验证码发给他",
    "prize_lottery": "短信说我被节目组抽中二等奖，要先交个人所得税才能领奖",
    "arrears_notice": "电话里说我手机欠费三千多马上停机，按九转人工处理",
    "relative_emergency": "有人打电话说我孙子出车祸在医院抢救，让我赶紧打手术费",
    "task_rebate": "网上有人拉我做刷单任务，说做完马上返佣金",
    "fake_investment": "炒股群里的老师说跟着他买一个内部平台，稳赚不赔收益翻倍",
    "fake_loan": "一个贷款APP说我能贷二十万，但要先交保证金才放款",
    "fake_customer_service": "自称快递客服说我的包裹丢了，要给我理赔，让我加他微信",
    "fake_credit_report": "对方说我大学时开过校园贷，不注销就会影响征信",
    "impersonate_acquaintance": "微信上我们领导加我，说他不方便，让我先帮他给别人转一笔钱",
    "romance_scam": "网上认识的男朋友一直没见过面，现在说家里有急事找我借钱",
    "game_trade": "有人要高价买我的游戏账号，让我到他给的交易网站上操作",
    "fake_shopping": "朋友圈有人卖很便宜的名牌包，让我微信私下付款",
    "fake_job": "网上招打字员，说录用了，上岗前要先交八百块培训费和押金",
    "fake_procurement": "有个自称部队司务长的来店里订了一大批货，让我先从他指定的厂家垫钱买一批特供酒",
    "sextortion": "网上认识的女的跟我裸聊了，现在说不给钱就把视频发给我通讯录里的人",
}


def _split(messages):
    texts = [m for m in messages if "text" in m]
    customs = [m["custom"] for m in messages if "custom" in m]
    return texts, customs


def _assert_only_listed_numbers(messages):
    for message in messages:
        assert not unlisted_numbers(message.get("text", ""), DIRECTORY), message


def test_every_catalog_type_has_a_first_message():
    assert set(FIRST_MESSAGES) == set(load_catalog().scam_types)


@pytest.mark.parametrize("scam_id", sorted(FIRST_MESSAGES))
def test_assessment_reply_contract(assistant, scam_id):
    messages = assistant.say(f"contract-{scam_id}", FIRST_MESSAGES[scam_id])
    texts, customs = _split(messages)

    assert len(customs) == 1, messages
    payload = customs[0]
    expected_hotlines = resolve_hotlines(load_catalog().scam_types[scam_id].hotlines, BANK)
    assert payload["type"] == "scam_assessment"
    assert payload["scam_type"] == scam_id
    assert payload["risk"] in ("high", "medium", "low")
    assert payload["hotlines"] == expected_hotlines

    text = texts[0]["text"]
    assert text.startswith("⚠️"), text  # the verdict comes first
    assert "1. " in text and "2. " in text
    assert text.index("1. ") < text.index(f"📞 {expected_hotlines[0]}")
    assert [b["title"] for b in texts[0]["buttons"]] == NEXT_STEPS
    _assert_only_listed_numbers(messages)


@pytest.mark.parametrize(
    "message, expected_words",
    [
        ("你好", ["反诈助手"]),
        ("我想查一下卡里还有多少钱", [BANK.hotline]),
        ("今天天气怎么样", ["帮不上忙"]),
        ("谢谢你", ["不客气"]),
    ],
)
def test_small_talk_and_bank_questions_get_no_assessment(assistant, message, expected_words):
    messages = assistant.say("smalltalk", message)
    texts, customs = _split(messages)
    assert customs == []
    assert texts and all(word in texts[0]["text"] for word in expected_words), messages
    _assert_only_listed_numbers(messages)


def test_vague_story_gets_one_question_and_no_guess(assistant):
    messages = assistant.say("vague", "刚才接了个奇怪的电话")
    texts, customs = _split(messages)
    assert customs == []
    assert len(texts) == 1
    assert "对方说自己是哪里的" in texts[0]["text"]
    assert texts[0]["text"].count("？") == 1
    assert "不知道" in [b["title"] for b in texts[0]["buttons"]]


def test_money_already_gone(assistant):
    messages = assistant.say("lost", "我已经转了五万给他")
    texts, customs = _split(messages)
    assert customs[0]["type"] == "emergency"
    assert customs[0]["hotlines"][0] == "110"
    assert BANK.hotline in customs[0]["hotlines"]
    assert texts[0]["text"].index("110") < texts[0]["text"].index("保留")
    _assert_only_listed_numbers(messages)


def test_number_check_button_then_number(assistant):
    assistant.say("number", "税务局打电话说给我退税")  # a verdict offers the button
    asked = assistant.say("number", "/verify_number")
    assert "号码" in asked[0]["text"] and not _split(asked)[1]
    messages = assistant.say("number", "12366是真的吗")
    payload = _split(messages)[1][0]
    assert payload == {
        "type": "number_check",
        "number": "12366",
        "official": True,
        "owner": DIRECTORY["12366"].owner,
        "patterns": ["caller_id_spoofable"],
    }
    _assert_only_listed_numbers(messages)


def test_pasted_long_sms_is_classified(assistant):
    sms = (
        "【国家税务总局】尊敬的车主您好，根据最新政策，您名下车辆的购置税可申请退还，"
        "退税款将直接打入您的银行卡。请于今日内携带银行卡前往附近ATM，"
        "按工作人员电话指引输入税务识别码完成确认，逾期视为自动放弃。"
    ) * 12
    assert 1000 < len(sms) <= 2000
    payload = _split(assistant.say("sms", sms))[1][0]
    assert payload["scam_type"] == "tax_refund"
