"""core.text.normalise: the form of a message the classifier and the rules see."""

import pytest

from core.text import MAX_NLU_CHARS, normalise


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("稅務局說退稅", "税务局说退税"),
        ("帳戶", "账户"),
        ("帳號被凍結", "账号被冻结"),
        ("１２３６６是真的嗎", "12366是真的吗"),
        ("去ＡＴＭ機", "去ATM机"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalise(raw, expected):
    assert normalise(raw) == expected


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\u200b", "\u200e", "\u202e", "\ufeff", "\ufffd"])
def test_control_and_zero_width_characters_do_not_survive(char):
    assert char not in normalise(f"对方{char}说{char}退税{char}")


@pytest.mark.parametrize("char", ["\u200b", "\u200d", "\ufeff"])
def test_zero_width_characters_are_removed(char):
    assert normalise(f"验{char}证码") == "验证码"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("  对方   说\t\t退税 \n\n 今天  ", "对方 说 退税 今天"),
        ("\u3000退税\u3000", "退税"),
        ("a\x00\x00b", "a b"),
    ],
)
def test_whitespace_collapsed_and_trimmed(raw, expected):
    assert normalise(raw) == expected


@pytest.mark.parametrize("raw", ["退" * 10_000, "退税 " * 5_000, "稅" * 10_000])
def test_length_bounded(raw):
    result = normalise(raw)
    assert 0 < len(result) <= MAX_NLU_CHARS
    assert result.startswith("退") or result.startswith("税")
