"""Card and ID numbers as customers paste them: made-up numbers in many layouts, inside
realistic notices and chat logs. Shared by the property tests of the masking
(tests/core/test_masking_properties.py) and the end-to-end privacy test
(tests/e2e/test_privacy_storage.py), which draws from a seeded random.Random.

A sample knows its secrets (what must never be stored) and the numbers around them that
must stay (phone numbers, official numbers, amounts, dates).
"""

import random
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Callable, List, Sequence, Tuple

from core.masking import id_number_valid, luhn_valid

# --- the numbers --------------------------------------------------------------------------

# First digits of cards: UnionPay debit and credit (62…), Visa (4…), Mastercard (5…).
BIN_PREFIXES = ("622202", "621700", "622848", "621483", "622588", "625", "62", "4", "41",
                "51", "52", "55")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# Six-digit region codes as in real ID numbers (province, city, district).
REGIONS = ("110101", "110105", "310115", "440304", "440106", "320102", "330106", "510104",
           "420102", "610113", "350203", "210102", "370102", "120101", "500103", "650102")


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def with_luhn_check(body: str) -> str:
    """`body` and the digit that makes it Luhn-valid."""
    for check in "0123456789":
        if luhn_valid(body + check):
            return body + check
    raise AssertionError("unreachable")


def card_number(rng: random.Random) -> str:
    """15-19 digits: a bank's first digits (Luhn-valid or not), or any first digit with a
    valid Luhn check. Both are cards whatever the words around them."""
    length = rng.randint(15, 19)
    if rng.random() < 0.6:
        prefix = rng.choice(BIN_PREFIXES)
        body = prefix + _digits(rng, length - len(prefix) - 1)
        return with_luhn_check(body) if rng.random() < 0.5 else body + _digits(rng, 1)
    while True:
        number = with_luhn_check(rng.choice("123456789") + _digits(rng, length - 2))
        if not re.fullmatch(r"(?:00)?861[3-9][0-9]{9}", number):  # +86 mobile: a phone
            return number


def id_number(rng: random.Random) -> str:
    """A mainland ID number: 18 characters (check character, X included) or the old 15."""
    born = date(1935, 1, 1) + timedelta(days=rng.randrange(70 * 365))
    region = rng.choice(REGIONS)
    if rng.random() < 0.15:
        return region + born.strftime("%y%m%d") + _digits(rng, 3)
    body = region + born.strftime("%Y%m%d") + _digits(rng, 3)
    total = sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS))
    number = body + _ID_CHECK[total % 11]
    assert id_number_valid(number)
    return number


# --- how they are typed -----------------------------------------------------------------

FULL_WIDTH = str.maketrans("0123456789Xx-.", "０１２３４５６７８９Ｘｘ－．")


def _groups(number: str, sizes: Sequence[int]) -> List[str]:
    groups, at = [], 0
    for size in sizes:
        if at >= len(number):
            break
        groups.append(number[at:at + size])
        at += size
    if at < len(number):
        groups.append(number[at:])
    return groups


def _every(size: int) -> Callable[[str], List[str]]:
    return lambda number: _groups(number, [size] * 10)


def _split(*sizes: int) -> Callable[[str], List[str]]:
    return lambda number: _groups(number, sizes)


def _whole(number: str) -> List[str]:
    return [number]


# (name, how the number is cut into groups, the separator, full-width digits)
LAYOUTS: List[Tuple[str, Callable[[str], List[str]], str, bool]] = [
    ("whole", _whole, "", False),
    ("4s spaces", _every(4), " ", False),
    ("4s hyphens", _every(4), "-", False),
    ("4s two spaces", _every(4), "  ", False),
    ("4s ideographic spaces", _every(4), "\u3000", False),
    ("4s dots", _every(4), ".", False),
    ("4s spaced hyphens", _every(4), " - ", False),
    ("4s no-break spaces", _every(4), "\u00a0", False),
    ("4s tabs", _every(4), "\t", False),
    ("4s en dashes", _every(4), "–", False),
    ("4s full-width dots", _every(4), "．", False),
    ("6 then the rest", _split(6), " ", False),
    ("6-8-rest", _split(6, 8), " ", False),
    ("3-3-4-4-4", _split(3, 3, 4, 4, 4), " ", False),
    ("3s", _every(3), " ", False),
    ("5s", _every(5), " ", False),
    ("4 then the rest", _split(4), " ", False),
    ("all but the last 4", lambda n: [n[:-4], n[-4:]], " ", False),
    ("full-width whole", _whole, "", True),
    ("full-width 4s ideographic spaces", _every(4), "\u3000", True),
    ("full-width 4s full-width hyphens", _every(4), "－", True),
    ("full-width 6 then the rest", _split(6), " ", True),
    ("half full-width", _whole, "", None),  # None: the second half full-width
    ("4s mixed separators", _every(4), None, False),  # None: a separator per gap
]


def typed(number: str, layout: Tuple, rng: random.Random) -> str:
    """`number` typed in `layout` (an ID's X sometimes lower-case)."""
    _, cut, separator, full_width = layout
    if number.endswith("X") and rng.random() < 0.3:
        number = number[:-1] + "x"
    groups = cut(number)
    if separator is None:
        text = groups[0] + "".join(rng.choice([" ", "-", ".", "\u3000"]) + g for g in groups[1:])
    else:
        text = separator.join(groups)
    if full_width:
        text = text.translate(FULL_WIDTH)
    elif full_width is None:
        middle = len(text) // 2
        text = text[:middle] + text[middle:].translate(FULL_WIDTH)
    return text


# --- where they are pasted ----------------------------------------------------------------

# {card} and {id} are filled in; every other number must come through masking unchanged.
NOTICES = [
    "开户行：中国工商银行北京朝阳支行（行号1021 0000 0045）\n账 户：{card}\n户 名：某某医院结算中心",
    "【某某银行】尊敬的客户，您尾号1234的账户于05月01日支出5,000.00元，如非本人操作请致电95588。"
    "对方账户：{card}",
    "[2024-05-01 12:30:45] 客服小王：您好，为您办理退款，请提供收款卡号\n"
    "[2024-05-01 12:31:02] 我：{card}\n"
    "[2024-05-01 12:31:40] 客服小王：收到，稍后会有验证短信，请勿挂断",
    "张经理 2024/5/1 20:15\n把你的银行卡号发我一下，工资直接打到卡里\n我 2024/5/1 20:16\n{card}\n"
    "张经理 2024/5/1 20:16\n身份证也发一下，要登记\n我 2024/5/1 20:17\n{id}",
    "客户信息\n姓名：张三\n证件号码：{id}\n联系电话：13800138000\n收款卡号：{card}\n金额：￥3,500.00",
    "Card number: {card}\nExpiry 08/27\nCall 95588 if this was not you",
    "订单号：20240501123456\n退款账户 {card}\n客服电话 400-820-8820",
    "他让我把钱转到{card}这个卡上，说是安全账户，电话是13912345678",
    "转账金额50000元至{card}（户名：李四），今天下午3点前完成",
    "身份证号码：{id}，手机：138 0013 8000，住址：北京市朝阳区建国路88号",
    "{card}",
    "{id}",
    "对方发来：请核对 {id} 是否本人，逾期将影响征信，咨询12363",
    "保单信息：投保人{id}，扣款账户{card}，月缴保费 368 元，客服 95588",
    "我刚才把 {card} 发给了自称公安的人，他说我涉嫌洗钱，让我打 110 核实",
    "代扣协议：\n1. 扣款卡：{card}\n2. 持卡人证件：{id}\n3. 签约日期：2024年5月1日",
    "【通知】您的快递因地址不详被退回，请联系理赔客服 0571-88886666，提供银行卡 {card} 办理赔付",
    "贷款审核：身份证 {id}  银行卡 {card}  额度 200000 元  请缴纳保证金 3000 元",
]
# The numbers of NOTICES that masking must leave exactly as typed.
KEPT = ["1021 0000 0045", "95588", "5,000.00", "1234", "2024-05-01 12:30:45", "2024/5/1 20:15",
        "13800138000", "3,500.00", "08/27", "20240501123456", "400-820-8820", "13912345678",
        "50000", "138 0013 8000", "12363", "368", "110", "0571-88886666", "200000", "3000"]


CARD, ID = "card", "id"


@dataclass(frozen=True)
class Sample:
    text: str
    secrets: Tuple[Tuple[str, str], ...]  # (CARD or ID, its digits in ASCII)
    kept: Tuple[str, ...]  # numbers of the notice that must stay as typed


def sample(rng: random.Random, notice: str, card_layout: Tuple, id_layout: Tuple) -> Sample:
    card, id_ = card_number(rng), id_number(rng)
    text = notice.replace("{card}", typed(card, card_layout, rng)).replace(
        "{id}", typed(id_, id_layout, rng))
    secrets = tuple((kind, number) for kind, number, slot in
                    ((CARD, card, "{card}"), (ID, id_, "{id}")) if slot in notice)
    return Sample(text, secrets, tuple(k for k in KEPT if k in notice))


def random_sample(rng: random.Random) -> Sample:
    return sample(rng, rng.choice(NOTICES), rng.choice(LAYOUTS), rng.choice(LAYOUTS))


# --- did one survive? -----------------------------------------------------------------------

_BETWEEN_DIGITS = re.compile(r"(?<=[0-9])[ \t\u3000\u00a0.\-–—‐‑]+(?=[0-9])")


def digit_runs(text: str) -> str:
    """`text` with full-width digits made ASCII and the separators between digits
    removed: a number typed in any layout reads as one run of digits."""
    return _BETWEEN_DIGITS.sub("", unicodedata.normalize("NFKC", text))


def hidden_parts(kind: str, number: str) -> List[str]:
    """What must not be readable after masking: the whole number, and a card's middle
    digits (its first and last four may show) or an ID's birth date with what is around."""
    if kind == CARD:
        return [number, number[4:-4]]
    return [number, number[6:14] if len(number) == 18 else number[3:12]]


def surviving_secrets(text: str, secrets: Sequence[Tuple[str, str]]) -> List[str]:
    """The parts of `secrets` still readable in `text`."""
    runs = digit_runs(text).upper()
    return [part for kind, number in secrets for part in hidden_parts(kind, number)
            if part in runs]
