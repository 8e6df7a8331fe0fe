"""Property tests of the masking (core/masking.py): card and ID numbers made up by
hypothesis, typed in every layout of tests/privacy_samples.py (spaces, hyphens, dots,
full-width digits, 6+13 …), inside realistic pasted notices and chat logs. No generated
secret may survive, and the phone numbers, official numbers, amounts and dates of the
notices stay as typed."""

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.directory import official_directory
from core.masking import CARD_NUMBER, ID_NUMBER, mask, mask_values
from core.settings import Bank
from tests.privacy_samples import (
    CARD,
    ID,
    LAYOUTS,
    NOTICES,
    card_number,
    id_number,
    sample,
    surviving_secrets,
    typed,
)

OFFICIAL = frozenset(official_directory(Bank("工商银行", "95588")))
EXAMPLES = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

seeds = st.randoms(use_true_random=False)
layouts = st.sampled_from(LAYOUTS)
notices = st.sampled_from(NOTICES)


def test_there_are_more_than_twenty_layouts_and_a_dozen_notices():
    assert len(LAYOUTS) > 20 and len({name for name, *_ in LAYOUTS}) == len(LAYOUTS)
    assert len(NOTICES) >= 12


@EXAMPLES
@given(seeds, notices, layouts, layouts)
def test_no_card_or_id_number_survives_in_a_notice(rng, notice, card_layout, id_layout):
    pasted = sample(rng, notice, card_layout, id_layout)
    masked = mask(pasted.text, OFFICIAL)
    assert surviving_secrets(masked.text, pasted.secrets) == [], (pasted.text, masked.text)
    for number in pasted.kept:
        assert number in masked.text, (number, pasted.text, masked.text)


@EXAMPLES
@given(seeds, layouts, st.sampled_from(["", "我的卡号是", "收款账户：", "账 户：", "卡 号 ",
                                        "转到", "Card no. ", "他发来：", "（", "\n"]),
       st.sampled_from(["", "，户名张三", " 请尽快转账", "）", "\n", "。", " 的卡"]))
def test_a_card_number_is_masked_in_any_layout_with_any_words_around(rng, layout, before, after):
    number = card_number(rng)
    masked = mask(before + typed(number, layout, rng) + after, OFFICIAL)
    assert surviving_secrets(masked.text, [(CARD, number)]) == []
    assert set(masked.kinds) <= {CARD_NUMBER, ID_NUMBER} and masked.kinds


@EXAMPLES
@given(seeds, layouts, st.sampled_from(["", "身份证", "证件号码：", "身 份 证 号 ", "对方报出", "ID: "]))
def test_an_id_number_is_masked_in_any_layout(rng, layout, before):
    number = id_number(rng)
    masked = mask(before + typed(number, layout, rng) + "，请核对", OFFICIAL)
    assert surviving_secrets(masked.text, [(ID, number)]) == []
    assert masked.kinds


@EXAMPLES
@given(seeds, notices, layouts, layouts)
def test_a_secret_in_request_metadata_is_masked_too(rng, notice, card_layout, id_layout):
    pasted = sample(rng, notice, card_layout, id_layout)
    masked, kinds = mask_values({"pasted": [pasted.text], "note": {"from": pasted.text}}, OFFICIAL)
    assert surviving_secrets(str(masked), pasted.secrets) == []
    assert kinds


@EXAMPLES
@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
       st.sampled_from(["", " ", "-", "."]), st.sampled_from(["电话", "手机：", "打给", ""]))
def test_a_mobile_number_alone_stays(mobile, separator, before):
    written = separator.join([mobile[:3], mobile[3:7], mobile[7:]]) if separator else mobile
    text = f"{before}{written}是谁的号码"
    assert mask(text, OFFICIAL).text == text


@EXAMPLES
@given(st.integers(1, 10**13 - 1), st.sampled_from(["订单号", "金额", "流水号 ", "尾号", ""]))
def test_numbers_under_fifteen_digits_stay_unless_luhn_valid_or_called_a_card(value, before):
    text = f"{before}{value}"
    masked = mask(text, OFFICIAL)
    if len(str(value)) < 13:
        assert masked.text == text
    else:
        assert masked.text == text or masked.kinds == (CARD_NUMBER,)


@pytest.mark.parametrize("layout", LAYOUTS, ids=[name for name, *_ in LAYOUTS])
@pytest.mark.parametrize("notice", range(len(NOTICES)))
def test_every_layout_in_every_notice(layout, notice):
    """Each pairing at least once, whatever hypothesis chose above (seeded: the same
    numbers every run)."""
    rng = random.Random(f"{layout[0]}/{notice}")
    for _ in range(3):
        pasted = sample(rng, NOTICES[notice], layout, layout)
        masked = mask(pasted.text, OFFICIAL)
        assert surviving_secrets(masked.text, pasted.secrets) == [], (pasted.text, masked.text)
        assert all(number in masked.text for number in pasted.kept), (pasted.text, masked.text)
