"""server.nlu.pinyin: homophone typos read as the word meant; the table covers our text."""

import re

import pytest

from server.nlu.pinyin import syllables
from tests.test_training_data import HOLDOUT, TRAINING
from tools.pinyin_table import toneless


@pytest.mark.parametrize(
    "typed, meant",
    [("逮补", "逮捕"), ("验正码", "验证码"), ("稳赚不陪", "稳赚不赔"), ("超股群", "炒股群"),
     ("知到了", "知道了"), ("涉嫌洗前", "涉嫌洗钱")],
)
def test_a_homophone_typo_has_the_syllables_of_the_word_meant(typed, meant):
    assert syllables([typed]) == syllables([meant])


def test_other_words_stay_whole_and_punctuation_goes():
    assert syllables(["ATM机", "，", "__NUMBER__", "refund", "！！"]) == ["ATM", "ji", "__NUMBER__", "refund"]


def test_every_chinese_character_of_our_data_has_a_reading():
    characters = {c for _, text in TRAINING + HOLDOUT for c in re.findall(r"[\u4e00-\u9fff]", text)}
    assert [c for c in characters if syllables([c]) == [c]] == []


@pytest.mark.parametrize("reading, expected", [("dǎi", "dai"), ("lǜ", "lv"), ("nǚ", "nv"), ("zhōng", "zhong"), ("a", "a")])
def test_tones_are_dropped_and_u_umlaut_is_spelled_v(reading, expected):
    assert toneless(reading) == expected
