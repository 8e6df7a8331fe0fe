"""Writes server/nlu/pinyin_table.txt: the toneless pinyin of every common Chinese character.

    .venv/bin/pip install pypinyin==0.55.0 && .venv/bin/python -m tools.pinyin_table

The table is committed, so neither training nor the server needs pypinyin: its own
dictionary costs ~57 MB of server memory, the table ~2 MB. One line per syllable, then
the characters read that way; each character under its first (most common) reading.
"""

import unicodedata
from collections import defaultdict
from pathlib import Path

TABLE = Path(__file__).resolve().parents[1] / "server" / "nlu" / "pinyin_table.txt"
# CJK Unified Ideographs: every character customers type, Simplified and Traditional.
FIRST, LAST = 0x4E00, 0x9FFF


def toneless(reading: str) -> str:
    """dǎi -> dai, lǜ -> lv (the way pinyin keyboards spell ü)."""
    reading = reading.replace("ü", "v").replace("ǖ", "v").replace("ǘ", "v")
    reading = reading.replace("ǚ", "v").replace("ǜ", "v")
    decomposed = unicodedata.normalize("NFD", reading)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def main() -> None:
    from pypinyin.pinyin_dict import pinyin_dict

    by_syllable = defaultdict(list)
    for code in range(FIRST, LAST + 1):
        readings = pinyin_dict.get(code)
        if readings:
            by_syllable[toneless(readings.split(",")[0])].append(chr(code))
    header = (
        "# Toneless pinyin of CJK characters U+4E00-U+9FFF, first reading, from pypinyin 0.55.0\n"
        "# (MIT licence, https://github.com/mozillazg/python-pinyin). Written by tools/pinyin_table.py.\n"
    )
    lines = [f"{syllable} {''.join(chars)}" for syllable, chars in sorted(by_syllable.items())]
    TABLE.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    print(f"{TABLE}: {len(lines)} syllables, {sum(map(len, by_syllable.values()))} characters")


if __name__ == "__main__":
    main()
