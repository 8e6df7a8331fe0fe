"""Masks what a customer must never send anyone: card numbers, ID numbers, passwords and
verification codes. Plain functions (no Rasa), applied by every public channel before
the message exists for Rasa, so the tracker store, the event broker and the logs only
ever see the masked text.

    卡号6222 0212 3456 7890 123  ->  卡号6222 **** **** 0123   (first and last 4 kept)
    身份证110101199003071233      ->  身份证[身份证号]
    密码是abc123                  ->  密码是[密码]
    验证码 384756 / 384756是验证码  ->  验证码 [验证码] / [验证码]是验证码

A card number is 13-19 digits, typed whole or in groups (spaces, hyphens, dots,
full-width digits and spaces): Luhn-valid, or called a card or account (卡号, 账 户 …),
or 15-19 digits starting like a bank card (62 UnionPay, 4, 5), whatever the words around
it, so a pasted notice's 账 户：6214 8512 3456 7890 123 is masked. Mobile numbers,
amounts, dates, and order numbers under 15 digits stay.

The placeholders keep the words 验证码, 密码, 身份证号 next to the customer's own words
(卡号, 银行卡), so the classifier and the risk rules still see what was given away.
Phone numbers, amounts and dates are left alone: the assistant checks numbers customers
ask about. The text is not normalised here (core/text.normalise does that later
in the NLU), so full-width digits (０-９) and spaces are matched as they are.
"""

import bisect
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any, Collection, Iterator, List, Optional, Tuple

CARD_NUMBER = "card_number"
ID_NUMBER = "id_number"
PASSWORD = "password"
VERIFICATION_CODE = "verification_code"

ID_PLACEHOLDER = "[身份证号]"
PASSWORD_PLACEHOLDER = "[密码]"
CODE_PLACEHOLDER = "[验证码]"

_DIGIT = "0-9０-９"
_CN_DIGIT = "零〇一二三四五六七八九"
# Between digit groups of a code: "384 756", "6222-0212", a full-width space.
_SEPARATOR = r"(?:[ \u3000]{1,2}|[-‐‑–－])"
# Between digit groups of a card or ID number: those, and dots, " - ", no-break spaces.
_NUMBER_SEPARATOR = r"(?:[ \u3000\u00a0\t]{1,2}|[ \u3000]?[-‐‑–—－.．][ \u3000]?)"
# A number as typed: digit groups with single separators, an ID number's final X included.
_NUMBER = re.compile(
    rf"(?<![{_DIGIT}])[{_DIGIT}](?:{_NUMBER_SEPARATOR}?[{_DIGIT}])*"
    rf"(?:{_NUMBER_SEPARATOR}?[XxＸｘ](?![A-Za-zＡ-Ｚａ-ｚ]))?"
)
_GROUP = re.compile(rf"[{_DIGIT}XxＸｘ]+")
MIN_CARD_DIGITS, MAX_CARD_DIGITS = 13, 19  # an ID number has 15 or 18
# A card by its first digits alone (UnionPay 62, Visa 4, Mastercard 5): this long at least.
MIN_BIN_CARD_DIGITS = 15
CARD_BINS = ("62", "4", "5")


def _spaced(*words: str) -> str:
    """The words as a pattern, with blanks allowed between Chinese characters (账 户)."""
    return "|".join(
        word if word.isascii() else "[ \u3000]*".join(map(re.escape, word)) for word in words
    )


# The customer's words right before or after a number that say what it is.
_CARD_BEFORE = re.compile(
    rf"(?:{_spaced('卡', '账号', '帐号', '賬號', '帳號', '账户', '帐户', '賬戶', '帳戶')}"
    rf"|card|account)[^{_DIGIT}\n]{{0,8}}\Z",
    re.IGNORECASE,
)
_CARD_AFTER = re.compile(
    rf"\A[^{_DIGIT}\n]{{0,6}}?(?:{_spaced('卡号', '卡號', '银行卡', '銀行卡')}|card)",
    re.IGNORECASE,
)
_ID_BEFORE = re.compile(
    rf"(?:{_spaced('身份证', '身份證', '证件', '證件')}|ID|identity)[^{_DIGIT}\n]{{0,8}}\Z",
    re.IGNORECASE,
)

_CODE_WORD = (
    r"(?:验证码|驗證碼|校验码|校驗碼|动态码|動態碼|短信码|短信碼|确认码|確認碼"
    r"|(?<![A-Za-z])(?:verification code|code|OTP)(?![A-Za-z]))"
)
_PASSWORD_WORD = r"(?:密码|密碼|口令|(?<![A-Za-z])(?:password|passwd|pwd|PIN)(?![A-Za-z]))"
_QUOTES = "\"“”'‘’「」『』"
# From the word to the secret: "验证码：", "密码是 ", "您的验证码为", "password is ".
_WORD_TO_VALUE = (
    rf"[\s:：=＝{_QUOTES}]*"
    r"(?:(?:是|为|為|就是|改成了?|改为|改為|设成了?|设为|設為|设置为|设置成|is|was)"
    rf"[\s:：=＝{_QUOTES}]*)?"
)
# From the secret to the word: "384756是验证码", "123456就是我的支付密码", "384756（动态码）".
# Only with 是/为 or a bracket: "转了5000，验证码也给了" names no code.
_VALUE_TO_WORD = (
    r"\s*(?:(?:就是|这是|這是|是不是|是|为|為)\s*"
    r"(?:我的|你的|您的|他的|她的|对方的|對方的|银行的|銀行的)?|[（(【\[])\s*"
    r"(?:支付|交易|取款|登录|登錄|网银|網銀|银行卡|銀行卡|短信|动态|動態|手机|手機)?"
)
# "384756", "384 756", "三八四七五六"; the digit count (4-8) is checked after matching.
_CODE_VALUE = (
    rf"(?:(?<![{_DIGIT}])(?:[{_DIGIT}]{{2,4}}(?:{_SEPARATOR}[{_DIGIT}]{{2,4}}){{1,3}}"
    rf"|[{_DIGIT}]{{4,8}})(?![{_DIGIT}])"
    rf"|(?<![{_CN_DIGIT}])[{_CN_DIGIT}]{{4,8}}(?![{_CN_DIGIT}]))"
)
_PASSWORD_CHAR = rf"0-9A-Za-z０-９Ａ-Ｚａ-ｚ!@#$%^&*_+=~{_CN_DIGIT}"
_PASSWORD_VALUE = (
    rf"(?<![{_PASSWORD_CHAR}])[{_PASSWORD_CHAR}](?:[{_PASSWORD_CHAR}]|-(?=[{_PASSWORD_CHAR}]))"
    rf"{{2,31}}(?![{_PASSWORD_CHAR}])"
)
# A number followed by one of these is an amount, a date, a duration, a count.
_UNIT_AFTER = re.compile(
    r"\A\s*(?:元|块|塊|万|萬|千|百|%|％|岁|歲|年|月|日|号|號|点|點|分|秒|个|個|天|次|条|條|位|笔|筆)"
)

_CODE_AFTER_WORD = re.compile(
    rf"{_CODE_WORD}{_WORD_TO_VALUE}(?P<value>{_CODE_VALUE})", re.IGNORECASE
)
_CODE_BEFORE_WORD = re.compile(
    rf"(?P<value>{_CODE_VALUE}){_VALUE_TO_WORD}{_CODE_WORD}", re.IGNORECASE
)
_PASSWORD_AFTER_WORD = re.compile(
    rf"{_PASSWORD_WORD}{_WORD_TO_VALUE}(?P<value>{_PASSWORD_VALUE})", re.IGNORECASE
)
_PASSWORD_BEFORE_WORD = re.compile(
    rf"(?P<value>{_PASSWORD_VALUE}){_VALUE_TO_WORD}{_PASSWORD_WORD}", re.IGNORECASE
)
_HAS_DIGIT = re.compile(rf"[{_DIGIT}{_CN_DIGIT}]")
# "+86 138 0013 8000" and "8613800138000" are phone numbers, whatever Luhn says.
_INTERNATIONAL_MOBILE = re.compile(r"(?:00)?861[3-9][0-9]{9}")

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"


@dataclass(frozen=True)
class Masked:
    """The text as it may be stored and logged, and which kinds of secret were in it
    (CARD_NUMBER, ID_NUMBER, PASSWORD, VERIFICATION_CODE; each once, in text order)."""

    text: str
    kinds: Tuple[str, ...]


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    kind: str
    replacement: str


def mask(text: str, keep: Collection[str] = ()) -> Masked:
    """`text` with card numbers, ID numbers, passwords and verification codes masked.

    `keep`: numbers never masked as a code (the official hotlines: "验证码是95588发的吗").
    """
    if not text or not _HAS_DIGIT.search(text):
        return Masked(text or "", ())
    spans = _without_overlaps([*_id_and_card_spans(text), *_code_spans(text, keep),
                               *_password_spans(text)])
    pieces, position = [], 0
    for span in spans:
        pieces += [text[position:span.start], span.replacement]
        position = span.end
    pieces.append(text[position:])
    kinds = tuple(dict.fromkeys(span.kind for span in spans))
    return Masked("".join(pieces), kinds)


def mask_values(value: Any, keep: Collection[str] = ()) -> Tuple[Any, Tuple[str, ...]]:
    """Every string inside a JSON-like value (e.g. a request's metadata) masked; the value
    rebuilt, and the kinds found."""
    if isinstance(value, str):
        masked = mask(value, keep)
        return masked.text, masked.kinds
    kinds: List[str] = []
    if isinstance(value, dict):
        result: Any = {}
        for key, item in value.items():
            result[key], found = mask_values(item, keep)
            kinds += found
    elif isinstance(value, list):
        result = []
        for item in value:
            masked_item, found = mask_values(item, keep)
            result.append(masked_item)
            kinds += found
    else:
        return value, ()
    return result, tuple(dict.fromkeys(kinds))


def masked_card(digits: str) -> str:
    return f"{digits[:4]} **** **** {digits[-4:]}"


def luhn_valid(digits: str) -> bool:
    """The check digit every bank card number ends with (ISO/IEC 7812)."""
    if not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def id_number_valid(number: str) -> bool:
    """An 18-character mainland ID number whose check character (ISO 7064) matches."""
    if not (re.fullmatch(r"[0-9]{17}[0-9X]", number) and _born_on_a_real_date(number)):
        return False
    total = sum(int(digit) * weight for digit, weight in zip(number, _ID_WEIGHTS))
    return _ID_CHECK_CHARS[total % 11] == number[17]


# --- finding the secrets ---------------------------------------------------------------


def _ascii_digits(typed: str) -> str:
    """The digits (and a final X) of a number as typed, separators dropped, ASCII."""
    return "".join(
        "X" if char in "XxＸｘ" else str(unicodedata.digit(char))
        for char in typed
        if char in "XxＸｘ" or unicodedata.category(char) == "Nd"
    )


def _born_on_a_real_date(number: str) -> bool:
    """Region code starts 1-8, then a birth date: YYYYMMDD (18 chars) or YYMMDD (15)."""
    if number[0] not in "12345678":
        return False
    if len(number) == 18:
        year, month, day = int(number[6:10]), int(number[10:12]), int(number[12:14])
    else:
        year, month, day = 1900 + int(number[6:8]), int(number[8:10]), int(number[10:12])
    try:
        born = date(year, month, day)
    except ValueError:
        return False
    return 1900 <= born.year <= date.today().year


# How sure a find is: one by its first digits alone gives way (see _id_and_card_spans).
_SURE, _BY_BIN = 2, 1


def _id_and_card_spans(text: str) -> Iterator[_Span]:
    """The ID and card numbers in each typed number: from its first digit group on, the
    longest run of consecutive groups that is one, then on after it. A run found by its
    first digits alone gives way to one as long that starts a group later, so a card
    typed right after an amount ("5000 6222 0212 3456 7894") is found on its own."""
    words = _WordsAround(text)
    for number in _NUMBER.finditer(text):
        groups = [
            (group.start(), group.end(), _ascii_digits(group.group()))
            for group in _GROUP.finditer(text, *number.span())
        ]
        first = 0
        while first < len(groups):
            found = _longest_run(words, groups, first)
            if found is None:
                first += 1
                continue
            span, count, sureness, length = found
            if sureness == _BY_BIN:
                later = _longest_run(words, groups, first + 1)
                if later is not None and later[3] >= length:
                    first += 1
                    continue
            yield span
            first += count


def _longest_run(
    words: "_WordsAround", groups: List[Tuple[int, int, str]], first: int
) -> Optional[Tuple[_Span, int, int, int]]:
    """The longest ID or card made of groups[first], groups[first + 1] …: its span, how
    many groups it took, how sure it is and its digit count."""
    runs, digits = [], ""
    for last in range(first, min(len(groups), first + MAX_CARD_DIGITS)):
        digits += groups[last][2]
        if len(digits) > MAX_CARD_DIGITS:
            break
        if len(digits) >= MIN_CARD_DIGITS:
            runs.append((last, digits))
    for last, digits in reversed(runs):
        start, end = groups[first][0], groups[last][1]
        kind, sureness = _kind_of_long_number(digits, words, start, end)
        if kind:
            return _span(kind, start, end, digits), last - first + 1, sureness, len(digits)
    return None


def _span(kind: str, start: int, end: int, digits: str) -> _Span:
    if kind == ID_NUMBER:
        return _Span(start, end, ID_NUMBER, ID_PLACEHOLDER)
    return _Span(start, end, CARD_NUMBER, masked_card(digits))


class _WordsAround:
    """What the words before and after a position of `text` say, each looked up once
    (a long run of digit groups is looked at in many ways)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._card_before: dict = {}
        self._card_after: dict = {}
        self._id_before: dict = {}

    def before(self, start: int) -> str:
        return self.text[max(0, start - 16):start]

    def said_card(self, start: int, end: int) -> bool:
        if start not in self._card_before:
            self._card_before[start] = bool(_CARD_BEFORE.search(self.before(start)))
        if end not in self._card_after:
            self._card_after[end] = bool(_CARD_AFTER.search(self.text[end:end + 12]))
        return self._card_before[start] or self._card_after[end]

    def said_id(self, start: int) -> bool:
        if start not in self._id_before:
            self._id_before[start] = bool(_ID_BEFORE.search(self.before(start)))
        return self._id_before[start]

    def after_plus(self, start: int) -> bool:
        return self.before(start).rstrip().endswith(("+", "＋"))

    def touches_a_letter(self, start: int, end: int) -> bool:
        """Glued to Latin letters, digits are a code of some kind (YT4312…, a parcel's
        number), not a card by their first digits alone."""
        text = self.text
        return (start > 0 and text[start - 1].isascii() and text[start - 1].isalpha()) or (
            end < len(text) and text[end].isascii() and text[end].isalpha())


def _kind_of_long_number(
    digits: str, words: "_WordsAround", start: int, end: int
) -> Tuple[str, int]:
    """(ID_NUMBER, CARD_NUMBER or "", how sure) for the digits typed at text[start:end]."""
    luhn = luhn_valid(digits)
    if "X" in digits and not (len(digits) == 18 and digits.index("X") == 17):
        return "", 0
    if len(digits) in (15, 18) and _born_on_a_real_date(digits):
        if digits.endswith("X") or words.said_id(start):
            return ID_NUMBER, _SURE
        # Unless the customer called it a card: a Luhn-valid number that fails the ID
        # check is a card, anything else shaped like an ID (a typo'd one too) is an ID.
        if (len(digits) == 15 or id_number_valid(digits) or not luhn) and not (
            words.said_card(start, end)
        ):
            return ID_NUMBER, _SURE
    if digits.endswith("X"):
        return "", 0
    if words.after_plus(start) or _INTERNATIONAL_MOBILE.fullmatch(digits):
        return "", 0
    if luhn or words.said_card(start, end):
        return CARD_NUMBER, _SURE
    if len(digits) >= MIN_BIN_CARD_DIGITS and digits.startswith(CARD_BINS) and not (
        words.touches_a_letter(start, end)
    ):
        return CARD_NUMBER, _BY_BIN
    return "", 0


def _code_spans(text: str, keep: Collection[str]) -> Iterator[_Span]:
    for pattern in (_CODE_AFTER_WORD, _CODE_BEFORE_WORD):
        for match in pattern.finditer(text):
            start, end = match.span("value")
            digits = _ascii_digits(match.group("value"))
            if digits and not 4 <= len(digits) <= 8:
                continue
            if digits in keep or _UNIT_AFTER.match(text[end:]):
                continue
            yield _Span(start, end, VERIFICATION_CODE, CODE_PLACEHOLDER)


def _password_spans(text: str) -> Iterator[_Span]:
    for pattern in (_PASSWORD_AFTER_WORD, _PASSWORD_BEFORE_WORD):
        for match in pattern.finditer(text):
            # A secret has a digit in it: "密码是abc" is more likely a sentence than a password.
            if _HAS_DIGIT.search(match.group("value")):
                yield _Span(*match.span("value"), PASSWORD, PASSWORD_PLACEHOLDER)


def _without_overlaps(spans: List[_Span]) -> List[_Span]:
    """In text order; where two overlap, the one found first (ID, card, code, password)
    wins, so a number is masked once."""
    chosen: List[_Span] = []  # in text order, none overlapping
    for span in spans:
        at = bisect.bisect(chosen, span.start, key=lambda other: other.start)
        if at > 0 and chosen[at - 1].end > span.start:
            continue
        if at < len(chosen) and chosen[at].start < span.end:
            continue
        chosen.insert(at, span)
    return chosen
