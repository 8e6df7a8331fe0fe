"""Masking of card numbers, ID numbers, passwords and codes (core/masking.py), without
Rasa: what gets masked, what must stay (phone numbers, amounts, dates, official numbers),
and the kinds reported."""

import time

import pytest

from core.directory import official_directory
from core.settings import Bank
from core.masking import (
    CARD_NUMBER,
    ID_NUMBER,
    PASSWORD,
    VERIFICATION_CODE,
    Masked,
    id_number_valid,
    luhn_valid,
    mask,
    mask_values,
)

OFFICIAL = frozenset(official_directory(Bank("工商银行", "95588")))

CARD, ID, PWD, CODE = CARD_NUMBER, ID_NUMBER, PASSWORD, VERIFICATION_CODE

# (what the customer typed, what may be stored, the kinds masked)
MASKED = [
    # cards: Luhn-valid anywhere, or any 13-19 digits the customer calls a card
    ("6222021234567894", "6222 **** **** 7894", (CARD,)),
    ("我的卡号是6222 0212 3456 7894", "我的卡号是6222 **** **** 7894", (CARD,)),
    ("卡号 6222-0212-3456-7890", "卡号 6222 **** **** 7890", (CARD,)),  # not Luhn-valid
    ("银行卡：6228480044001234564，户名张三", "银行卡：6228 **** **** 4564，户名张三", (CARD,)),
    ("信用卡4111 1111 1111 1111被盗刷了", "信用卡4111 **** **** 1111被盗刷了", (CARD,)),
    ("6217000012345670是我的卡号", "6217 **** **** 5670是我的卡号", (CARD,)),
    ("卡號：６２２２　０２１２　３４５６　７８９４", "卡號：6222 **** **** 7894", (CARD,)),
    ("13位的卡 5200001234567", "13位的卡 5200 **** **** 4567", (CARD,)),
    ("他让我报卡号6222021234567894 13800138000", "他让我报卡号6222 **** **** 7894 13800138000",
     (CARD,)),
    # 15-19 digits starting like a bank card (62, 4, 5), or Luhn-valid, in any layout and
    # whatever the words around them: a pasted notice's account line
    ("开户行：中国工商银行北京朝阳支行（行号1021 0000 0045）\n账 户：6214 8512 3456 7890 123\n户 名：某某医院结算中心",
     "开户行：中国工商银行北京朝阳支行（行号1021 0000 0045）\n账 户：6214 **** **** 0123\n户 名：某某医院结算中心",
     (CARD,)),
    ("622888 1234567890123", "6228 **** **** 0123", (CARD,)),
    ("请转到 6214.8512.3456.7890 这个", "请转到 6214 **** **** 7890 这个", (CARD,)),
    ("对方发来 4123 4567 8901 2345，说是公司账户", "对方发来 4123 **** **** 2345，说是公司账户", (CARD,)),
    ("5200\u00a01234\u00a05678\u00a09012 123", "5200 **** **** 2123", (CARD,)),
    ("６２１４－８５１２－３４５６－７８９０", "6214 **** **** 7890", (CARD,)),
    ("6214 - 8512 - 3456 - 7890", "6214 **** **** 7890", (CARD,)),
    ("转账 5000 6222 0212 3456 7894", "转账 5000 6222 **** **** 7894", (CARD,)),  # the amount stays
    ("账 户：1234 5678 9012 3", "账 户：1234 **** **** 0123", (CARD,)),  # spaced label, 13 digits
    ("银 行 卡 号 1234567890123", "银 行 卡 号 1234 **** **** 0123", (CARD,)),
    # mainland ID numbers: 18 characters (X last) or the old 15 digits
    ("身份证号110101199003071233", "身份证号[身份证号]", (ID,)),
    ("身份证44030419851231002X", "身份证[身份证号]", (ID,)),
    ("我的身份證是 44030419851231002x 。", "我的身份證是 [身份证号] 。", (ID,)),
    ("他报出了我的身份证 110101 19900307 1233", "他报出了我的身份证 [身份证号]", (ID,)),
    ("310115197001010011", "[身份证号]", (ID,)),
    ("老身份证 110101900307123", "老身份证 [身份证号]", (ID,)),
    ("证件号３５０２０３１９８８０８０８０１５１", "证件号[身份证号]", (ID,)),
    ("４４０３０４１９８５１２３１００２Ｘ", "[身份证号]", (ID,)),  # a full-width X
    ("110101.19900307.1233", "[身份证号]", (ID,)),
    # passwords after (or before) 密码 / 口令 / password
    ("密码是123456", "密码是[密码]", (PWD,)),
    ("密码:abc123", "密码:[密码]", (PWD,)),
    ("支付密码 888888", "支付密码 [密码]", (PWD,)),
    ("他让我把密码改成了 Abc@2024 ", "他让我把密码改成了 [密码] ", (PWD,)),
    ("網銀密碼是 ６６６６６６", "網銀密碼是 [密码]", (PWD,)),
    ("U盾口令：Qw12er", "U盾口令：[密码]", (PWD,)),
    ("my password is hunter2", "my password is [密码]", (PWD,)),
    ("123456是我的支付密码", "[密码]是我的支付密码", (PWD,)),
    ("密码是一二三四五六", "密码是[密码]", (PWD,)),
    # verification codes before or after 验证码 / 校验码 / 动态码 / code / OTP
    ("验证码 384756", "验证码 [验证码]", (CODE,)),
    ("384756是验证码", "[验证码]是验证码", (CODE,)),
    ("【工商银行】您的验证码为384756，5分钟内有效，请勿泄露。",
     "【工商银行】您的验证码为[验证码]，5分钟内有效，请勿泄露。", (CODE,)),
    ("验证码：３８４７５６", "验证码：[验证码]", (CODE,)),
    ("驗證碼是 384756 嗎", "驗證碼是 [验证码] 嗎", (CODE,)),
    ("校验码 384 756 已经念给他了", "校验码 [验证码] 已经念给他了", (CODE,)),
    ("动态码是5821", "动态码是[验证码]", (CODE,)),
    ("我把验证码三八四七五六告诉他了", "我把验证码[验证码]告诉他了", (CODE,)),
    ("OTP: 48291370", "OTP: [验证码]", (CODE,)),
    ("your verification code is 5821.", "your verification code is [验证码].", (CODE,)),
    ("384756（动态码），请勿告诉他人", "[验证码]（动态码），请勿告诉他人", (CODE,)),
    ("验证码 384756 5分钟内有效", "验证码 [验证码] 5分钟内有效", (CODE,)),
    # several in one message: each masked, kinds in the order they appear
    ("卡号6222021234567894，密码123456，验证码384756",
     "卡号6222 **** **** 7894，密码[密码]，验证码[验证码]", (CARD, PWD, CODE)),
    ("验证码是384756，身份证110101199003071233",
     "验证码是[验证码]，身份证[身份证号]", (CODE, ID)),
]

# Left as typed: the assistant needs phone numbers, amounts and dates.
UNCHANGED = [
    "13800138000打电话说我涉嫌洗钱",
    "他的电话是 138 0013 8000",
    "+86 138 0013 8000 是谁",
    "8613800138000",
    "0571-88886666是公安局吗",
    "95588打来的",
    "95588-123456是真的吗",
    "0095588是工行吗",
    "12366是真的吗",
    "验证码是95588发的吗",  # an official number is never a code
    "10086发的验证码是真的吗",
    "我已经转了5000元",
    "转了五万",
    "我转了5000，验证码也给了",
    "2024-05-01 12:30 接到电话",
    "验证码5分钟内有效",
    "验证码发到尾号1234的手机了",
    "密码是多少",
    "密码输错了3次",
    "他要我的密码",
    "订单号 20240501123456",
    "订单号 4024050112345",  # 13 digits, not Luhn-valid: under 15, first digits don't count
    "手机 13912345678，座机 010-12345678",
    "138.0013.8000",
    "2024.05.01 12:30",
    "金额：5,000.00元，手续费 12.50 元",
    "行号1021 0000 0045",
    "快递单号 YT4312345678901234",
    "ATM-001",
    "",
]


@pytest.mark.parametrize("typed, stored, kinds", MASKED)
def test_secret_is_masked_and_its_kind_reported(typed, stored, kinds):
    assert mask(typed, OFFICIAL) == Masked(stored, kinds)


@pytest.mark.parametrize("typed", UNCHANGED)
def test_phone_numbers_amounts_dates_and_official_numbers_stay(typed):
    assert mask(typed, OFFICIAL) == Masked(typed, ())


def test_the_table_is_big_enough_and_covers_every_kind():
    assert len(MASKED) + len(UNCHANGED) >= 30
    assert {kind for _, _, kinds in MASKED for kind in kinds} == {CARD, ID, PWD, CODE}


def test_placeholders_keep_the_words_the_classifier_and_risk_rules_look_for():
    assert "验证码" in mask("384756是验证码").text
    assert "密码" in mask("123456是我的密码").text
    assert "身份证号" in mask("110101199003071233").text
    assert "卡" in mask("卡号6222021234567894").text  # the customer's own word stays


def test_masked_text_is_masked_again_unchanged():
    for _, stored, _ in MASKED:
        assert mask(stored, OFFICIAL).text == stored


def test_metadata_strings_are_masked_at_any_depth():
    metadata = {"note": "验证码 384756", "items": [{"card": "6222021234567894"}, 7, None]}
    masked, kinds = mask_values(metadata)
    assert masked == {"note": "验证码 [验证码]",
                      "items": [{"card": "6222 **** **** 7894"}, 7, None]}
    assert kinds == (CODE, CARD)
    assert mask_values(None) == (None, ())


def test_check_digits():
    assert luhn_valid("6222021234567894") and not luhn_valid("6222021234567890")
    assert not luhn_valid("12345X")
    assert id_number_valid("110101199003071233") and id_number_valid("44030419851231002X")
    assert not id_number_valid("110101199003071234")  # wrong check digit
    assert not id_number_valid("110101199013071233")  # month 13


def test_longest_message_is_masked_quickly():
    turn = "客服说退款，验证码384756，卡号6222 0212 3456 7894，电话13800138000。"
    message = turn * (20_000 // len(turn))  # as long as a message may be
    started = time.perf_counter()
    masked = mask(message, OFFICIAL)
    assert time.perf_counter() - started < 2
    assert "384756" not in masked.text and "0212 3456" not in masked.text
    assert "13800138000" in masked.text
