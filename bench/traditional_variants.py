"""Which OpenCC conversion gives Traditional replies that Taiwan and Hong Kong readers
both read as their own: s2t, s2tw, s2twp or s2hk (issue 17).

Every Chinese sentence the assistant can say (knowledge/*.yml, the rules' labels and
reasons) goes through each conversion; each word below that the sentences use is scored,
as often as it occurs, by whether its conversion is a form Taiwan readers use and one
Hong Kong readers use. The table lists the words of these replies where the conversions
differ, with the forms each place writes (a form both write counts for both).

    .venv/bin/python bench/traditional_variants.py
"""

import re
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import yaml
from opencc import OpenCC

ROOT = Path(__file__).resolve().parents[1]
KNOWLEDGE = ROOT / "knowledge"
CONFIGS = ("s2t", "s2tw", "s2twp", "s2hk")

# Simplified word -> (forms Taiwan readers use, forms Hong Kong readers use).
WORDS: Dict[str, Tuple[Tuple[str, ...], Tuple[str, ...]]] = {
    "说": (("說",), ("說", "説")),
    "税": (("稅",), ("稅", "税")),
    "账户": (("帳戶", "賬戶"), ("賬戶", "帳戶", "賬户")),
    "里": (("裡",), ("裏", "裡")),          # inside: 电话里, 消息里
    "着": (("著",), ("着", "著")),          # 带着, 接着
    "核实": (("核實",), ("核實",)),        # s2t writes the archaic 覈實
    "伪": (("偽",), ("偽", "僞")),
    "为": (("為",), ("為",)),              # s2t writes 爲
    "群": (("群",), ("群",)),              # s2t writes 羣
    "才": (("才",), ("才",)),              # s2t writes 纔
    "吃": (("吃",), ("吃",)),              # s2t writes 喫
    "众": (("眾",), ("眾", "衆")),
    "平台": (("平台", "平臺"), ("平台",)),
    "柜台": (("櫃檯", "櫃台"), ("櫃枱", "櫃檯", "櫃台")),
    "这台": (("這台", "這臺"), ("這台",)),
    "视频": (("視訊", "視頻"), ("視頻",)),  # a video call; s2twp writes 影片 (a film)
    "注销": (("註銷",), ("註銷",)),        # s2twp writes 登出 (log out)
    "挂断": (("掛斷",), ("掛斷",)),        # s2twp writes 結束通話
    "打开": (("打開", "開啟"), ("打開",)),
    "软件": (("軟體",), ("軟件",)),
    "链接": (("連結",), ("連結", "鏈接")),
    "短信": (("簡訊",), ("短訊", "短信")),
    "信息": (("資訊", "訊息"), ("資訊", "信息")),
    "屏幕": (("螢幕",), ("屏幕", "熒幕")),
    "网络": (("網路",), ("網絡",)),
    "程序": (("程式",), ("程式",)),        # "an automatic program"
    "粘贴": (("貼上", "黏貼"), ("貼上", "黏貼")),
}


def _sentences(node) -> Iterator[str]:
    if isinstance(node, dict):
        for value in node.values():
            yield from _sentences(value)
    elif isinstance(node, list):
        for value in node:
            yield from _sentences(value)
    elif isinstance(node, str) and re.search(r"[\u4e00-\u9fff]", node):
        yield node


def chinese_sentences() -> List[str]:
    """Every Chinese sentence the assistant says (not the rules' patterns)."""
    load = lambda name: yaml.safe_load((KNOWLEDGE / name).read_text(encoding="utf-8"))  # noqa: E731
    sentences = [*_sentences(load("replies.yml")), *_sentences(load("catalog.yml")),
                 *_sentences(load("official_numbers.yml")),
                 *_sentences(load("rules/number_rules.yml")["reasons"]),
                 *_sentences(load("rules/link_rules.yml")["reasons"])]
    risk = load("rules/risk_rules.yml")
    sentences += [rule["reason"] for rule in risk["risk_rules"]]
    sentences += [str(option) for question in risk["questions"].values() for option in question]
    for name, section in (("rules/red_flags.yml", "flags"), ("rules/genuine_signs.yml", "signs")):
        sentences += [entry["label"] for entry in load(name)[section].values()]
    return sentences


def _converted_word(converter: OpenCC, sentence: str, word: str, at: int) -> str:
    """What `word` at `at` in `sentence` became: the converted sentence, cut the same way
    around it (conversions keep the length, except phrase rewrites, read from the ends)."""
    converted = converter.convert(sentence)
    if len(converted) == len(sentence):
        return converted[at:at + len(word)]
    head = converter.convert(sentence[:at])
    tail = converter.convert(sentence[at + len(word):])
    end = len(converted) - len(tail) if tail else len(converted)
    return converted[len(head):end]


def score() -> Dict[str, Dict[str, int]]:
    sentences = chinese_sentences()
    converters = {config: OpenCC(config) for config in CONFIGS}
    totals = {config: {"taiwan": 0, "hong_kong": 0, "both": 0, "occurrences": 0} for config in CONFIGS}
    for word, (taiwan, hong_kong) in WORDS.items():
        for sentence in sentences:
            for found in re.finditer(re.escape(word), sentence):
                for config, converter in converters.items():
                    form = _converted_word(converter, sentence, word, found.start())
                    tw, hk = form in taiwan, form in hong_kong
                    totals[config]["taiwan"] += tw
                    totals[config]["hong_kong"] += hk
                    totals[config]["both"] += tw and hk
                    totals[config]["occurrences"] += 1
    return totals


def main() -> None:
    totals = score()
    print(f"{len(chinese_sentences())} sentences; words checked: {', '.join(WORDS)}")
    print(f"{'config':8} {'occurrences':>11} {'Taiwan':>7} {'Hong Kong':>9} {'both':>5}")
    for config, counts in totals.items():
        print(f"{config:8} {counts['occurrences']:11} {counts['taiwan']:7} {counts['hong_kong']:9} {counts['both']:5}")


if __name__ == "__main__":
    main()
