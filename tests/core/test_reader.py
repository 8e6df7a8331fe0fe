"""The reader: red flags with the customer's own words, warnings that are not requests,
the signs of a genuine notice, number questions, long messages, and its speed."""

import re
import time

import pytest
import yaml

from core.directory import official_directory
from core.numbers import unlisted_numbers
from core.reader import (
    GENUINE_SIGNS_FILE,
    MAX_QUOTE,
    RED_FLAGS_FILE,
    SIGN_IDS,
    STRONG,
    load_rules,
    number_question,
    read_message,
)
from core.settings import Bank

ICBC = Bank("工商银行", "95588")
DIRECTORY = official_directory(ICBC)
# The request flags: what a warning ("请勿…", "不会要求…") must never fire.
REQUESTS = {"money_to_account", "upfront_fee", "code_or_password", "remote_control", "guided_operation", "personal_info"}


def read(text):
    return read_message(text, ICBC, "icbc.com.cn")


def flag_ids(text):
    return {flag.id for flag in read(text).flags}


# --- each flag, with its quote ---------------------------------------------------


@pytest.mark.parametrize(
    "text, flag, quote",
    [
        ("他说是公安局的，让我把钱转到安全账户配合调查", "money_to_account", "让我把钱转到安全账户配合调查"),
        ("房东发微信说：我换了收款账户，这个月房租打到下面这张卡", "money_to_account", "我换了收款账户"),
        ("对方说贷款已经批了，但要先交三千块保证金才能放款", "upfront_fee", "但要先交三千块保证金才能放款"),
        ("领导说这批货让我们先垫付，回头一起结账", "upfront_fee", "领导说这批货让我们先垫付"),
        ("客服说退款要核实身份，让我把收到的验证码告诉他", "code_or_password", "让我把收到的验证码告诉他"),
        ("对方让我下载腾讯会议，开启屏幕共享，说要指导我操作", "remote_control", "开启屏幕共享"),
        ("他让我扫码下载一个APP，输入邀请码8866才能注册", "remote_control", "他让我扫码下载一个APP"),
        ("警官说案件涉密，不要告诉家人，也不要告诉银行工作人员", "secrecy", "不要告诉家人"),
        ("今天是最后一天，逾期就作废了", "deadline", "今天是最后一天"),
        ("你涉嫌一起洗钱案，马上会对你进行逮捕", "threat", "你涉嫌一起洗钱案"),
        ("视频我已经录下来了，不给钱就发给你通讯录里的所有人", "threat", "不给钱就发给你通讯录里的所有人"),
        ("【工商银行】您的账户异常，请登录 icbc-95588.com.xyz 验证身份", "link", "请登录 [链接] 验证身份"),
        ("爸，我换号了，这是我新号，你存一下", "new_contact", "我换号了"),
        ("您的包裹丢失，请联系理赔专员170xxxx6610办理", "unofficial_number", "请联系理赔专员×××xxxx××××办理"),
        ("客服让我添加他的企业微信办理退款", "private_contact", "客服让我添加他的企业微信办理退款"),
        ("对方让我去超市买京东卡，把卡密拍给他", "unusual_payment", "对方让我去超市买京东卡"),
        ("他让我到了ATM再给他打电话，按他说的操作", "guided_operation", "他让我到了ATM再给他打电话"),
        ("导师带单，稳赚不赔，收益翻倍", "high_return", "导师带单"),
        ("兼职刷单，做任务返佣金，先垫付后返", "task_rebate", "兼职刷单"),
        ("男朋友让我拍一下身份证正反面发给他", "personal_info", "男朋友让我拍一下身份证正反面发给他"),
        ("高薪急招，去柬埔寨做客服，月薪两万包吃住", "overseas_job", "去柬埔寨做客服，月薪两万包吃住"),
        ("客服说我的学生账户没有注销，会影响征信", "account_cancellation", "客服说我的学生账户没有注销"),
        ("他们说有内部渠道，能帮我删除逾期记录，收费两千", "credit_repair", "能帮我删除逾期记录"),
    ],
)
def test_each_flag_is_found_with_its_quote(text, flag, quote):
    found = {f.id: f for f in read(text).flags}
    assert flag in found, found
    assert found[flag].quote == quote


def test_impersonation_is_found_but_counts_only_beside_another_flag():
    alone = read("我是工商银行的客服，想回访一下您的使用体验")
    assert [f.id for f in alone.flags] == ["impersonation"]
    assert alone.flag("impersonation").detail == "bank"
    assert alone.score == 0
    with_request = read("我是公安局的民警，你的账户涉嫌洗钱")
    assert with_request.flag("impersonation").detail == "police"
    assert with_request.score == with_request.flag("threat").weight + 1


def test_each_flag_in_the_rules_has_a_label_and_a_weight():
    rules = load_rules()
    for flag in rules.flags.values():
        assert flag.label and 1 <= flag.weight <= STRONG
        # A label is said to the customer: no phone numbers, no amounts.
        assert not re.search(r"\d", flag.label), flag.id


def test_quotes_are_the_customers_words_and_short():
    text = "對方自稱是檢察院的，說我涉嫌洗錢，讓我把存款轉到安全帳戶，並且不准告訴家人。"
    reading = read(text)
    assert {"money_to_account", "secrecy", "threat", "impersonation"} <= {f.id for f in reading.flags}
    for flag in reading.flags:
        assert len(flag.quote) <= MAX_QUOTE
        # Traditional stays Traditional: the quote is the original, not the normalised text.
        assert flag.quote in text, flag.quote
        assert text[flag.start:flag.end].strip("，。").find(flag.quote) >= 0


def test_quotes_never_carry_an_unofficial_number_or_a_link():
    text = (
        "【顺丰速运】您的快件破损，按保价规则可获赔偿，请添加理赔专员微信办理，或拨打17012345678，"
        "也可点击 http://sf-lipei.top/q 填写银行卡号和验证码，先交保证金500元，如有疑问致电95588"
    )
    for flag in read(text).flags:
        assert unlisted_numbers(flag.quote, DIRECTORY) == [], flag
        assert "http" not in flag.quote and "sf-lipei" not in flag.quote


@pytest.mark.parametrize(
    "text",
    [
        "【铁路12306】您的车票已出票，请按时乘车，如有疑问请拨打12306。",
        "【顺丰速运】您的快件已由本人签收，如有疑问请致电95338，也可通过顺丰App查询。",
        "【工商银行】您尾号6612的卡支出3000.00元，如非本人操作请致电95588。",
    ],
)
def test_signs_never_carry_an_unofficial_number(text):
    for sign in read(text).signs:
        assert unlisted_numbers(sign.label + sign.quote, DIRECTORY) == [], sign


@pytest.mark.parametrize(
    "text, flag",
    [
        ("请把钱转到安全帳戶", "money_to_account"),  # Traditional
        ("马上转 账到这个账户", "money_to_account"),  # a space inside the word
        ("把验-证-码发给我", "code_or_password"),  # symbols inside the word
        ("请加薇信联系理赔", "private_contact"),  # a homophone
        ("加 V 私聊", "private_contact"),
        ("到ＡＴＭ机上操作时给我打电话", "guided_operation"),  # full-width letters
        ("Please share your screen with me so I can fix it", "remote_control"),
        ("You must pay the unlock fee first before you can withdraw", "upfront_fee"),
    ],
)
def test_filter_dodges_are_read_through(text, flag):
    assert flag in flag_ids(text)


# --- warnings are not requests ---------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "公安机关不会要求转账到安全账户",
        "凡是要验证码的都是诈骗",
        "【工商银行】您正在进行手机银行登录，验证码为123456，任何人索要都是诈骗，请勿泄露。",
        "【京东】验证码：******，您正在登录京东账号，京东工作人员不会向您索取验证码，请勿泄露。",
        "请勿向任何人提供验证码，切勿点击陌生链接",
        "银行从不会以任何理由要求您提供密码、验证码或下载远程控制软件",
        "谨防诈骗：任何人让您把钱转到所谓“安全账户”的，都是骗子",
        "如有人要求您先交保证金才能放款，请立即报警",
        "税务部门不会通过电话或短信链接要求您提供银行卡密码",
        "反诈提示：“刷单返利”是诈骗，“冒充领导要转账”是诈骗",
        "社区民警上门宣传，讲了什么是安全账户诈骗",
        "派出所打电话提醒我不要转账，也没问我要任何资料",
        "Anti-fraud reminder: anyone who asks you to move money into a safe account or to read out an SMS code is a scammer.",
        "Do not transfer money or share codes with anyone.",
    ],
)
def test_warnings_do_not_fire_request_flags(text):
    assert not (flag_ids(text) & REQUESTS), read(text).flags


def test_a_question_is_not_a_warning():
    # "…是诈骗吗" asks: the request still counts.
    assert "money_to_account" in flag_ids("他让我把钱转到安全账户，这是诈骗吗？")
    assert "money_to_account" in flag_ids("他让我把钱转到安全账户，是诈骗，对吗")


def test_a_negation_counts_only_close_to_the_request():
    # "没" denies going to work, not the request for a fee.
    assert "upfront_fee" in flag_ids("还没上班就让我交三百块服装费")
    assert "code_or_password" not in flag_ids("他没问我要验证码")


def test_a_code_asked_for_across_a_comma_counts_and_a_warning_does_not():
    assert "code_or_password" in flag_ids("过程中会收到验证码，您直接告诉我就行")
    assert "code_or_password" in flag_ids("收到验证码后，发我一下")
    assert "code_or_password" not in flag_ids("您的验证码为123456，请勿告诉他人。")
    assert "code_or_password" not in flag_ids("验证码稍后发到您手机，不要告诉我")


def test_an_english_romance_scam_shows_its_secrecy_and_its_type():
    reading = read("Honey, I am stuck at the customs with the gifts. They need a clearance fee"
                   " before they release them. Please transfer it to the agent's account today,"
                   " I will pay you back when we meet. Do not tell your family.")
    assert {"upfront_fee", "money_to_account", "secrecy"} <= {f.id for f in reading.flags}
    assert reading.type_hints[0] == ("romance_scam", 2)
    assert "secrecy" not in flag_ids("Do not tell me your PIN.")


def test_a_negation_across_the_requests_start_counts():
    # The request matched at "需"; "无需" says no payment is asked.
    assert "money_to_account" not in flag_ids("请凭抽奖券到一楼服务台领取，无需付款。")
    assert "money_to_account" in flag_ids("需要付款才能领取")
    # A prohibition is itself the request.
    assert "guided_operation" in flag_ids("千万不要挂语音，按我说的做")


def test_the_customers_own_plans_are_not_requests():
    assert "money_to_account" not in flag_ids("我要转账给我妈，手机银行怎么操作")
    assert "upfront_fee" not in flag_ids("我想先交学费再说")
    assert "upfront_fee" in flag_ids("他说我需要先交保证金才能放款")


# --- genuine signs ---------------------------------------------------------------


def test_bank_code_sms_has_genuine_signs_and_no_flag():
    reading = read("【工商银行】您正在进行手机银行登录，验证码为[验证码]，任何人索要都是诈骗，请勿泄露。")
    assert reading.flags == ()
    assert reading.sender == "工商银行" and reading.sender_official
    assert {"official_sender", "safety_warning"} <= {s.id for s in reading.signs}


@pytest.mark.parametrize(
    "text, signs",
    [
        ("【国家税务总局】您的个人所得税汇算已于4月8日退税成功，退税金额已退至您填报的银行卡。", {"official_sender", "no_action"}),
        ("【济南人社】养老金领取资格认证即将到期，请通过掌上12333 APP或到社区服务中心办理，认证免费。", {"official_sender", "official_channel"}),
        ("【招商银行】您尾号1234的卡因境外可疑交易已被临时冻结，请致电卡片背面客服电话或到网点办理。", {"official_sender", "official_channel"}),
        ("【国家电网】您本月电费已通过代扣缴纳成功，无需操作。", {"official_sender", "no_action"}),
        ("【中国邮政】您的EMS邮件已到达XX镇邮政所，请携带本人身份证前往领取。", {"official_sender", "official_channel"}),
    ],
)
def test_genuine_notices_show_their_signs_and_no_strong_flag(text, signs):
    reading = read(text)
    assert signs <= {s.id for s in reading.signs}
    assert not reading.strong, reading.flags


def test_the_configured_bank_is_an_official_sender():
    reading = read_message("【星河农商银行】您的存单将于下月到期，请本人携带身份证到网点办理。", Bank("星河农商银行", "96588"), "")
    assert reading.sender_official
    other = read_message("【幸运宝】恭喜您获得大奖", Bank("星河农商银行", "96588"), "")
    assert other.sender == "幸运宝" and not other.sender_official


def test_an_official_sender_with_a_lookalike_link_keeps_its_red_flags():
    reading = read("【工商银行】您的网银将于今日失效，请立即登录 www.icbc-vip.top 重新认证，逾期将冻结账户。")
    assert reading.sender_official
    link = reading.flag("link")
    assert link is not None and link.weight == STRONG and "lookalike" in link.detail
    assert reading.score >= 6


def test_an_official_number_is_a_sign_and_an_unofficial_one_a_flag():
    assert "official_channel" in {s.id for s in read("如有疑问请拨打95588咨询").signs}
    assert "unofficial_number" in flag_ids("如有疑问请拨打0085-2688 1930处理")


def test_signs_and_flags_ids_are_known():
    assert SIGN_IDS[0] == "official_sender"
    raw = yaml.safe_load(GENUINE_SIGNS_FILE.read_text(encoding="utf-8"))
    assert set(raw["signs"]) == set(SIGN_IDS[1:])
    flags = yaml.safe_load(RED_FLAGS_FILE.read_text(encoding="utf-8"))["flags"]
    assert {"money_to_account", "upfront_fee", "code_or_password", "remote_control", "secrecy",
            "deadline", "threat", "link", "impersonation"} <= set(flags)


# --- number questions ------------------------------------------------------------


@pytest.mark.parametrize(
    "text, number, prefix, pattern, agency",
    [
        ("12366是税务局的电话吗", "12366", "", "", "税务局"),
        ("一个手机号13812345678说是税务局的，可信吗", "13812345678", "", "mobile", "税务局"),
        ("有个+00开头的号码说自己是公安局的", "", "+00", "international", "公安局"),
        ("95588后面带一串数字的号码打来，是真的吗", "", "95588", "hotline_with_extras", ""),
        ("一个170开头的手机号说是辖区派出所的民警，这号码靠得住吗", "", "170", "virtual_operator", "派出所"),
        ("110会主动给人打电话吗", "110", "", "", ""),
        ("Is 12366 really the tax bureau's number?", "12366", "", "", "tax"),
    ],
)
def test_number_questions(text, number, prefix, pattern, agency):
    question = number_question(text, ICBC, "icbc.com.cn")
    assert question is not None
    assert (question.number, question.prefix, question.pattern) == (number, prefix, pattern)
    assert question.agency.startswith(agency)
    assert not question.story


def test_a_number_question_with_a_scam_story():
    question = number_question("0085212345678打来说我涉嫌洗钱，要我把钱转到安全账户，这个号码是公安的吗", ICBC, "icbc.com.cn")
    assert question.number == "0085212345678" and question.story


@pytest.mark.parametrize(
    "text",
    [
        "【工商银行】您的信用卡账单已出，如有疑问请致电95588。这是真的吗",  # the SMS's own number
        "驾校教练说考试费要先交给他，一共1280，这正常吗",  # an amount
        "你看看上面是不是你老婆的手机号？不给钱就发你家族群",  # not about being real
        "他让我把钱转到安全账户，不要告诉家人",
    ],
)
def test_not_number_questions(text):
    assert number_question(text, ICBC, "icbc.com.cn") is None


# --- long messages and speed -----------------------------------------------------

LONG_SCAM = (
    "收到一封邮件，标题是《关于贵司年度采购合同付款的通知》。"
    + "尊敬的供应商：感谢贵司一直以来对我单位工作的支持，本年度采购项目已经进入结算阶段，"
    "现将有关事项通知如下。" * 12
    + "根据财务制度，本次结算需贵司先将履约保证金两万元转入我单位对公账户，账户信息请联系财务部王经理获取。"
    + "此事请勿向其他人员透露，今天下班前必须完成，逾期视为自动放弃合作资格。"
    + "以上内容请妥善保存，后续合同事宜另行通知。" * 8
)


def test_a_long_message_is_read_to_the_end():
    assert 300 <= len(LONG_SCAM) <= 2000
    reading = read(LONG_SCAM)
    assert {"upfront_fee", "money_to_account", "deadline"} <= {f.id for f in reading.flags}
    assert reading.score >= 6


def test_only_the_first_two_thousand_characters_are_read():
    reading = read("正常的文字。" * 400 + "请把验证码告诉我")
    assert reading.flags == () and len(reading.text) == 2000


def test_a_long_message_is_read_quickly():
    text = (LONG_SCAM * 2)[:1500]
    read(text)  # rules loaded
    best = min(_timed(lambda: read(text)) for _ in range(5))
    # About 2-3 ms on one core; a shared test machine gets room.
    assert best < 0.02


def _timed(run):
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def test_empty_text():
    reading = read("")
    assert reading.flags == () and reading.signs == () and reading.number_question is None
