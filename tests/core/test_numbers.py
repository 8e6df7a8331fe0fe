"""Finding phone-like numbers in text, checking them against the official directory, and
the scam patterns of an unofficial one."""

import pytest

from core.directory import official_directory
from core.numbers import (
    NUMBER_REASON_KEYS,
    assess_number,
    candidate_numbers,
    check_number,
    load_number_rules,
    phone_like_numbers,
    unlisted_numbers,
)
from core.settings import Bank

DIRECTORY = official_directory(Bank("工商银行", "95588"))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("拨打110或96110", ["110", "96110"]),
        ("1. 挂断", []),
        ("第2步", []),
        ("12", []),
        ("0731-12333", ["073112333"]),
        ("+86 955 88", ["+8695588"]),
        ("95588\n12366", ["95588", "12366"]),  # a newline never joins two numbers
        ("12366是真的吗", ["12366"]),
        ("号码是 400-123-4567 。", ["4001234567"]),
        ("", []),
        (None, []),
    ],
)
def test_phone_like_numbers(text, expected):
    assert phone_like_numbers(text) == expected


@pytest.mark.parametrize(
    "raw, official",
    [
        ("110", True),
        ("96110", True),
        ("12366", True),
        ("12333", True),
        ("12381", True),
        ("12363", True),
        ("95588", True),
        ("955 88", True),
        ("020-96110", True),
        ("0731-96110", True),
        ("073196110", True),
        ("00095588", False),
        ("40095588", False),
        ("+8695588", False),
        ("+0095588", False),
        ("95588-123456", False),
        ("9611", False),
        ("196110", False),
        ("13800138000", False),
    ],
)
def test_check_number(raw, official):
    assert check_number(raw, DIRECTORY).official is official


def test_check_number_reports_owner_and_official_number():
    check = check_number("0731-96110", DIRECTORY)
    assert check.number == "073196110"
    assert check.official_number == "96110"
    assert check.owner == "全国反诈预警劝阻专线"


def test_check_number_unofficial_has_no_owner():
    check = check_number("+86 955 88", DIRECTORY)
    assert (check.number, check.owner, check.official_number) == ("+8695588", None, None)


def test_configured_bank_hotline_is_official():
    directory = official_directory(Bank("建设银行", "95533"))
    check = check_number("95533", directory)
    assert check.official and check.owner == "建设银行客服热线"


def test_unlisted_numbers():
    assert unlisted_numbers("打110，别打13800138000", DIRECTORY) == ["13800138000"]


# --- assess_number: the verdict with scam patterns ---------------------------------

OTHER_BANK = Bank("建设银行", "95533")

# text, number as dialled, official, the official number it imitates, patterns
NUMBER_VERDICTS = [
    # official: only the caller-ID warning
    ("110", "110", True, "", ["caller_id_spoofable"]),
    ("96110", "96110", True, "", ["caller_id_spoofable"]),
    ("0731-96110", "073196110", True, "", ["caller_id_spoofable"]),
    ("12366是真的吗", "12366", True, "", ["caller_id_spoofable"]),
    ("95588打来的", "95588", True, "", ["caller_id_spoofable"]),
    ("显示 955 88", "95588", True, "", ["caller_id_spoofable"]),
    ("１２３３３", "12333", True, "", ["caller_id_spoofable"]),
    ("12363", "12363", True, "", ["caller_id_spoofable"]),
    ("12378", "12378", True, "", ["caller_id_spoofable"]),
    ("12381", "12381", True, "", ["caller_id_spoofable"]),
    # international prefixes
    ("+00 852 1234 5678 说是公安", "+0085212345678", False, "", ["international"]),
    ("+852 1234 5678", "+85212345678", False, "", ["international"]),
    ("0085212345678", "0085212345678", False, "", ["international"]),
    # a hotline with a prefix or extra digits
    ("0095588", "0095588", False, "95588", ["international", "hotline_with_extras"]),
    ("00095588", "00095588", False, "95588", ["international", "hotline_with_extras"]),
    ("+0095588", "+0095588", False, "95588", ["international", "hotline_with_extras"]),
    ("+8695588", "+8695588", False, "95588", ["hotline_with_extras"]),
    ("+86 12366", "+8612366", False, "12366", ["hotline_with_extras"]),
    ("95588-123456", "95588123456", False, "95588", ["hotline_with_extras"]),
    ("9558800", "9558800", False, "95588", ["hotline_with_extras"]),
    ("12366123", "12366123", False, "12366", ["hotline_with_extras"]),
    ("40095588", "40095588", False, "95588", ["hotline_with_extras"]),
    ("0731-12333", "073112333", False, "12333", ["hotline_with_extras"]),
    ("+86 731 96110", "+8673196110", False, "96110", ["hotline_with_extras"]),
    ("+110", "+110", False, "110", ["international", "hotline_with_extras"]),
    ("00110", "00110", False, "110", ["international", "hotline_with_extras"]),
    # mobile numbers, virtual-operator ranges
    ("13800138000", "13800138000", False, "", ["mobile"]),
    ("+86 138 0013 8000", "+8613800138000", False, "", ["mobile"]),
    ("0086 13800138000", "008613800138000", False, "", ["mobile"]),
    ("17012345678", "17012345678", False, "", ["mobile", "virtual_operator"]),
    ("171-2345-6789", "17123456789", False, "", ["mobile", "virtual_operator"]),
    ("16212345678", "16212345678", False, "", ["mobile", "virtual_operator"]),
    ("16512345678", "16512345678", False, "", ["mobile", "virtual_operator"]),
    ("16712345678", "16712345678", False, "", ["mobile", "virtual_operator"]),
    ("13811095588", "13811095588", False, "", ["mobile"]),  # ends in 95588 by chance
    ("13811012345", "13811012345", False, "", ["mobile"]),  # 110 inside by chance
    # unofficial with no known pattern
    ("021-12345678", "02112345678", False, "", []),
    ("400-123-4567", "4001234567", False, "", []),
    ("10086", "10086", False, "", []),
    ("95533", "95533", False, "", []),  # another bank's hotline, not configured
]


@pytest.mark.parametrize("text, number, official, imitates, patterns", NUMBER_VERDICTS)
def test_assess_number(text, number, official, imitates, patterns):
    verdict = assess_number(text, DIRECTORY)
    assert (verdict.number, verdict.official, verdict.imitates) == (number, official, imitates)
    assert list(verdict.patterns) == patterns
    assert len(verdict.reasons) == len(patterns)
    assert verdict.spoofable is official
    assert bool(verdict.owner) is official and bool(verdict.official_number) is official


def test_official_verdict_names_owner_and_directory_number():
    verdict = assess_number("0731-96110", DIRECTORY)
    assert (verdict.owner, verdict.official_number) == ("全国反诈预警劝阻专线", "96110")
    assert "96110" in verdict.reasons[0]


def test_configured_bank_hotline_is_official_and_imitations_name_it():
    directory = official_directory(OTHER_BANK)
    assert assess_number("95533", directory).owner == "建设银行客服热线"
    assert assess_number("0095533", directory).imitates == "95533"


def test_verdict_is_frozen():
    verdict = assess_number("110", DIRECTORY)
    with pytest.raises(AttributeError):
        verdict.official = False


@pytest.mark.parametrize("text", ["", None, "没有号码", "转了5000元", "卡号6222 0212 3456 7890 123"])
def test_assess_number_without_a_number_is_none(text):
    assert assess_number(text, DIRECTORY) is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("12366是真的吗", ["12366"]),
        ("95588打来的", ["95588"]),
        ("+00 852 1234 5678 说是公安", ["+0085212345678"]),
        ("13800138000", ["13800138000"]),
        ("１２３６６是真的吗", ["12366"]),
        ("先是95588，后来是0095588，又打了95588", ["95588", "0095588"]),
        ("95588\n12366", ["95588", "12366"]),
        ("转了5000元", []),
        ("让我交 3000 块", []),
        ("3.5万", []),
        ("2024年11月27日", []),
        ("2024-11-27打来的", []),
        ("他今年65岁", []),
        ("打了3次", []),
        ("卡号6222 0212 3456 7890 123", []),  # card numbers are never repeated
        ("身份证430102199001011234", []),
        ("6222021234567890123456789012", []),  # longer than any phone number
        ("看看 http://12366-tax.top 和 www.95588.com", []),  # part of a link
        ("QQ12345678", []),
        ("电话:12366。", ["12366"]),
        ("", []),
        (None, []),
    ],
)
def test_candidate_numbers(text, expected):
    assert candidate_numbers(text) == expected


# --- the reasons are safe to say --------------------------------------------------


@pytest.mark.parametrize("bank", [Bank("工商银行", "95588"), OTHER_BANK], ids=lambda b: b.hotline)
def test_reasons_say_no_unlisted_number_and_never_the_checked_one(bank):
    directory = official_directory(bank)
    for text, *_ in NUMBER_VERDICTS:
        verdict = assess_number(text, directory)
        for reason in verdict.reasons:
            assert unlisted_numbers(reason, directory) == [], reason
            assert verdict.official or verdict.number not in reason


def test_number_rules_load():
    rules = load_number_rules()
    assert set(rules.reasons) == set(NUMBER_REASON_KEYS)
    assert rules.virtual_operator_prefixes == ("170", "171", "162", "165", "167")
    for text in rules.reasons.values():
        assert unlisted_numbers(text.format(official="110"), DIRECTORY) == [], text


def test_table_covers_every_pattern():
    covered = {pattern for *_, patterns in NUMBER_VERDICTS for pattern in patterns}
    assert covered == set(NUMBER_REASON_KEYS)


@pytest.mark.parametrize("text", ["我的卡号是6222 **** **** 7894", "卡号6222-****-****-7894，验证码[验证码]",
                                  "6222 **** **** 7894"])
def test_a_masked_card_number_is_no_phone_number(text):
    assert candidate_numbers(text) == []
