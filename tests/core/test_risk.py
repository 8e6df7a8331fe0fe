"""The risk rules: a scam type's own risk raised by a red-flag signal, and the clarifying
form's answers judged by the rules in risk_rules.yml."""

import copy

import pytest
import yaml

from core.catalog import RISK_LEVELS, load_catalog
from core.directory import official_directory
from core.numbers import unlisted_numbers
from core.risk import (
    QUESTIONS,
    RISK_RULES_FILE,
    SKIP,
    assess_answers,
    find_signals,
    load_english_risk_rules,
    load_risk_rules,
    match_option,
    parse_risk_rules,
    score_risk,
)
from core.settings import Bank

SIGNALS = load_catalog().risk_signals


@pytest.mark.parametrize("base", RISK_LEVELS)
@pytest.mark.parametrize("message", ["有人给我打电话", "", None])
def test_base_risk_kept_without_signal(base, message):
    assert score_risk(base, message, SIGNALS) == base


@pytest.mark.parametrize("signal", SIGNALS)
@pytest.mark.parametrize("base", ["low", "medium"])
def test_each_signal_raises_to_high(signal, base):
    assert score_risk(base, f"对方说{signal}就行", SIGNALS) == "high"


@pytest.mark.parametrize("message", ["让我去atm机", "去Atm上操作", "ATM"])
def test_atm_matched_case_insensitively(message):
    assert score_risk("medium", message, SIGNALS) == "high"


def test_lower_case_signal_list_still_matches_upper_case_message():
    assert score_risk("low", "先把U盾插上", ["u盾"]) == "high"


@pytest.mark.parametrize("base", ["HIGH", "critical", "", None])
def test_invalid_base_risk_raises(base):
    with pytest.raises(ValueError):
        score_risk(base, "转账", SIGNALS)


# --- the clarifying form: answers + signals -> risk, reasons, scam type -------------

CATALOG = load_catalog()
RULES = load_risk_rules()
RAW_RULES = yaml.safe_load(RISK_RULES_FILE.read_text(encoding="utf-8"))


def answers(identity=None, action=None, money_gone=None):
    return {"claimed_identity": identity, "requested_action": action, "money_gone": money_gone}


# answers, customer text, entity names, expected risk, expected scam type
FORM_CASES = [
    (answers("公检法", "转账汇款"), "", (), "high", "impersonate_police"),
    (answers("公检法"), "说我涉嫌洗钱", (), "high", "impersonate_police"),
    (answers("税务", "在ATM或手机上按指示操作"), "", (), "high", "tax_refund"),
    (answers("社保医保"), "说有养老金", (), "high", "impersonate_social_security"),
    (answers("银行或平台客服", "告诉验证码或密码"), "", (), "high", "credential_request"),
    (answers("银行或平台客服", "下载APP或共享屏幕"), "", (), "high", "credential_request"),
    (answers("银行或平台客服"), "说我征信有问题", (), "high", "fake_credit_report"),
    (answers("银行或平台客服", "先交保证金手续费"), "说无抵押贷款", (), "high", "fake_loan"),
    (answers("银行或平台客服"), "说信用卡欠费要停用", (), "high", "arrears_notice"),
    (answers("银行或平台客服", "转账汇款"), "", (), "high", "fake_customer_service"),
    (answers("快递电商", "下载APP或共享屏幕"), "说包裹丢了要理赔", (), "high", "fake_customer_service"),
    (answers("亲友或领导", "转账汇款"), "", (), "high", "impersonate_acquaintance"),
    (answers("亲友或领导"), "说我儿子出车祸住院了", (), "high", "relative_emergency"),
    (answers("网上认识的人"), "带我投资虚拟币", ("url",), "high", "fake_investment"),
    (answers("网上认识的人"), "网恋对象让我去平台投资", (), "high", "romance_scam"),
    (answers("网上认识的人"), "让我刷单", (), "high", "task_rebate"),
    (answers("其他"), "说我中奖了要交手续费", (), "high", "prize_lottery"),
    (answers(SKIP), "卖游戏装备的", (), "medium", "game_trade"),
    (answers(), "低价代购，付了钱不发货", (), "medium", "fake_shopping"),  # the catalog's own risk
    (answers(), "打电话说给我退税", (), "high", "tax_refund"),
    (answers(), "让我把钱转到安全账户", (), "high", "impersonate_police"),
    (answers(action="告诉验证码或密码"), "", (), "high", "credential_request"),
    # no type fits: the reply is suspected_fraud, the risk from the rules alone
    (answers("其他", "转账汇款"), "", (), "high", None),
    (answers(), "对方让我去ATM，电话不要挂", (), "high", None),
    (answers("其他", "其他", False), "", ("url",), "medium", None),
    (answers("其他", "其他", False), "", ("phone_number",), "low", None),
    (answers(SKIP, SKIP, SKIP), "", (), "low", None),
    ({}, "", (), "low", None),
    (answers(money_gone=True), "", (), "high", None),
]


@pytest.mark.parametrize("given, text, entities, risk, scam_type", FORM_CASES)
def test_assess_answers(given, text, entities, risk, scam_type):
    assessment = assess_answers(given, text, entities)
    assert (assessment.risk, assessment.scam_type) == (risk, scam_type)
    assert assessment.risk == "low" or assessment.reasons or assessment.scam_type


@pytest.mark.parametrize(
    "given, text",
    [
        (answers(action="转账汇款"), ""),
        (answers(action="告诉验证码或密码"), ""),
        (answers(action="下载APP或共享屏幕"), ""),
        (answers(action="在ATM或手机上按指示操作"), ""),
        (answers(action="先交保证金手续费"), ""),
        (answers(action="点链接填信息"), ""),
        (answers(money_gone=True), ""),
        (answers(), "对方说要把钱转到安全账户"),
        (answers(), "让我告诉他验证码"),
        (answers(), "让我开共享屏幕"),
        (answers(), "让我去ATM上操作"),
        (answers(), "电话一直不要挂，按他说的做"),
    ],
)
def test_red_flags_are_high_with_a_reason(given, text):
    assessment = assess_answers(given, text)
    assert assessment.risk == "high"
    assert assessment.reasons


@pytest.mark.parametrize("signal", SIGNALS)
def test_every_catalog_risk_signal_is_high_here_too(signal):
    # The form path never rates a message lower than score_risk does.
    assert assess_answers({}, f"对方说{signal}就行").risk == "high"


def test_reasons_follow_rule_order_without_repeats():
    assessment = assess_answers(answers("公检法", "告诉验证码或密码"), "验证码和密码都要")
    reasons = [rule.reason for rule in RULES.risk_rules]
    positions = [reasons.index(reason) for reason in assessment.reasons]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)


def test_signals_are_reported_in_file_order():
    assert find_signals("ＡＴＭ上按他说的转账") == ("atm", "on_call_steering", "transfer")
    assert assess_answers({}, "atm").signals == ("atm",)


def test_type_risk_from_catalog_is_a_floor():
    # game_trade is medium in the catalog; an upfront fee raises it.
    assert assess_answers({}, "游戏装备").risk == CATALOG.scam_types["game_trade"].risk == "medium"
    assert assess_answers({}, "游戏装备要先交保证金").risk == "high"


@pytest.mark.parametrize(
    "given",
    [
        {"claimed_identity": "警察"},  # a synonym, not an option
        {"requested_action": "转账"},
        {"money_gone": "true"},
        {"money_gone": 1},
        {"claimed_identity": True},
        {"who": "公检法"},
    ],
)
def test_invalid_answers_are_refused(given):
    with pytest.raises(ValueError):
        assess_answers(given)


# --- free-text answers to form options --------------------------------------------


@pytest.mark.parametrize(
    "question, text, expected",
    [
        ("claimed_identity", "公检法", "公检法"),
        ("claimed_identity", "警察", "公检法"),
        ("claimed_identity", "说是公安局的", "公检法"),
        ("claimed_identity", "检察院", "公检法"),
        ("claimed_identity", "好像是法院", "公检法"),
        ("claimed_identity", "不知道，说是公安", "公检法"),  # an option beats a skip word
        ("claimed_identity", "税务局的", "税务"),
        ("claimed_identity", "社保中心", "社保医保"),
        ("claimed_identity", "医保局", "社保医保"),
        ("claimed_identity", "银行客服", "银行或平台客服"),
        ("claimed_identity", "支付宝的", "银行或平台客服"),
        ("claimed_identity", "京东的客服", "快递电商"),  # equal length: the option listed first
        ("claimed_identity", "快递员", "快递电商"),
        ("claimed_identity", "我们领导", "亲友或领导"),
        ("claimed_identity", "说是我儿子", "亲友或领导"),
        ("claimed_identity", "网上认识的朋友", "网上认识的人"),  # the longer word wins
        ("claimed_identity", "炒股老师", "网上认识的人"),
        ("claimed_identity", "都不是", "其他"),
        ("claimed_identity", "不知道", SKIP),
        ("claimed_identity", "不清楚", SKIP),
        ("claimed_identity", "跳过", SKIP),
        ("claimed_identity", "今天天气不错", None),
        ("claimed_identity", "", None),
        ("claimed_identity", None, None),
        ("requested_action", "让我转钱", "转账汇款"),
        ("requested_action", "汇款", "转账汇款"),
        ("requested_action", "让我转到安全账户", "转账汇款"),
        ("requested_action", "要验证码", "告诉验证码或密码"),
        ("requested_action", "问我密码", "告诉验证码或密码"),
        ("requested_action", "让我去ATM", "在ATM或手机上按指示操作"),
        ("requested_action", "让我去atm", "在ATM或手机上按指示操作"),
        ("requested_action", "下载一个APP", "下载APP或共享屏幕"),
        ("requested_action", "开共享屏幕", "下载APP或共享屏幕"),
        ("requested_action", "先交保证金", "先交保证金手续费"),
        ("requested_action", "发了个链接让我填", "点链接填信息"),
        ("requested_action", "不清楚", SKIP),
        ("money_gone", "还没", False),
        ("money_gone", "还没转", False),
        ("money_gone", "没有", False),
        ("money_gone", "没有转", False),
        ("money_gone", "不是的", False),
        ("money_gone", "转了", True),
        ("money_gone", "已经汇了", True),
        ("money_gone", "转了两万", True),
        ("money_gone", "钱没有了", True),  # 没有 inside a longer word does not count
        ("money_gone", "不知道转没转", SKIP),
        ("money_gone", "不记得了", SKIP),
        ("money_gone", "嗯嗯", None),
    ],
)
def test_match_option(question, text, expected):
    assert match_option(question, text) == expected
    assert type(match_option(question, text)) is type(expected)


def test_match_option_refuses_an_unknown_question():
    with pytest.raises(ValueError):
        match_option("who", "警察")


@pytest.mark.parametrize("question", QUESTIONS)
def test_every_option_name_matches_itself(question):
    for option in RULES.options[question]:
        if isinstance(option, str):
            assert match_option(question, option) == option


def test_matched_options_are_valid_answers():
    for question in QUESTIONS:
        for words in RULES.options[question].values():
            for word in words:
                assess_answers({question: match_option(question, word)})


# --- the data ---------------------------------------------------------------------


def test_rule_scam_types_are_the_catalogs():
    returned = {rule.scam_type for rule in RULES.scam_type_rules}
    assert returned == set(CATALOG.scam_types)  # each exists, and each can be returned


def test_rule_entities_are_domain_entities(domain):
    assert set(RULES.entities) <= set(domain["entities"])


def test_reasons_say_no_unlisted_number():
    for bank in (Bank("工商银行", "95588"), Bank("建设银行", "95533")):
        directory = official_directory(bank)
        for rule in RULES.risk_rules:
            assert unlisted_numbers(rule.reason, directory) == [], rule.reason


def test_options_are_the_forms():
    assert list(RULES.options["claimed_identity"]) == [
        "公检法", "税务", "社保医保", "快递电商", "银行或平台客服", "亲友或领导", "网上认识的人", "其他",
    ]
    assert set(RULES.options["requested_action"]) == {
        "转账汇款", "告诉验证码或密码", "在ATM或手机上按指示操作", "下载APP或共享屏幕",
        "先交保证金手续费", "点链接填信息", "其他",
    }
    assert set(RULES.options["money_gone"]) == {True, False}


def _broken(edit):
    raw = copy.deepcopy(RAW_RULES)
    edit(raw)
    return raw


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda raw: raw["risk_rules"][0]["when"].append({"claimed_identity": "警察"}), "unknown claimed_identity"),
        (lambda raw: raw["risk_rules"][0]["when"].append({"requested_action": "转账"}), "unknown requested_action"),
        (lambda raw: raw["risk_rules"][0]["when"].append({"signal": "no_such_signal"}), "unknown signal"),
        (lambda raw: raw["risk_rules"][0]["when"].append({"entity": "card_number"}), "unknown entity"),
        (lambda raw: raw["risk_rules"][0]["when"].append({"mood": "angry"}), "unknown condition key"),
        (lambda raw: raw["risk_rules"][0]["when"].append({}), "non-empty mapping"),
        (lambda raw: raw["risk_rules"][0].update(when=[]), "non-empty list"),
        (lambda raw: raw["risk_rules"][0].update(risk="critical"), "risk must be one of"),
        (lambda raw: raw["risk_rules"][0].update(reason=" "), "empty reason"),
        (lambda raw: raw["risk_rules"][0].update(note="x"), "exactly the keys"),
        (lambda raw: raw["scam_type_rules"][0].update(type="suspected_fraud"), "not a catalog scam type"),
        (lambda raw: raw["scam_type_rules"][0]["when"][0].update(claimed_identity="公安"), "unknown claimed_identity"),
        (lambda raw: raw["questions"].pop("money_gone"), "questions must be exactly"),
        (lambda raw: raw["questions"].update(mood={"好": ["好"]}), "questions must be exactly"),
        (lambda raw: raw["questions"]["money_gone"].pop(False), "true and false"),
        (lambda raw: raw["questions"]["claimed_identity"]["税务"].append("警察"), "mean two answers"),
        (lambda raw: raw["skip_words"].append("还没"), "mean two answers"),
        (lambda raw: raw["signals"].update(empty=[]), "non-empty list of words"),
    ],
)
def test_inconsistent_rules_are_refused(edit, message):
    with pytest.raises(ValueError, match=message):
        parse_risk_rules(_broken(edit), CATALOG.scam_types)


def test_the_rules_file_parses():
    # risk_rules.en.yml adds English words to the options, skip words and signals.
    assert parse_risk_rules(RAW_RULES, CATALOG.scam_types, load_english_risk_rules()) == RULES
