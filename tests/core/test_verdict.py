"""The verdict: the classifier's intent ranking and the reader's flags weighed together
into high / medium / low (or nothing to judge), with a type, quoted reasons and signs."""

import pytest

from core.catalog import SUSPECTED_FRAUD
from core.reader import read_message
from core.settings import Bank
from core.verdict import HIGH, LOW, MEDIUM, MAX_REASONS, judge, top_intent

ICBC = Bank("工商银行", "95588")

BANK_CODE_SMS = "【工商银行】您正在进行手机银行登录，验证码为[验证码]，任何人索要都是诈骗，请勿泄露。"
TAX_REFUND_DONE = "【国家税务总局】您的个人所得税汇算已于4月8日退税成功，退税金额已退至您填报的银行卡，无需您进行任何操作。"
POLICE_SCAM = "对方自称是市公安局的警官，说我涉嫌洗钱，要把存款转到安全账户接受审查，还不准告诉家人，今天必须办完。"
LONG_PASTED = (
    "收到一封邮件：尊敬的供应商您好，我单位年度采购项目已进入结算阶段，感谢贵司长期以来的支持与配合。"
    * 6
    + "根据财务制度，本次结算需贵司先将履约保证金两万元转入我单位对公账户，账户信息请联系财务部王经理获取，"
    "此事请勿向其他人员透露，今天下班前必须完成，逾期视为自动放弃合作资格。"
)


def read(text):
    return read_message(text, ICBC, "icbc.com.cn")


def ranking(*pairs):
    return [{"name": name, "confidence": confidence} for name, confidence in pairs]


def test_a_confident_scam_intent_with_flags_is_high_with_its_type():
    verdict = judge(read(POLICE_SCAM), ranking(("scam_impersonate_police", 0.93)))
    assert (verdict.level, verdict.scam_type) == (HIGH, "impersonate_police")
    flags = [reason.flag for reason in verdict.reasons]
    assert flags[0] == "money_to_account" and "secrecy" in flags
    assert len(verdict.reasons) <= MAX_REASONS
    assert verdict.genuine_signs == ()


def test_the_banks_own_code_sms_called_a_scam_is_not_high():
    verdict = judge(read(BANK_CODE_SMS), ranking(("scam_credential_request", 0.91)))
    assert verdict.level == LOW and verdict.scam_type is None
    assert {"official_sender", "safety_warning"} <= {sign.id for sign in verdict.genuine_signs}
    assert verdict.reasons == ()


def test_a_signature_alone_does_not_make_a_scam_report_low():
    # 【工商银行】 can be forged: with nothing else genuine, a sure scam intent gives medium.
    verdict = judge(read("【工商银行】恭喜您获得本行周年庆幸运客户大奖"), ranking(("scam_prize_lottery", 0.9)))
    assert (verdict.level, verdict.scam_type) == (MEDIUM, "prize_lottery")


def test_a_genuine_notice_is_low_never_safe():
    verdict = judge(read(TAX_REFUND_DONE), ranking(("genuine_notice", 0.88), ("scam_tax_refund", 0.1)))
    assert verdict.level == LOW and verdict.scam_type is None
    assert verdict.genuine_signs


GENUINE_NOTICES = [
    "【建设银行】您尾号1234的储蓄卡12月3日15:20转账支出人民币500.00元，余额10,234.56元。",
    "【中国移动】尊敬的客户，您本月话费账单已出，共计58.00元，将于月底从您的绑定银行卡自动扣款，无需操作。",
    "【平安银行】您的信用卡本期账单1,234.56元，最后还款日12月20日，请按时还款，逾期将影响您的个人征信。",
    "【国家反诈中心】您的手机号近期接听了涉嫌诈骗的电话，请勿向对方转账，如有疑问请拨打96110。",
    "【工商银行】您正在重置登录密码，验证码123456，5分钟内有效，请勿告诉任何人。",
    "【交通银行】您的借记卡将于2027年1月到期，请携带身份证到开户网点领取新卡，我行不会以换卡为由要求您转账或提供验证码。",
    "【支付宝】你有一笔2,000.00元的转账待确认，请在支付宝App内查看，如非本人操作请忽略。",
    "【中国人寿】尊敬的客户，您的保单将于12月15日到期，可通过中国人寿寿险App内续保，或联系您的保险代理人。",
]


@pytest.mark.parametrize("text", GENUINE_NOTICES)
def test_genuine_notices_are_never_high(text):
    reading = read(text)
    assert judge(reading, ranking(("nlu_fallback", 0.8))).level in (LOW, None)
    # Even when the classifier is wrongly sure of a scam, the signs keep it from "high".
    assert judge(reading, ranking(("scam_credential_request", 0.9))).level != HIGH


def test_a_genuine_intent_does_not_hide_clear_red_flags():
    text = "【工商银行】您的网银将于今日失效，请立即登录 www.icbc-vip.top 重新认证并输入验证码，逾期将冻结账户。"
    verdict = judge(read(text), ranking(("genuine_notice", 0.8)))
    assert verdict.level == MEDIUM
    assert "link" in {reason.flag for reason in verdict.reasons}


@pytest.mark.parametrize("intent", ["nlu_fallback", "out_of_scope", "report_vague", "bank_question"])
def test_a_long_message_with_clear_flags_always_gets_a_verdict(intent):
    verdict = judge(read(LONG_PASTED), ranking((intent, 0.6)))
    assert verdict.level in (HIGH, MEDIUM)
    assert verdict.reasons and all(reason.quote for reason in verdict.reasons)


def test_flags_alone_give_high_only_with_a_type():
    verdict = judge(read(POLICE_SCAM), ranking(("nlu_fallback", 0.7)))
    assert (verdict.level, verdict.scam_type) == (HIGH, "impersonate_police")
    no_type = "对方让我把钱转到安全账户，再把验证码告诉他，还不让我告诉家人，今天必须办完。"
    verdict = judge(read(no_type), ranking(("nlu_fallback", 0.7)))
    assert verdict.level in (HIGH, MEDIUM)
    if verdict.level == MEDIUM:
        assert verdict.scam_type == SUSPECTED_FRAUD
    else:
        assert verdict.scam_type not in (None, SUSPECTED_FRAUD)


def test_an_unsure_scam_intent_that_the_flags_back_names_the_type():
    text = "他说是税务局的，让我去ATM机上操作退税，今天是最后一天"
    verdict = judge(read(text), ranking(("scam_tax_refund", 0.35), ("nlu_fallback", 0.3)))
    assert verdict.level in (HIGH, MEDIUM) and verdict.scam_type == "tax_refund"


def test_a_classifier_torn_between_two_scam_types_names_the_first():
    no_type = "对方让我把钱转到安全账户，再把验证码告诉他，还不让我告诉家人，今天必须办完。"
    torn = ranking(("nlu_fallback", 0.45), ("scam_fake_credit_report", 0.43),
                   ("scam_fake_customer_service", 0.42))
    assert judge(read(no_type), torn).scam_type == "fake_credit_report"
    unsure = ranking(("nlu_fallback", 0.7), ("scam_fake_credit_report", 0.2), ("scam_fake_customer_service", 0.1))
    assert judge(read(no_type), unsure).scam_type in (SUSPECTED_FRAUD, "impersonate_police")


def test_credential_request_is_not_named_only_because_an_account_is_mentioned():
    text = "网上认识的男朋友说他在做黄金投资，内部消息稳赚不赔，让我也投一点，说收益很高，带我一起理财赚钱"
    verdict = judge(read(text), ranking(("scam_credential_request", 0.7)))
    assert verdict.level == HIGH and verdict.scam_type == "fake_investment"
    # With a code asked for, the classifier's credential_request stands.
    coded = "网上认识的男朋友说他在做黄金投资，稳赚不赔，让我把验证码发给他帮我开户"
    assert judge(read(coded), ranking(("scam_credential_request", 0.7))).scam_type == "credential_request"


def test_nothing_to_judge():
    for text, intent in [("你好", "greet"), ("我想问问怎么开通手机银行", "bank_question"), ("有人骗我", "report_vague")]:
        verdict = judge(read(text), ranking((intent, 0.9)))
        assert verdict.level is None and verdict.scam_type is None


def test_a_short_bank_question_is_not_a_scam_for_a_transfer_word():
    verdict = judge(read("我要转账给我妈，手机银行怎么操作"), ranking(("bank_question", 0.9)))
    assert verdict.level is None
    # The same intent on a pasted message with clear flags still gets a verdict.
    assert judge(read(LONG_PASTED), ranking(("bank_question", 0.9))).level in (HIGH, MEDIUM)


def test_money_lost_keeps_its_own_answer():
    verdict = judge(read(POLICE_SCAM + "我已经转了五万了"), ranking(("money_lost", 0.9)))
    assert verdict.level is None


@pytest.mark.parametrize(
    "text, intent",
    [
        ("12366是税务局的电话吗", "scam_tax_refund"),
        ("一个手机号13812345678说是税务局的，可信吗", "verify_number"),
        ("有个+00开头的号码说自己是公安局的", "scam_impersonate_police"),
    ],
)
def test_a_number_question_comes_first(text, intent):
    verdict = judge(read(text), ranking((intent, 0.9)))
    assert verdict.number_question is not None
    assert verdict.level is None


def test_a_number_question_with_a_scam_story_is_also_judged():
    text = "0085212345678打来说我涉嫌洗钱，要我把钱转到安全账户，这个号码是公安的吗"
    verdict = judge(read(text), ranking(("verify_number", 0.6), ("scam_impersonate_police", 0.3)))
    assert verdict.number_question.number == "0085212345678"
    assert verdict.level in (HIGH, MEDIUM) and verdict.scam_type == "impersonate_police"


def test_payload_reasons():
    verdict = judge(read(POLICE_SCAM), ranking(("scam_impersonate_police", 0.9)))
    payload = verdict.payload_reasons()
    assert payload and set(payload[0]) == {"flag", "quote"}
    assert all(entry["quote"] in POLICE_SCAM for entry in payload)


def test_an_impersonation_alone_is_not_a_reason():
    verdict = judge(read("我是工商银行的客服，想回访一下您的使用体验"), ranking(("nlu_fallback", 0.5)))
    assert verdict.level is None and verdict.reasons == ()


def test_top_intent():
    assert top_intent(None) == ("", 0.0)
    assert top_intent([]) == ("", 0.0)
    assert top_intent(ranking(("greet", 0.7), ("goodbye", 0.2))) == ("greet", 0.7)
