"""Finding phone-like numbers in text and checking them against the official directory."""

import pytest

from actions.catalog import official_directory
from actions.numbers import check_number, phone_like_numbers, unlisted_numbers
from actions.settings import Bank

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
