"""Plain text rules for Chinese customer messages, kept free of Rasa so they test alone."""

import re
import unicodedata
from functools import lru_cache

# A pasted SMS or chat is classified on its first 2,000 characters; anything longer is
# still answered, but only its head reaches the classifier, so each turn's work is bounded.
MAX_NLU_CHARS = 2000

# Zero-width and direction marks split words invisibly (验\u200b证码): delete them.
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060\ufeff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029\ufffd]")
_SPACES = re.compile(r"\s+")

# OpenCC keeps the Traditional-era 帐 in 帐户/帐号; customers and our data write 账.
_VARIANTS = str.maketrans({"帐": "账"})


@lru_cache(maxsize=1)
def _to_simplified():
    from opencc import OpenCC

    return OpenCC("t2s").convert


def normalise(text: str) -> str:
    """Return the form the classifier sees: NFKC, simplified, clean spacing, bounded length.

    NFKC turns full-width digits and letters (１２３６６, ＡＴＭ) into ASCII, so regexes and
    features see one spelling. Traditional Chinese becomes Simplified.
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text[: MAX_NLU_CHARS * 2])
    text = _CONTROL.sub(" ", _INVISIBLE.sub("", text))
    text = _SPACES.sub(" ", text).strip()[:MAX_NLU_CHARS]
    return _to_simplified()(text).translate(_VARIANTS)
