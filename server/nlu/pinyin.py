"""Toneless pinyin of customer text, so that homophone typos look like the word meant.

Customers type by pinyin and pick the wrong character: 逮补 for 逮捕, 验正码 for 验证码,
稳赚不陪 for 稳赚不赔, 超股 for 炒股. Character features see different words; the
syllables are the same (dai bu, yan zheng ma).
"""

import re
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterable, List

TABLE = Path(__file__).with_name("pinyin_table.txt")
_CHINESE_OR_WORD = re.compile(r"[\u4e00-\u9fff]|[^\W\u4e00-\u9fff]+")


@lru_cache(maxsize=1)
def _readings() -> Dict[str, str]:
    readings = {}
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            syllable, characters = line.split(" ", 1)
            readings.update(dict.fromkeys(characters, syllable))
    return readings


def syllables(words: Iterable[str]) -> List[str]:
    """One syllable per Chinese character; other words (english, 12366, __NUMBER__) whole.

    Punctuation and spaces are dropped. A character outside the table stays as it is.
    """
    readings = _readings()
    found = []
    for word in words:
        for piece in _CHINESE_OR_WORD.findall(word):
            found.append(readings.get(piece, piece))
    return found
