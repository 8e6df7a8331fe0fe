"""The safe reply when the assistant is silent or late (server/guard/safe_reply.py)."""

import pytest

from core.directory import official_directory
from core.numbers import unlisted_numbers
from core.settings import Bank
from server.guard.safe_reply import needs_safe_reply, safe_reply_text as safe_reply
from server.guard.turns import privacy_warning

BANK = Bank("招商银行", "95555")


def test_safe_reply_gives_the_general_advice_and_only_official_numbers():
    reply = safe_reply(BANK)
    for needed in ["挂断", "不转账", "验证码", "110", "96110", "95555", "招商银行"]:
        assert needed in reply
    assert unlisted_numbers(reply, official_directory(BANK)) == []
    assert unlisted_numbers(privacy_warning(), official_directory(BANK)) == []


@pytest.mark.parametrize(
    "timed_out, said_anything, text, needed",
    [(False, True, "税务局", False), (True, True, "税务局", True), (False, False, "税务局", True),
     (False, False, "   ", False)],
)
def test_a_late_or_silent_answer_to_words_needs_the_safe_reply(timed_out, said_anything, text, needed):
    assert needs_safe_reply(timed_out, said_anything, text) == needed
